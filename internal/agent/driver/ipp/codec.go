package ipp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Tag is an IPP delimiter or value tag (RFC 8010 section 3.5).
type Tag byte

// Delimiter tags start an attribute group or end the attributes.
const (
	TagOperation   Tag = 0x01
	TagJob         Tag = 0x02
	TagEnd         Tag = 0x03
	TagPrinter     Tag = 0x04
	TagUnsupported Tag = 0x05
)

// Value tags.
const (
	TagUnsupportedValue Tag = 0x10
	TagUnknown          Tag = 0x12
	TagNoValue          Tag = 0x13
	TagInteger          Tag = 0x21
	TagBoolean          Tag = 0x22
	TagEnum             Tag = 0x23
	TagOctetString      Tag = 0x30
	TagDateTime         Tag = 0x31
	TagResolution       Tag = 0x32
	TagRange            Tag = 0x33
	TagBeginCollection  Tag = 0x34
	TagTextLang         Tag = 0x35
	TagNameLang         Tag = 0x36
	TagEndCollection    Tag = 0x37
	TagText             Tag = 0x41
	TagName             Tag = 0x42
	TagKeyword          Tag = 0x44
	TagURI              Tag = 0x45
	TagURIScheme        Tag = 0x46
	TagCharset          Tag = 0x47
	TagLanguage         Tag = 0x48
	TagMimeType         Tag = 0x49
	TagMemberName       Tag = 0x4A
)

// isDelimiter reports whether t starts a group or ends the attributes; 0x00
// is reserved and rejected by the decoder.
func (t Tag) isDelimiter() bool { return t < 0x10 }

// Message is an IPP request or response (RFC 8010 section 3.1.1).
type Message struct {
	Version   [2]byte // 1.1 unless set otherwise
	Code      uint16  // operation-id in a request, status-code in a response
	RequestID uint32
	Groups    []Group
	Data      []byte // document data after end-of-attributes-tag
}

// Group is one attribute group.
type Group struct {
	Tag   Tag
	Attrs []Attribute
}

// Attribute is a named attribute with one or more values (1setOf).
type Attribute struct {
	Name   string
	Values []Value
}

// Value is one attribute value, kept as its wire bytes so that every tag,
// known or not, round-trips. Members holds a collection's member attributes
// when Tag is TagBeginCollection.
type Value struct {
	Tag     Tag
	Bytes   []byte
	Members []Attribute
}

// String builds a value of a string-like tag (keyword, uri, name, text...).
func String(t Tag, s string) Value { return Value{Tag: t, Bytes: []byte(s)} }

// Integer builds an integer or enum value.
func Integer(t Tag, n int32) Value {
	return Value{Tag: t, Bytes: binary.BigEndian.AppendUint32(nil, uint32(n))}
}

// Boolean builds a boolean value.
func Boolean(b bool) Value {
	if b {
		return Value{Tag: TagBoolean, Bytes: []byte{1}}
	}
	return Value{Tag: TagBoolean, Bytes: []byte{0}}
}

// Int returns an integer or enum value; ok is false for any other shape.
func (v Value) Int() (n int32, ok bool) {
	if (v.Tag != TagInteger && v.Tag != TagEnum) || len(v.Bytes) != 4 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(v.Bytes)), true
}

// Range returns a rangeOfInteger value; ok is false for any other shape.
func (v Value) Range() (lo, hi int32, ok bool) {
	if v.Tag != TagRange || len(v.Bytes) != 8 {
		return 0, 0, false
	}
	return int32(binary.BigEndian.Uint32(v.Bytes)), int32(binary.BigEndian.Uint32(v.Bytes[4:])), true
}

// Text returns the text of a string-like value. For textWithLanguage and
// nameWithLanguage it returns the text without the language.
func (v Value) Text() string {
	if v.Tag == TagTextLang || v.Tag == TagNameLang {
		if len(v.Bytes) >= 2 {
			n := int(binary.BigEndian.Uint16(v.Bytes))
			if rest := v.Bytes[2:]; n+2 <= len(rest) {
				return string(rest[n+2:])
			}
		}
		return ""
	}
	return string(v.Bytes)
}

// Lookup returns the first attribute called name in groups of tag t.
func (m *Message) Lookup(t Tag, name string) (Attribute, bool) {
	for _, g := range m.Groups {
		if g.Tag != t {
			continue
		}
		for _, a := range g.Attrs {
			if a.Name == name {
				return a, true
			}
		}
	}
	return Attribute{}, false
}

// Strings returns the text of every value of the named attribute.
func (m *Message) Strings(t Tag, name string) []string {
	a, _ := m.Lookup(t, name)
	s := make([]string, 0, len(a.Values))
	for _, v := range a.Values {
		s = append(s, v.Text())
	}
	return s
}

// Int returns the first value of the named attribute as an integer.
func (m *Message) Int(t Tag, name string) (int32, bool) {
	a, ok := m.Lookup(t, name)
	if !ok || len(a.Values) == 0 {
		return 0, false
	}
	return a.Values[0].Int()
}

