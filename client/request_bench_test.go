package client

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkRequest prices the SDK's side of the three requests of a
// command's lifecycle as the bench runs it (a producer's addPrinter with a
// 2 KiB PDF, an agent's getAllByIds and update), each against a server
// that answers with a fixed body, so that what changes between runs is the
// client: building and encoding the request, the transport, reading and
// decoding the answer.
func BenchmarkRequest(b *testing.B) {
	pdf := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("%PDF-1.4 bellhop bench\n", 90))) // ~2 KiB
	const id = "0190a000-0000-7000-8000-000000000001"
	page := `{"Commands":[{"Id":"` + id + `","State":"Pending","CreatedUtc":"2026-12-06T10:00:00.123456Z",` +
		`"Creator":null,"Device":{"Id":"0190a000-0000-7000-8000-000000000002","Type":"Printer","Name":"printer 1-0",` +
		`"Identifier":null},"Data":{"CopyCount":1,"FileType":"application/pdf","FileData":"` + pdf + `",` +
		`"PrinterName":"bench","PrinterDriverName":"","PrinterPortName":""}}],"Cursor":"` + id + `"}`
	answers := map[string]string{
		"/api/connector/v1/commands/addPrinter":  `{"CommandId":"` + id + `"}`,
		"/api/connector/v1/commands/getAllByIds": page,
		"/api/connector/v1/commands/update":      `{}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answers[r.URL.Path])
	}))
	b.Cleanup(srv.Close)
	c, _ := newTestClient(b, srv.URL, func(cfg *Config) { cfg.HTTPClient = srv.Client() })
	ctx := context.Background()

	b.Run("addPrinter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got, err := c.AddPrinterCommand(ctx, AddPrinterRequest{PrinterId: id, Data: pdf, CopyCount: 1}); err != nil || got != id {
				b.Fatal(got, err)
			}
		}
	})
	b.Run("getAllByIds", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if cmds, err := c.CommandsByIds(ctx, []string{id}); err != nil || len(cmds) != 1 {
				b.Fatal(cmds, err)
			}
		}
	})
	b.Run("update", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.UpdateCommand(ctx, UpdateRequest{CommandId: id, State: StateProcessing}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSubscribe prices the delivery of one event message, from the
// socket to the handler, as an agent receives it: one message at a time,
// the next sent once the handler has seen the last.
func BenchmarkSubscribe(b *testing.B) {
	msg := []byte(`{"Events":[{"Type":"DeviceCommand","Id":"0190a000-0000-7000-8000-000000000001","State":"Processing"}]}`)
	delivered := make(chan struct{})
	serving := make(chan *websocket.Conn)
	srv := wsFake(b, func(_ int, w http.ResponseWriter, r *http.Request) {
		conn := accept(b, w, r)
		serving <- conn
		readUntilClosed(context.Background(), conn)
	})
	c, _ := newTestClient(b, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Subscribe(ctx, func(context.Context, Event) { delivered <- struct{}{} }, SubscribeOptions{})
	}()
	conn := receive(b, serving)

	b.ReportAllocs()
	for b.Loop() {
		if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		<-delivered
	}
	b.StopTimer()
	cancel()
	<-done
}
