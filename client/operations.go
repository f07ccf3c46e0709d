package client

import (
	"context"
	"fmt"
)

// MaxPageSize is the largest Limitation.Count, and the most command ids one
// getAllByIds request may carry.
const MaxPageSize = 1000

// Devices returns the devices of devices/getAll: on bellhop, the devices
// connected to the caller's integration. It returns an [*Error] for a
// non-2xx answer (e.g. 401 for bad tokens).
func (c *Client) Devices(ctx context.Context) ([]Device, error) {
	var out struct{ Devices []Device }
	if err := c.call(ctx, "devices/getAll", c.base(), &out, callOptions{}); err != nil {
		return nil, err
	}
	return out.Devices, nil
}

// ActiveCommands returns one page of commands/getAllActive: commands in
// state Pending or Received. With a nil lim the request carries no
// Limitation, as documented by Mews, and the server decides the page
// (bellhop: the oldest 1000). Use [Client.AllActiveCommands] to get them all.
// It returns an [*Error] for a non-2xx answer.
func (c *Client) ActiveCommands(ctx context.Context, lim *Limitation) (CommandPage, error) {
	body := struct {
		base
		Limitation *Limitation `json:",omitempty"`
	}{c.base(), lim}
	var page CommandPage
	err := c.call(ctx, "commands/getAllActive", body, &page, callOptions{})
	return page, err
}