// Encode serializes m (RFC 8010 section 3.1). It fails on names or values
// longer than the 16-bit length fields allow.
func (m *Message) Encode() ([]byte, error) {
	b := make([]byte, 0, 256+len(m.Data))
	b = append(b, m.Version[0], m.Version[1])
	b = binary.BigEndian.AppendUint16(b, m.Code)
	b = binary.BigEndian.AppendUint32(b, m.RequestID)
	var err error
	for _, g := range m.Groups {
		if !g.Tag.isDelimiter() || g.Tag == TagEnd || g.Tag == 0 {
			return nil, fmt.Errorf("ipp: encode: 0x%02x is not a group tag", byte(g.Tag))
		}
		b = append(b, byte(g.Tag))
		for _, a := range g.Attrs {
			if b, err = appendAttr(b, a); err != nil {
				return nil, err
			}
		}
	}
	b = append(b, byte(TagEnd))
	return append(b, m.Data...), nil
}

func appendAttr(b []byte, a Attribute) ([]byte, error) {
	if a.Name == "" || len(a.Values) == 0 {
		return nil, fmt.Errorf("ipp: encode: attribute %q needs a name and a value", a.Name)
	}
	var err error
	for i, v := range a.Values {
		name := a.Name
		if i > 0 {
			name = "" // additional values carry no name (RFC 8010 3.1.5)
		}
		if b, err = appendValue(b, name, v); err != nil {
			return nil, fmt.Errorf("ipp: encode %s: %w", a.Name, err)
		}
	}
	return b, nil
}

func appendValue(b []byte, name string, v Value) ([]byte, error) {
	if v.Tag.isDelimiter() || v.Tag == TagEndCollection || v.Tag == TagMemberName {
		return nil, fmt.Errorf("0x%02x is not a value tag", byte(v.Tag))
	}
	if v.Tag != TagBeginCollection {
		return appendTLV(b, v.Tag, name, v.Bytes)
	}
	b, err := appendTLV(b, TagBeginCollection, name, nil)
	if err != nil {
		return nil, err
	}
	for _, mem := range v.Members {
		if mem.Name == "" || len(mem.Values) == 0 {
			return nil, fmt.Errorf("collection member %q needs a name and a value", mem.Name)
		}
		if b, err = appendTLV(b, TagMemberName, "", []byte(mem.Name)); err != nil {
			return nil, err
		}
		for _, mv := range mem.Values {
			if b, err = appendValue(b, "", mv); err != nil {
				return nil, err
			}
		}
	}
	return appendTLV(b, TagEndCollection, "", nil)
}

func appendTLV(b []byte, t Tag, name string, value []byte) ([]byte, error) {
	if len(name) > math.MaxUint16 || len(value) > math.MaxUint16 {
		return nil, errors.New("name or value longer than 65535 bytes")
	}
	b = append(b, byte(t))
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(value)))
	return append(b, value...), nil
}

// maxDepth bounds collection nesting so that hostile input cannot exhaust the
// stack; real printers nest two or three levels (media-col/media-size).
const maxDepth = 16

// ErrMalformed is wrapped by Decode for every input that is not a well-formed
// IPP message.
var ErrMalformed = errors.New("ipp: malformed message")

// Decode parses an IPP message. Any malformation returns an error wrapping
// ErrMalformed that says at which byte offset decoding stopped.
func Decode(p []byte) (*Message, error) {
	d := decoder{p: p}
	m, err := d.message()
	if err != nil {
		return nil, fmt.Errorf("%w at byte %d: %v", ErrMalformed, d.off, err)
	}
	return m, nil
}

type decoder struct {
	p   []byte
	off int
}

func (d *decoder) message() (*Message, error) {
	if len(d.p) < 8 {
		return nil, errors.New("shorter than the 8-byte header")
	}
	m := &Message{
		Version:   [2]byte{d.p[0], d.p[1]},
		Code:      binary.BigEndian.Uint16(d.p[2:]),
		RequestID: binary.BigEndian.Uint32(d.p[4:]),
	}
	d.off = 8
	for {
		t, err := d.byte()
		if err != nil {
			return nil, errors.New("missing end-of-attributes-tag")
		}
		tag := Tag(t)
		switch {
		case tag == TagEnd:
			m.Data = d.p[d.off:]
			return m, nil
		case tag == 0:
			return nil, errors.New("reserved delimiter tag 0x00")
		case tag.isDelimiter():
			m.Groups = append(m.Groups, Group{Tag: tag})
		case len(m.Groups) == 0:
			return nil, fmt.Errorf("value tag 0x%02x before any group", t)
		default:
			g := &m.Groups[len(m.Groups)-1]
			if g.Attrs, err = d.attribute(tag, g.Attrs); err != nil {
				return nil, err
			}
		}
	}
}

