package node

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bellhop/bellhop"
)

// The curl line `serve --dev` prints must queue a document a printer can
// print: a whole PDF, not a bare header that CUPS stops with a filter error.
func TestDevPrintQueuesARealPDF(t *testing.T) {
	d := &DevInfo{
		PlatformAddress: "http://127.0.0.1:8080",
		ClientToken:     "C", AccessToken: "A",
		Devices: []DevDevice{{Type: bellhop.Printer, Id: "p", Name: "Front desk printer"}},
	}
	var out bytes.Buffer
	d.Print(&out)
	text := out.String()
	start := strings.Index(text, "-d '")
	if start < 0 {
		t.Fatalf("no curl body in:\n%s", text)
	}
	body := text[start+4:]
	body = body[:strings.Index(body, "'")]
	var req struct{ PrinterId, Data string }
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("curl body %q: %v", body, err)
	}
	doc, err := base64.StdEncoding.DecodeString(req.Data)
	if err != nil {
		t.Fatalf("Data is not base64: %v", err)
	}
	if req.PrinterId != "p" || !bytes.HasPrefix(doc, []byte("%PDF-")) ||
		!bytes.Contains(doc, []byte("/Type /Page ")) || !bytes.HasSuffix(bytes.TrimSpace(doc), []byte("%%EOF")) {
		t.Fatalf("curl queues %q on %q, want a whole one-page PDF on the printer", doc, req.PrinterId)
	}
}
