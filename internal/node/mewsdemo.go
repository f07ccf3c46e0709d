package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/bellhop/bellhop"
)

// The data of `serve --mews-demo`: the tokens and ids that the examples of
// the Mews Connector device API documentation print, so that an integration
// set up against the Mews demo environment runs against this hub with only
// its PlatformAddress and WebSocket address changed.
//
// The documentation's examples name one ClientToken and two AccessTokens:
// one (MewsDemoAccessToken) for the examples of devices, commands and fiscal
// machines, over the two enterprises that fiscalMachineCommands/getAll's
// example names (so it is a portfolio token, and addPrinter and
// addKeyCutter take EnterpriseId, as their current examples send it); the
// other (MewsDemoPOSAccessToken) for addPaymentTerminal's example, a point
// of sale with its terminal.
const (
	MewsDemoClientToken    = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"
	MewsDemoAccessToken    = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"
	MewsDemoPOSAccessToken = "7059D2C25BF64EA681ACAB3A00B859CC-D91BFF2B1E3047A3E0DEC1D57BE1382"
)

// The ids the examples use, and ids of this hub's own for what they leave
// unnamed (the integration, the subscriptions, a fiscal machine and a
// passport scanner), fixed so that a restart finds them.
const (
	mewsEnterprise      = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	mewsEnterprise2     = "4d0201db-36f5-428b-8d11-4f0a65e960cc"
	mewsIntegration     = "0b9d2f6e-5a0e-4c43-9c55-0d6a8f6d3e01"
	mewsSubscription    = "0b9d2f6e-5a0e-4c43-9c55-0d6a8f6d3e02"
	mewsPOSSubscription = "0b9d2f6e-5a0e-4c43-9c55-0d6a8f6d3e03"
	mewsPrinter         = "d117866d-78de-4459-9077-42d7ea0120e3" // addPrinter's PrinterId
	mewsTestPrinter     = "63efb573-fc58-4065-b687-9bdd51568529" // the printer of getAllActive's answer
	mewsKeyCutter       = "7dafffff-a727-4917-a203-bd53995f21bf" // addKeyCutter's KeyCutterId
	mewsKeyCutter1      = "d14efcfd-75b9-4bd3-9f10-5657a01f860a" // devices/getAll's answer
	mewsTerminal        = "be35b39e-ad7e-460a-8de9-4c7581e016a2" // addPaymentTerminal's TerminalId
	mewsFiscal          = "0b9d2f6e-5a0e-4c43-9c55-0d6a8f6d3e04"
	mewsScanner         = "0b9d2f6e-5a0e-4c43-9c55-0d6a8f6d3e05"
	mewsReservation     = "be35b39e-ad7e-460a-8de9-4c7581e016a2" // addKeyCutter's ReservationId
	mewsCustomer        = "35d4b117-4e60-44a3-9580-c582117eff98" // addPaymentTerminal's CustomerId
	mewsCommand         = "aa20961f-6d9e-4b35-ad25-071213530aec" // getAllByIds' and update's CommandId
)

// mewsSamplePDF is the document of addPrinter's example ("Hello, world!").
const mewsSamplePDF = "JVBERi0xLjcKCjEgMCBvYmogICUgZW50cnkgcG9pbnQKPDwKICAvVHlwZSAvQ2F0YWxvZwogIC9QYWdlcyAyIDAgUgo+PgplbmRvYmoKCjIgMCBvYmoKPDwKICAvVHlwZSAvUGFnZXMKICAvTWVkaWFCb3ggWyAwIDAgMjAwIDIwMCBdCiAgL0NvdW50IDEKICAvS2lkcyBbIDMgMCBSIF0KPj4KZW5kb2JqCgozIDAgb2JqCjw8CiAgL1R5cGUgL1BhZ2UKICAvUGFyZW50IDIgMCBSCiAgL1Jlc291cmNlcyA8PAogICAgL0ZvbnQgPDwKICAgICAgL0YxIDQgMCBSIAogICAgPj4KICA+PgogIC9Db250ZW50cyA1IDAgUgo+PgplbmRvYmoKCjQgMCBvYmoKPDwKICAvVHlwZSAvRm9udAogIC9TdWJ0eXBlIC9UeXBlMQogIC9CYXNlRm9udCAvVGltZXMtUm9tYW4KPj4KZW5kb2JqCgo1IDAgb2JqICAlIHBhZ2UgY29udGVudAo8PAogIC9MZW5ndGggNDQKPj4Kc3RyZWFtCkJUCjcwIDUwIFRECi9GMSAxMiBUZgooSGVsbG8sIHdvcmxkISkgVGoKRVQKZW5kc3RyZWFtCmVuZG9iagoKeHJlZgowIDYKMDAwMDAwMDAwMCA2NTUzNSBmIAowMDAwMDAwMDEwIDAwMDAwIG4gCjAwMDAwMDAwNzkgMDAwMDAgbiAKMDAwMDAwMDE3MyAwMDAwMCBuIAowMDAwMDAwMzAxIDAwMDAwIG4gCjAwMDAwMDAzODAgMDAwMDAgbiAKdHJhaWxlcgo8PAogIC9TaXplIDYKICAvUm9vdCAxIDAgUgo+PgpzdGFydHhyZWYKNDkyCiUlRU9G"