// attribute reads one value (whose tag is already consumed) and appends it to
// attrs: as a new attribute when it has a name, else to the last one.
func (d *decoder) attribute(tag Tag, attrs []Attribute) ([]Attribute, error) {
	name, v, err := d.value(tag, 0)
	if err != nil {
		return nil, err
	}
	if name != "" {
		return append(attrs, Attribute{Name: name, Values: []Value{v}}), nil
	}
	if len(attrs) == 0 {
		return nil, errors.New("additional value without an attribute")
	}
	last := &attrs[len(attrs)-1]
	last.Values = append(last.Values, v)
	return attrs, nil
}

// value reads name-length, name, value-length, value for a tag already read,
// and a whole collection when the tag begins one.
func (d *decoder) value(tag Tag, depth int) (string, Value, error) {
	if tag == TagEndCollection || tag == TagMemberName {
		return "", Value{}, fmt.Errorf("tag 0x%02x outside a collection", byte(tag))
	}
	name, err := d.field()
	if err != nil {
		return "", Value{}, err
	}
	raw, err := d.field()
	if err != nil {
		return "", Value{}, err
	}
	v := Value{Tag: tag, Bytes: raw}
	if tag == TagBeginCollection {
		v.Bytes = nil // RFC 8010 3.1.6: the begCollection value is ignored
		if v.Members, err = d.collection(depth + 1); err != nil {
			return "", Value{}, err
		}
	}
	return string(name), v, nil
}

// collection reads member attributes up to and including endCollection.
func (d *decoder) collection(depth int) ([]Attribute, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("collections nested deeper than %d", maxDepth)
	}
	var members []Attribute
	for {
		t, err := d.byte()
		if err != nil {
			return nil, errors.New("collection without endCollection")
		}
		switch tag := Tag(t); {
		case (tag == TagEndCollection || tag == TagMemberName) && len(members) > 0 && len(members[len(members)-1].Values) == 0:
			return nil, fmt.Errorf("collection member %q without a value", members[len(members)-1].Name)
		case tag == TagEndCollection:
			if _, err := d.field(); err != nil { // name, empty
				return nil, err
			}
			if _, err := d.field(); err != nil { // value, empty
				return nil, err
			}
			return members, nil
		case tag == TagMemberName:
			if _, err := d.field(); err != nil {
				return nil, err
			}
			name, err := d.field()
			if err != nil {
				return nil, err
			}
			if len(name) == 0 {
				return nil, errors.New("empty collection member name")
			}
			members = append(members, Attribute{Name: string(name)})
		case tag.isDelimiter():
			return nil, fmt.Errorf("delimiter 0x%02x inside a collection", t)
		case len(members) == 0:
			return nil, errors.New("collection value before a member name")
		default:
			name, v, err := d.value(tag, depth)
			if err != nil {
				return nil, err
			}
			if name != "" {
				return nil, fmt.Errorf("collection value with a name %q", name)
			}
			last := &members[len(members)-1]
			last.Values = append(last.Values, v)
		}
	}
}

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.p) {
		return 0, errors.New("unexpected end")
	}
	b := d.p[d.off]
	d.off++
	return b, nil
}

// field reads a 2-byte length and that many bytes.
func (d *decoder) field() ([]byte, error) {
	if d.off+2 > len(d.p) {
		return nil, errors.New("truncated length")
	}
	n := int(binary.BigEndian.Uint16(d.p[d.off:]))
	d.off += 2
	if d.off+n > len(d.p) {
		return nil, fmt.Errorf("length %d runs past the end", n)
	}
	f := d.p[d.off : d.off+n : d.off+n]
	d.off += n
	return f, nil
}

// Dump renders m as text, one value per line, for golden files and logs.
func (m *Message) Dump() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "version %d.%d code 0x%04x request-id %d\n", m.Version[0], m.Version[1], m.Code, m.RequestID)
	for _, g := range m.Groups {
		fmt.Fprintf(&sb, "group 0x%02x\n", byte(g.Tag))
		dumpAttrs(&sb, g.Attrs, "  ")
	}
	fmt.Fprintf(&sb, "data %d bytes\n", len(m.Data))
	return sb.String()
}

func dumpAttrs(sb *strings.Builder, attrs []Attribute, indent string) {
	for _, a := range attrs {
		for _, v := range a.Values {
			fmt.Fprintf(sb, "%s%s 0x%02x %s\n", indent, a.Name, byte(v.Tag), v.display())
			if v.Tag == TagBeginCollection {
				dumpAttrs(sb, v.Members, indent+"  ")
			}
		}
	}
}

func (v Value) display() string {
	if n, ok := v.Int(); ok {
		return fmt.Sprint(n)
	}
	if lo, hi, ok := v.Range(); ok {
		return fmt.Sprintf("%d-%d", lo, hi)
	}
	switch v.Tag {
	case TagBoolean:
		return fmt.Sprint(len(v.Bytes) == 1 && v.Bytes[0] != 0)
	case TagBeginCollection:
		return "{"
	case TagOctetString, TagDateTime, TagResolution, TagUnsupportedValue, TagUnknown, TagNoValue:
		return fmt.Sprintf("%x", v.Bytes)
	}
	return fmt.Sprintf("%q", v.Text())
}
