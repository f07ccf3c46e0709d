package driver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/bellhop/bellhop"
)

// Request is the JSON that the http, exec and folder drivers hand to the
// program or service behind them: the command id, its device and its Data
// untouched, so one receiver can serve every device type.
type Request struct {
	Id     string
	Device RequestDevice
	Data   json.RawMessage
}

// RequestDevice identifies the device inside a Request.
type RequestDevice struct {
	Id   string
	Name string
	Type string
}

// RequestBody encodes j as a Request. Data that is empty becomes null; Data
// that is not valid JSON is an error because the receiver could not parse it.
func RequestBody(j Job) ([]byte, error) {
	data := j.Data
	if len(bytes.TrimSpace(data)) == 0 {
		data = json.RawMessage("null")
	}
	b, err := json.Marshal(Request{
		Id:     j.CommandID,
		Device: RequestDevice{Id: j.DeviceID, Name: j.DeviceName, Type: j.DeviceType},
		Data:   data,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding command %s: %w", j.CommandID, err)
	}
	return b, nil
}

// Document is a decoded Printer command: the bytes to print and how.
type Document struct {
	Bytes  []byte
	Format string // MIME type; application/pdf when the command left it empty
	Copies int    // 1..bellhop.MaxCopyCount
}

// ErrBadData is wrapped by the decoding helpers when a command's Data does not
// have the shape its device type implies.
var ErrBadData = errors.New("bad command data")

// PrinterDocument decodes the Printer Data of j (spec 5.4): FileData is
// base64, CopyCount 1..100. It returns an error wrapping ErrBadData otherwise.
func PrinterDocument(j Job) (Document, error) {
	var d bellhop.PrinterData
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return Document{}, fmt.Errorf("%w: printer data: %v", ErrBadData, err)
	}
	if d.CopyCount < 1 || d.CopyCount > bellhop.MaxCopyCount {
		return Document{}, fmt.Errorf("%w: CopyCount %d is outside 1..%d", ErrBadData, d.CopyCount, bellhop.MaxCopyCount)
	}
	doc, err := base64.StdEncoding.DecodeString(d.FileData)
	if err != nil {
		return Document{}, fmt.Errorf("%w: FileData is not base64: %v", ErrBadData, err)
	}
	if len(doc) == 0 {
		return Document{}, fmt.Errorf("%w: FileData is empty", ErrBadData)
	}
	format := strings.TrimSpace(d.FileType)
	if format == "" {
		format = "application/pdf"
	}
	return Document{Bytes: doc, Format: format, Copies: d.CopyCount}, nil
}

// Bound makes device text fit a note: valid UTF-8, trimmed, at most MaxNotes
// bytes, with "…" marking a cut.
func Bound(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= MaxNotes {
		return s
	}
	const mark = "…"
	cut := MaxNotes - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// ReadBounded reads at most MaxNotes+1 bytes of r and returns them through
// Bound, then discards up to 64 KiB more so that an HTTP connection can be
// reused. A chatty peer cannot make a note or the agent's memory grow.
func ReadBounded(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxNotes+1))
	if len(b) > MaxNotes {
		_, _ = io.CopyN(io.Discard, r, 64<<10)
	}
	return Bound(string(b)), err
}