// MewsDemoInfo is what `serve --mews-demo` seeds, to print.
type MewsDemoInfo struct {
	PlatformAddress  string
	WebSocketAddress string
	// Created is false when an earlier start had seeded it all.
	Created bool
}

// SeedMewsDemo seeds the data of the Mews documentation's examples unless it
// is there: what exists (by id) is kept, what is missing is created, so a
// restart on the same store changes nothing and a start interrupted
// midway completes. The command of getAllActive's example is created
// Pending once; integrations then move it as in Mews.
func SeedMewsDemo(ctx context.Context, h *Node) (*MewsDemoInfo, error) {
	st, now := h.Store, h.Service.Now()
	info := &MewsDemoInfo{PlatformAddress: h.PlatformAddress(), WebSocketAddress: h.WebSocketAddress()}
	created := 0
	try := func(what string, err error) error {
		switch {
		case err == nil:
			created++
			return nil
		case bellhop.ErrorCode(err) == bellhop.ECONFLICT:
			return nil // there from an earlier start
		}
		return fmt.Errorf("mews demo: %s: %w", what, err)
	}
	for _, e := range []bellhop.Enterprise{{ID: mewsEnterprise, Name: "Sample Hotel"}, {ID: mewsEnterprise2, Name: "Sample Hotel Annex"}} {
		e.CreatedUtc = now
		if err := try("enterprise", st.CreateEnterprise(ctx, &e)); err != nil {
			return nil, err
		}
	}
	integ := bellhop.Integration{ID: mewsIntegration, Name: "Sample Client", CreatedUtc: now}
	if err := try("integration", st.CreateIntegration(ctx, &integ, bellhop.HashToken(MewsDemoClientToken))); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		sub   bellhop.Subscription
		token string
	}{
		{bellhop.Subscription{ID: mewsSubscription, EnterpriseIDs: []string{mewsEnterprise, mewsEnterprise2}}, MewsDemoAccessToken},
		{bellhop.Subscription{ID: mewsPOSSubscription, EnterpriseIDs: []string{mewsEnterprise}}, MewsDemoPOSAccessToken},
	} {
		s.sub.IntegrationID, s.sub.CreatedUtc = mewsIntegration, now
		if err := try("subscription", st.CreateSubscription(ctx, &s.sub, bellhop.HashToken(s.token))); err != nil {
			return nil, err
		}
	}
	devices := []struct {
		d   bellhop.Device
		sub string
	}{
		{bellhop.Device{ID: mewsPrinter, Type: bellhop.Printer, Name: "Reception printer", Config: bellhop.DeviceConfig{PrinterName: "Printer"}}, mewsSubscription},
		{bellhop.Device{ID: mewsTestPrinter, Type: bellhop.Printer, Name: "Test Printer", Config: bellhop.DeviceConfig{PrinterName: "Printer"}}, mewsSubscription},
		{bellhop.Device{ID: mewsKeyCutter, Type: bellhop.KeyCutter, Name: "Key cutter", Identifier: "KC-1",
			Config: bellhop.DeviceConfig{KeyCutterID: "KC-1", ApiUrl: "https://key-cutter.example.com/api"}}, mewsSubscription},
		{bellhop.Device{ID: mewsKeyCutter1, Type: bellhop.KeyCutter, Name: "Key cutter 1"}, mewsSubscription},
		{bellhop.Device{ID: mewsFiscal, Type: bellhop.FiscalMachine, Name: "Fiscal Printer FP-001", Config: bellhop.DeviceConfig{
			FiscalMachineID: "FM-001", ApiUrl: "https://fiscal-machine.example.com/api", TaxIdentifier: "12345678901",
			FiscalMachineData: `{"printerPort": "COM1", "baudRate": 9600}`}}, mewsSubscription},
		{bellhop.Device{ID: mewsScanner, Type: bellhop.PassportScanner, Name: "Passport scanner"}, mewsSubscription},
		{bellhop.Device{ID: mewsTerminal, Type: bellhop.PaymentTerminal, Name: "Terminal", Identifier: "TERM-1",
			Config: bellhop.DeviceConfig{PaymentTerminalID: "TERM-1"}}, mewsPOSSubscription},
	}
	for _, x := range devices {
		d := x.d
		d.EnterpriseID, d.CreatedUtc = mewsEnterprise, now
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("mews demo: device %s: %w", d.Name, err)
		}
		if err := try("device", st.CreateDevice(ctx, &d)); err != nil {
			return nil, err
		}
		if err := st.Connect(ctx, x.sub, d.ID); err != nil { // idempotent
			return nil, fmt.Errorf("mews demo: connect %s: %w", d.Name, err)
		}
	}
	day := now.Truncate(24 * time.Hour)
	res := bellhop.Reservation{ID: mewsReservation, EnterpriseID: mewsEnterprise, Number: "1001", StartUtc: day.Add(14 * time.Hour),
		EndUtc: day.Add(2*24*time.Hour + 10*time.Hour), FirstName: "Sample", LastName: "Guest", Email: "sample.guest@example.com",
		LockIDs: []string{"101"}}
	if err := try("reservation", st.CreateReservation(ctx, &res)); err != nil {
		return nil, err
	}
	cust := bellhop.Customer{ID: mewsCustomer, EnterpriseID: mewsEnterprise, FirstName: "Sample", LastName: "Customer", Email: "sample.customer@example.com"}
	if err := try("customer", st.CreateCustomer(ctx, &cust)); err != nil {
		return nil, err
	}
	if _, err := st.GetCommand(ctx, mewsCommand); bellhop.ErrorCode(err) == bellhop.ENOTFOUND {
		if _, err := base64.StdEncoding.DecodeString(mewsSamplePDF); err != nil {
			return nil, fmt.Errorf("mews demo: the sample PDF: %w", err)
		}
		printer := devices[1].d
		printer.EnterpriseID = mewsEnterprise
		cmd := &bellhop.Command{ID: mewsCommand, EnterpriseID: mewsEnterprise, DeviceID: mewsTestPrinter, DeviceType: bellhop.Printer,
			State: bellhop.Pending, CreatedUtc: now, UpdatedUtc: now, Creator: bellhop.Creator{FirstName: "Sample", LastName: "User"},
			Data: bellhop.MarshalData(bellhop.NewPrinterData(&printer, mewsSamplePDF, 1))}
		if _, err := st.CreateCommand(ctx, cmd, bellhop.HistoryEntry{State: bellhop.Pending, Utc: now, Actor: "mews demo"}, nil); err != nil {
			return nil, fmt.Errorf("mews demo: command: %w", err)
		}
		created++
	} else if err != nil {
		return nil, fmt.Errorf("mews demo: command: %w", err)
	}
	info.Created = created > 0
	return info, nil
}

