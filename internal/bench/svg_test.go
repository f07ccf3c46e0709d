package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// parseSVG checks that the document is well-formed XML with an <svg> root
// and returns the count of each element.
func parseSVG(t testing.TB, doc []byte) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	counts := map[string]int{}
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
				if se.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q", se.Name.Space)
				}
			}
			counts[se.Name.Local]++
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return counts
}

func TestWriteSVG(t *testing.T) {
	t.Parallel()
	mk := func(n int, unit time.Duration) *Sample {
		s := &Sample{}
		for i := 1; i <= n; i++ {
			s.Add(time.Duration(i) * unit)
		}
		return s
	}
	series := []Series{
		{Name: "event <Pending> & co", Sample: mk(10000, 10*time.Microsecond)},
		{Name: "lifecycle", Sample: mk(500, time.Millisecond)},
		{Name: "empty", Sample: &Sample{}},
		{Name: "nil"},
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, `steady "1000" agents <&>`, series, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	counts := parseSVG(t, buf.Bytes())
	if counts["polyline"] != 2 {
		t.Errorf("%d polylines, want 2 (empty series are left out)", counts["polyline"])
	}
	for _, want := range []string{"99.99%", "event &lt;Pending&gt; &amp; co (n=10000)", "bound 100ms", "latency (log scale)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestWriteSVGEdgeCases(t *testing.T) {
	t.Parallel()
	zero := &Sample{}
	zero.Add(0)
	same := &Sample{}
	for range 3 {
		same.Add(time.Millisecond)
	}
	for name, series := range map[string][]Series{
		"none":  nil,
		"zero":  {{Name: "zero", Sample: zero}},
		"same":  {{Name: "same", Sample: same}},
		"huge":  {{Name: "huge", Sample: func() *Sample { s := &Sample{}; s.Add(time.Hour); return s }()}},
		"mixed": {{Name: "a", Sample: zero}, {Name: "b", Sample: same}},
	} {
		var buf bytes.Buffer
		if err := WriteSVG(&buf, name, series, 0); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
			t.Errorf("%s: SVG has NaN or Inf:\n%s", name, buf.String())
		}
		parseSVG(t, buf.Bytes())
	}
}

func TestNinesLabel(t *testing.T) {
	t.Parallel()
	for n, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if got := ninesLabel(float64(n)); got != want {
			t.Errorf("ninesLabel(%d) = %q, want %q", n, got, want)
		}
	}
}
