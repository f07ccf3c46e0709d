package agent

import (
	"io"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/bellhop/bellhop/internal/buildinfo"
)

// TestBuildInfoMetric: the agent's /metrics says which bellhop runs.
func TestBuildInfoMetric(t *testing.T) {
	m := newMetrics([]string{"Front desk"}, func() float64 { return 0 }, func() float64 { return 0 })
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	in := buildinfo.Get()
	want := `bellhop_build_info{commit="` + regexp.QuoteMeta(in.Commit) + `",goversion="` + regexp.QuoteMeta(in.GoVersion) +
		`",version="` + regexp.QuoteMeta(in.Version) + `"} 1`
	if !regexp.MustCompile(want).Match(body) {
		t.Errorf("agent metrics lack %s:\n%s", want, body)
	}
}
