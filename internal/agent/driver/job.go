package driver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	// Options are the command's own print options (a bellhop extension of
	// the Printer Data: "Options": {"Sides": "two-sided-long-edge"}).
	Options PrintOptions
}

// PrintOptions say how to print, per device (agent.yaml) and per command
// (its Data's Options, which win field by field). Empty fields leave the
// printer's default. The ipp driver maps them to IPP job attributes and
// refuses, with an error naming what the printer supports, a value the
// printer does not list.
type PrintOptions struct {
	// Media is a PWG media name, e.g. iso_a4_210x297mm, na_letter_8.5x11in.
	Media string `yaml:"media" json:",omitempty"`
	// Sides is one-sided, two-sided-long-edge or two-sided-short-edge.
	Sides string `yaml:"sides" json:",omitempty"`
	// ColorMode is monochrome, color or auto (IPP print-color-mode).
	ColorMode string `yaml:"color_mode" json:",omitempty"`
	// Tray is the media source, e.g. tray-1, main, manual (IPP media-source).
	Tray string `yaml:"tray" json:",omitempty"`
	// Fit scales each page to fit the media (IPP print-scaling=fit).
	Fit bool `yaml:"fit" json:",omitempty"`
}

// Over returns o with the fields set in over replacing its own.
func (o PrintOptions) Over(over PrintOptions) PrintOptions {
	for _, f := range []struct{ dst, src *string }{{&o.Media, &over.Media}, {&o.Sides, &over.Sides},
		{&o.ColorMode, &over.ColorMode}, {&o.Tray, &over.Tray}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	o.Fit = o.Fit || over.Fit
	return o
}

// IsZero reports whether no option is set.
func (o PrintOptions) IsZero() bool { return o == PrintOptions{} }

var (
	mediaName = regexp.MustCompile(`^[a-z0-9]+_[a-z0-9.-]+_[0-9.]+x[0-9.]+(mm|in)$`)
	keyword   = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,62}$`)
)

// Validate reports values that no printer could take: a media name that
// is not a PWG self-describing name, an unknown sides or colour mode, a
// tray that is not a keyword.
func (o PrintOptions) Validate() error {
	var errs []error
	if o.Media != "" && !mediaName.MatchString(o.Media) {
		errs = append(errs, fmt.Errorf("media %q is not a PWG media name such as iso_a4_210x297mm or na_letter_8.5x11in", o.Media))
	}
	if o.Sides != "" && !slices.Contains([]string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"}, o.Sides) {
		errs = append(errs, fmt.Errorf("sides %q is not one-sided, two-sided-long-edge or two-sided-short-edge", o.Sides))
	}
	if o.ColorMode != "" && !slices.Contains([]string{"auto", "monochrome", "color", "bi-level", "auto-monochrome", "process-monochrome"}, o.ColorMode) {
		errs = append(errs, fmt.Errorf("color_mode %q is not monochrome, color or auto", o.ColorMode))
	}
	if o.Tray != "" && !keyword.MatchString(o.Tray) {
		errs = append(errs, fmt.Errorf("tray %q is not an IPP media-source keyword such as tray-1 or manual", o.Tray))
	}
	return errors.Join(errs...)
}

// ErrBadData is wrapped by the decoding helpers when a command's Data does not
// have the shape its device type implies.
var ErrBadData = errors.New("bad command data")

// PrinterDocument decodes the Printer Data of j (spec 5.4): FileData is
// base64, CopyCount 1..100. It returns an error wrapping ErrBadData otherwise.
func PrinterDocument(j Job) (Document, error) {
	var d struct {
		bellhop.PrinterData
		Options PrintOptions
	}
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return Document{}, fmt.Errorf("%w: printer data: %v", ErrBadData, err)
	}
	if err := d.Options.Validate(); err != nil {
		return Document{}, fmt.Errorf("%w: Options: %v", ErrBadData, err)
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
	return Document{Bytes: doc, Format: format, Copies: d.CopyCount, Options: d.Options}, nil
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