// AllActiveCommands returns every active command by following the Cursor
// of commands/getAllActive with pages of [MaxPageSize]. It stops at a null
// Cursor, at a page shorter than asked, or when the server repeats a cursor
// (a server that ignores Limitation); commands seen twice are returned once.
// Call it after every (re)connect of the WebSocket. It returns the first
// error, discarding the pages read before it.
func (c *Client) AllActiveCommands(ctx context.Context) ([]Command, error) {
	var (
		all    []Command
		seen   = map[string]bool{}
		cursor *string
	)
	for {
		page, err := c.ActiveCommands(ctx, &Limitation{Count: MaxPageSize, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, cmd := range page.Commands {
			if !seen[cmd.Id] {
				seen[cmd.Id] = true
				all = append(all, cmd)
			}
		}
		if page.Cursor == nil || len(page.Commands) < MaxPageSize ||
			(cursor != nil && *page.Cursor == *cursor) {
			return all, nil
		}
		cursor = page.Cursor
	}
}

// CommandsByIds returns the commands with the given ids, in any state,
// through commands/getAllByIds. It sends at most [MaxPageSize] ids per
// request and concatenates the answers in order; no request is sent for
// no ids. Unknown ids, and ids the caller may not see, are left out of the
// result (bellhop) or answered with 400 "Invalid CommandIds" (possibly
// Mews). It returns the first error, discarding the batches read before it.
func (c *Client) CommandsByIds(ctx context.Context, ids []string) ([]Command, error) {
	var all []Command
	for start := 0; start < len(ids); start += MaxPageSize {
		batch := ids[start:min(start+MaxPageSize, len(ids))]
		body := struct {
			base
			CommandIds []string
		}{c.base(), batch}
		var page CommandPage
		if err := c.call(ctx, "commands/getAllByIds", body, &page, callOptions{}); err != nil {
			return nil, err
		}
		all = append(all, page.Commands...)
	}
	return all, nil
}

// UpdateRequest is the body of commands/update.
type UpdateRequest struct {
	CommandId string
	State     State
	// Progress is taken into account with State Processing only; bellhop
	// wants a fraction from 0 to 1.
	Progress *float64 `json:",omitempty"`
	// Notes on the outcome are taken into account with Processed,
	// Cancelled or Error by Mews; bellhop also keeps them with Processing
	// (what the device says while it works), where an empty note keeps the
	// last one.
	Notes *string `json:",omitempty"`
	// ExternalRequestIdentifier is the caller's reference for what the
	// update reports, e.g. a payment terminal's transaction id. bellhop
	// keeps it with the command and its history; optional.
	ExternalRequestIdentifier *ExternalRequestIdentifier `json:",omitempty"`
}

// ExternalRequestIdentifier is an update's external reference.
type ExternalRequestIdentifier struct {
	Value string
}

// UpdateCommand changes a command's state through commands/update. It is
// retried like every operation: repeating an update that was already
// applied is harmless (bellhop answers 200). It returns an [*Error] for
// a non-2xx answer: 400 "Invalid CommandId" for an unknown command,
// 400 "Invalid State" for a backward move or leaving a final state (bellhop).
func (c *Client) UpdateCommand(ctx context.Context, req UpdateRequest) error {
	body := struct {
		base
		UpdateRequest
	}{c.base(), req}
	return c.call(ctx, "commands/update", body, nil, callOptions{})
}

// AddPrinterRequest is the body of commands/addPrinter.
type AddPrinterRequest struct {
	// EnterpriseId is required with a portfolio token and ignored otherwise.
	EnterpriseId *string `json:",omitempty"`
	// PrinterId is the id of a Printer device.
	PrinterId string
	// Data is the PDF to print, base64-encoded
	// (base64.StdEncoding.EncodeToString(pdf)).
	Data      string
	CopyCount int
}

// AddPrinterCommand queues a print job through commands/addPrinter and
// returns the new command's id.
//
// It sends an Idempotency-Key header (see [WithIdempotencyKey]) that is the
// same on every automatic retry, so bellhop creates the command once even
// if an answer is lost. Mews does not document this header: against Mews a
// retry after a 5xx or a network failure might create a second command; set
// [Config.MaxRetries] to -1 if that matters more than availability.
// It returns an [*Error] for a non-2xx answer, e.g. 400 "Invalid PrinterId".
func (c *Client) AddPrinterCommand(ctx context.Context, req AddPrinterRequest) (string, error) {
	body := struct {
		base
		AddPrinterRequest
	}{c.base(), req}
	return c.add(ctx, "commands/addPrinter", body)
}

// AddKeyCutterRequest is the body of commands/addKeyCutter.
type AddKeyCutterRequest struct {
	// EnterpriseId is required with a portfolio token and ignored otherwise.
	EnterpriseId *string `json:",omitempty"`
	// KeyCutterId is the id of a KeyCutter device.
	KeyCutterId   string
	ReservationId string
	KeyCount      int
}

// AddKeyCutterCommand queues key encoding for a reservation through
// commands/addKeyCutter and returns the new command's id. Idempotency and
// errors as for [Client.AddPrinterCommand] (400 "Invalid KeyCutterId", ...).
func (c *Client) AddKeyCutterCommand(ctx context.Context, req AddKeyCutterRequest) (string, error) {
	body := struct {
		base
		AddKeyCutterRequest
	}{c.base(), req}
	return c.add(ctx, "commands/addKeyCutter", body)
}

// PaymentType is the kind of a payment terminal transaction.
type PaymentType string

// Payment types.
const (
	PaymentTypePayment          PaymentType = "Payment"
	PaymentTypePreauthorization PaymentType = "Preauthorization"
)

// CurrencyValue is an amount in a currency (Currency value, ver 2018-06-07),
// e.g. {Currency: "EUR", Value: 230}. Value is the gross amount; it may be
// left zero (and is then not sent) when Net with Tax or TaxRate says it.
// TaxRate is a fraction: 0.21 for 21 %. bellhop keeps the tax split in the
// command's Amount; Mews marks Net, Tax and TaxRate deprecated.
type CurrencyValue struct {
	Currency string
	Value    float64  `json:",omitempty"`
	Net      *float64 `json:",omitempty"`
	Tax      *float64 `json:",omitempty"`
	TaxRate  *float64 `json:",omitempty"`
}

// AddPaymentTerminalRequest is the body of commands/addPaymentTerminal.
type AddPaymentTerminalRequest struct {
	// TerminalId is the id of a PaymentTerminal device.
	TerminalId string
	// CustomerId is the account to charge.
	CustomerId       string
	Type             PaymentType
	Amount           CurrencyValue
	BillId           *string `json:",omitempty"`
	PaymentRequestId *string `json:",omitempty"`
	ReservationId    *string `json:",omitempty"`
}

// AddPaymentTerminalCommand asks a payment terminal to take a payment
// through commands/addPaymentTerminal (restricted in Mews) and returns the
// new command's id. The outcome arrives later as a DeviceCommand event for
// that id: Processed means paid, any other final state means not paid.
// Idempotency and errors as for [Client.AddPrinterCommand].
func (c *Client) AddPaymentTerminalCommand(ctx context.Context, req AddPaymentTerminalRequest) (string, error) {
	body := struct {
		base
		AddPaymentTerminalRequest
	}{c.base(), req}
	return c.add(ctx, "commands/addPaymentTerminal", body)
}

func (c *Client) add(ctx context.Context, op string, body any) (string, error) {
	var out struct{ CommandId string }
	if err := c.call(ctx, op, body, &out, callOptions{idempotent: true}); err != nil {
		return "", err
	}
	if out.CommandId == "" {
		return "", opError(op, fmt.Errorf("the response has no CommandId"))
	}
	return out.CommandId, nil
}

// FiscalMachineCommandsRequest is the body of fiscalMachineCommands/getAll.
// Set either CommandIds, or DeviceIds with States and UpdatedUtc; the
// server rejects a mix with 400.
type FiscalMachineCommandsRequest struct {
	// CommandIds selects commands by id (max 1000).
	CommandIds []string `json:",omitempty"`
	// DeviceIds (max 100), States and UpdatedUtc (at most 3 months) select
	// commands by device, state and last update.
	DeviceIds  []string      `json:",omitempty"`
	States     []State       `json:",omitempty"`
	UpdatedUtc *TimeInterval `json:",omitempty"`
	// EnterpriseIds limits a portfolio token to some enterprises (max
	// 1000); nil means all enterprises of the token.
	EnterpriseIds []string `json:",omitempty"`
	// Limitation is required on the wire; a zero Count is sent as 1000.
	Limitation Limitation
}

// FiscalMachineCommands returns one page of fiscalMachineCommands/getAll
// (restricted and beta in Mews), newest first in Mews. Pass the returned
// Cursor in req.Limitation for the next page. It returns an [*Error] for
// a non-2xx answer, e.g. 400 for an invalid filter.
func (c *Client) FiscalMachineCommands(ctx context.Context, req FiscalMachineCommandsRequest) (FiscalMachineCommandPage, error) {
	if req.Limitation.Count == 0 {
		req.Limitation.Count = MaxPageSize
	}
	body := struct {
		base
		FiscalMachineCommandsRequest
	}{c.base(), req}
	var page FiscalMachineCommandPage
	err := c.call(ctx, "fiscalMachineCommands/getAll", body, &page, callOptions{})
	return page, err
}
