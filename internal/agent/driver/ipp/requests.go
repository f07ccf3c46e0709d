package ipp

import "slices"

// Request builders. They take every varying input as an argument (the
// request id included) so that the golden tests can pin their encoding.

func newRequest(op Operation, id uint32, printerURI string, extra ...Attribute) *Message {
	attrs := []Attribute{
		// RFC 8011 4.1.4: charset and language come first, then the target.
		{Name: "attributes-charset", Values: []Value{String(TagCharset, "utf-8")}},
		{Name: "attributes-natural-language", Values: []Value{String(TagLanguage, "en")}},
		{Name: "printer-uri", Values: []Value{String(TagURI, printerURI)}},
	}
	return &Message{
		Version:   [2]byte{1, 1},
		Code:      uint16(op),
		RequestID: id,
		Groups:    []Group{{Tag: TagOperation, Attrs: append(attrs, extra...)}},
	}
}

func keywords(name string, kw ...string) Attribute {
	a := Attribute{Name: name}
	for _, k := range kw {
		a.Values = append(a.Values, String(TagKeyword, k))
	}
	return a
}

// printerAttributesWanted are the attributes Run and Check decide on.
var printerAttributesWanted = []string{
	"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
	"document-format-supported", "copies-supported", "printer-make-and-model",
	"media-supported", "media-default", "media-source-supported", "sides-supported", "print-color-mode-supported",
	"print-scaling-supported", "pwg-raster-document-resolution-supported", "pwg-raster-document-type-supported",
	"urf-supported",
}

func getPrinterAttributesRequest(id uint32, printerURI, user string) *Message {
	return newRequest(OpGetPrinterAttributes, id, printerURI,
		Attribute{Name: "requesting-user-name", Values: []Value{String(TagName, user)}},
		keywords("requested-attributes", printerAttributesWanted...))
}

// printJobRequest builds a Print-Job; copies is sent only when above 1,
// because a printer without the copies attribute rejects it with
// client-error-attributes-or-values-not-supported.
// Job attributes go in the job group after it.
func printJobRequest(id uint32, printerURI, user, jobName, format string, copies int, doc []byte, job ...Attribute) *Message {
	m := newRequest(OpPrintJob, id, printerURI,
		Attribute{Name: "requesting-user-name", Values: []Value{String(TagName, user)}},
		Attribute{Name: "job-name", Values: []Value{String(TagName, jobName)}},
		Attribute{Name: "document-format", Values: []Value{String(TagMimeType, format)}},
	)
	if copies > 1 {
		job = append([]Attribute{{Name: "copies", Values: []Value{Integer(TagInteger, int32(copies))}}}, job...)
	}
	if len(job) > 0 {
		m.Groups = append(m.Groups, Group{Tag: TagJob, Attrs: job})
	}
	m.Data = doc
	return m
}

func jobRequest(op Operation, id uint32, printerURI, user string, jobID int32, extra ...Attribute) *Message {
	return newRequest(op, id, printerURI, append([]Attribute{
		{Name: "job-id", Values: []Value{Integer(TagInteger, jobID)}},
		{Name: "requesting-user-name", Values: []Value{String(TagName, user)}},
	}, extra...)...)
}

func getJobAttributesRequest(id uint32, printerURI, user string, jobID int32) *Message {
	return jobRequest(OpGetJobAttributes, id, printerURI, user, jobID, keywords("requested-attributes",
		"job-state", "job-state-reasons", "job-state-message", "job-impressions", "job-impressions-completed",
		"job-printer-state-reasons", "job-printer-state-message"))
}

func cancelJobRequest(id uint32, printerURI, user string, jobID int32) *Message {
	return jobRequest(OpCancelJob, id, printerURI, user, jobID)
}

func cupsGetPrintersRequest(id uint32, serverURI string) *Message {
	m := newRequest(OpCUPSGetPrinters, id, serverURI, keywords("requested-attributes",
		"printer-name", "printer-make-and-model", "printer-info", "printer-state", "printer-state-message",
		"printer-is-accepting-jobs", "device-uri"))
	// CUPS-Get-Printers takes no printer-uri: drop it from the operation group.
	m.Groups[0].Attrs = slices.DeleteFunc(m.Groups[0].Attrs, func(a Attribute) bool { return a.Name == "printer-uri" })
	return m
}
