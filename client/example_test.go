package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/bellhop/bellhop/client"
)

// Example is the integration loop the Connector documentation prescribes
// for a device integration: subscribe; after every (re)connect catch up
// with getAllActive; on every DeviceCommand event fetch the command by id;
// report Processing, then Processed or Error.
func Example() {
	c, err := client.New(client.Config{
		PlatformAddress: "https://api.mews-demo.com", // or a bellhop hub, e.g. "http://localhost:8080"
		ClientToken:     "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
		AccessToken:     "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
		Client:          "Sample Client 1.0.0",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// process runs one command. Events are at-least-once and the catch-up
	// repeats what events announced, so skip what is no longer active.
	// A real agent would hand the work to a per-device goroutine and
	// journal it, so that the WebSocket handler returns quickly.
	process := func(ctx context.Context, cmd client.Command) {
		if !cmd.State.Active() {
			return
		}
		if err := c.UpdateCommand(ctx, client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessing}); err != nil {
			log.Printf("command %s: %v", cmd.Id, err)
			return
		}
		done := client.UpdateRequest{CommandId: cmd.Id, State: client.StateProcessed}
		if err := runOnDevice(ctx, cmd); err != nil {
			notes := err.Error()
			done = client.UpdateRequest{CommandId: cmd.Id, State: client.StateError, Notes: &notes}
		}
		if err := c.UpdateCommand(ctx, done); err != nil {
			log.Printf("command %s: %v", cmd.Id, err)
		}
	}

	err = c.Subscribe(ctx, func(ctx context.Context, ev client.Event) {
		if !ev.State.Active() {
			return // our own updates echoed back, or changes made elsewhere
		}
		cmds, err := c.CommandsByIds(ctx, []string{ev.Id})
		if err != nil {
			log.Printf("fetching command %s: %v", ev.Id, err) // the next catch-up finds it
			return
		}
		for _, cmd := range cmds {
			process(ctx, cmd)
		}
	}, client.SubscribeOptions{
		OnConnect: func(ctx context.Context) error {
			cmds, err := c.AllActiveCommands(ctx)
			if err != nil {
				return err // drop the connection; the catch-up runs again after the reconnect
			}
			for _, cmd := range cmds {
				process(ctx, cmd)
			}
			return nil
		},
		OnDisconnect: func(err error) {
			log.Printf("websocket: %v (reconnecting)", err)
			if client.IsUnauthorized(err) {
				log.Print("check the tokens and the connected devices")
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// runOnDevice stands for the device driver.
func runOnDevice(ctx context.Context, cmd client.Command) error {
	switch cmd.Device.Type {
	case client.DeviceTypePrinter:
		var d client.PrinterData
		if err := cmd.DecodeData(&d); err != nil {
			return err
		}
		pdf, err := d.File()
		if err != nil {
			return err
		}
		log.Printf("printing %d bytes, %d copies, on %s", len(pdf), d.CopyCount, d.PrinterName)
		return nil
	default:
		return fmt.Errorf("unsupported device type %s", cmd.Device.Type)
	}
}

// The Mews Terminals flow: take a payment and wait for its outcome, with a
// timeout because the event may never come.
func ExampleClient_AddPaymentTerminalCommand() {
	c, err := client.New(client.Config{
		PlatformAddress: "https://api.mews-demo.com",
		ClientToken:     "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
		AccessToken:     "7059D2C25BF64EA681ACAB3A00B859CC-D91BFF2B1E3047A3E0DEC1D57BE1382",
		Client:          "MyPOS 1.0",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Subscribe first so that the outcome cannot be missed.
	finals := make(chan client.Event, 64)
	go func() {
		_ = c.Subscribe(ctx, func(_ context.Context, ev client.Event) {
			if ev.State.Final() {
				finals <- ev
			}
		}, client.SubscribeOptions{})
	}()

	id, err := c.AddPaymentTerminalCommand(ctx, client.AddPaymentTerminalRequest{
		TerminalId: "be35b39e-ad7e-460a-8de9-4c7581e016a2",
		CustomerId: "35d4b117-4e60-44a3-9580-c582117eff98",
		Type:       client.PaymentTypePayment,
		Amount:     client.CurrencyValue{Currency: "EUR", Value: 230},
	})
	if err != nil {
		log.Fatal(err)
	}
	for {
		select {
		case ev := <-finals:
			if ev.Id == id {
				fmt.Println("paid:", ev.State == client.StateProcessed)
				return
			}
		case <-ctx.Done():
			fmt.Println("no answer from the terminal")
			return
		}
	}
}

// A caller that must survive its own crash persists an idempotency key
// before the call and reuses it when it repeats the call.
func ExampleWithIdempotencyKey() {
	c, err := client.New(client.Config{
		PlatformAddress: "http://localhost:8080",
		ClientToken:     "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
		AccessToken:     "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D",
		Client:          "Sample Client 1.0.0",
	})
	if err != nil {
		log.Fatal(err)
	}
	pdf, err := os.ReadFile("invoice-1001.pdf")
	if err != nil {
		log.Fatal(err)
	}
	ctx := client.WithIdempotencyKey(context.Background(), "invoice-1001-print-1")
	id, err := c.AddPrinterCommand(ctx, client.AddPrinterRequest{
		PrinterId: "d117866d-78de-4459-9077-42d7ea0120e3",
		Data:      base64.StdEncoding.EncodeToString(pdf),
		CopyCount: 1,
	})
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == 403:
		fmt.Println("refused:", apiErr.Message) // meant for the end user
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("queued", id)
	}
}

func ExampleCommand_DecodeData() {
	var page client.CommandPage
	_ = json.Unmarshal([]byte(`{"Commands": [{
		"Id": "aa20961f-6d9e-4b35-ad25-071213530aec", "State": "Pending", "CreatedUtc": "2015-09-02T19:25:44Z",
		"Device": {"Id": "63efb573-fc58-4065-b687-9bdd51568529", "Name": "Test Printer", "Type": "Printer"},
		"Data": {"CopyCount": 2, "FileType": "application/pdf", "FileData": "JVBERi0=",
			"PrinterName": "Printer", "PrinterDriverName": "", "PrinterPortName": ""}}]}`), &page)

	cmd := page.Commands[0]
	var d client.PrinterData
	if err := cmd.DecodeData(&d); err != nil {
		log.Fatal(err)
	}
	pdf, _ := d.File()
	fmt.Printf("%s: %d copies of %q on %s\n", cmd.Device.Name, d.CopyCount, pdf, d.PrinterName)

	var k client.KeyCutterData
	fmt.Println(cmd.DecodeData(&k))
	// Output:
	// Test Printer: 2 copies of "%PDF-" on Printer
	// client: command aa20961f-6d9e-4b35-ad25-071213530aec is for a Printer device, not KeyCutter
}
