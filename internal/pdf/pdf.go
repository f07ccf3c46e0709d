// Package pdf builds the small text PDFs that test pages and test commands
// print: valid (the cross-reference offsets are exact) and a few hundred bytes.
package pdf

import (
	"bytes"
	"fmt"
	"strings"
)

// Text returns a one-page A4 PDF with the given lines of text in
// Helvetica: small, valid (the cross-reference offsets are exact), and built
// in code so the binary carries no sample file. Characters outside printable
// ASCII are replaced, since the built-in font's encoding cannot show them.
func Text(lines ...string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 24 Tf 72 760 Td 28 TL\n")
	for i, l := range lines {
		if i == 1 {
			content.WriteString("/F1 14 Tf 20 TL\n")
		}
		content.WriteString("(")
		content.WriteString(pdfText(l))
		content.WriteString(") Tj T*\n")
	}
	content.WriteString("ET\n")
	return Page(content.String())
}

// Page returns a one-page A4 PDF whose page draws content, a PDF content
// stream that may use the font /F1 (Helvetica).
func Page(content string) []byte {
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// pdfText escapes a string for a PDF literal string.
func pdfText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == '(' || r == ')':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 32 || r > 126:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