// Print writes how to point an integration at this hub.
func (d *MewsDemoInfo) Print(w io.Writer) {
	fmt.Fprintf(w, "bellhop as the Mews demo: the tokens and ids of the Mews documentation's examples work here.\n\n")
	fmt.Fprintf(w, "  PlatformAddress   %s   (instead of https://api.mews-demo.com)\n", d.PlatformAddress)
	fmt.Fprintf(w, "  WebSocketAddress  %s   (instead of wss://ws.mews-demo.com)\n", d.WebSocketAddress)
	fmt.Fprintf(w, "  ClientToken       %s\n  AccessToken       %s   (portfolio: Sample Hotel %s, Sample Hotel Annex %s)\n",
		MewsDemoClientToken, MewsDemoAccessToken, mewsEnterprise, mewsEnterprise2)
	fmt.Fprintf(w, "  AccessToken       %s   (point of sale: terminal %s)\n\n", MewsDemoPOSAccessToken, mewsTerminal)
	fmt.Fprintf(w, "  These tokens are public: anyone who reaches this hub can use them. Keep it where only you can.\n\n")
	fmt.Fprintf(w, "Try it:\n  curl -s %s/api/connector/v1/commands/getAllActive -d '{\"ClientToken\":\"%s\",\"AccessToken\":\"%s\",\"Client\":\"Sample Client 1.0.0\"}'\n\n",
		d.PlatformAddress, MewsDemoClientToken, MewsDemoAccessToken)
}
