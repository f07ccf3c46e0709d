package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
)

// The hub's hot paths through the whole stack (HTTP, JSON, auth, store,
// broker): go test -run XXX -bench . ./internal/e2e/

func BenchmarkAddPrinter(b *testing.B) {
	e := start(b)
	tn := e.tenant("Bench")
	c := e.SDK(tn)
	req := client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1}
	inParallel(b, func() error {
		_, err := c.AddPrinterCommand(context.Background(), req)
		return err
	})
}

// inParallel runs op from 8 goroutines per core until b.N operations are
// done, reporting allocations; the first error ends the goroutine's run.
func inParallel(b *testing.B, op func() error) {
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGetAllByIds(b *testing.B) {
	e := start(b)
	tn := e.tenant("Bench")
	c := e.SDK(tn)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = e.addPrinter(tn)
	}
	inParallel(b, func() error {
		if cmds, err := c.CommandsByIds(context.Background(), ids); err != nil || len(cmds) != len(ids) {
			return fmt.Errorf("%d commands, %v", len(cmds), err)
		}
		return nil
	})
}

// BenchmarkFetchPending is an agent's fetch of a new command, as in every
// lifecycle: each operation creates a command (as BenchmarkAddPrinter does)
// and reads it with getAllByIds, which marks it Received.
func BenchmarkFetchPending(b *testing.B) {
	e := start(b)
	tn := e.tenant("Bench")
	c := e.SDK(tn)
	req := client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1}
	inParallel(b, func() error {
		id, err := c.AddPrinterCommand(context.Background(), req)
		if err != nil {
			return err
		}
		if cmds, err := c.CommandsByIds(context.Background(), []string{id}); err != nil || len(cmds) != 1 || cmds[0].State != client.StateReceived {
			return fmt.Errorf("%+v, %v", cmds, err)
		}
		return nil
	})
}

func BenchmarkUpdateProgress(b *testing.B) {
	e := start(b)
	tn := e.tenant("Bench")
	c := e.SDK(tn)
	id := e.addPrinter(tn)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		p := 0.0
		for pb.Next() {
			p += 1e-9
			if err := c.UpdateCommand(context.Background(), client.UpdateRequest{CommandId: id, State: client.StateProcessing, Progress: &p}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCreateToEvent measures one command's way from the create request
// to its DeviceCommand event on a connected socket, with ten sockets open,
// and reports the latency percentiles.
func BenchmarkCreateToEvent(b *testing.B) {
	e := start(b)
	tn := e.tenant("Bench")
	c := e.SDK(tn)
	var socks []*socket
	for i := 0; i < 10; i++ {
		socks = append(socks, e.dial(tn))
	}
	req := client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		id, err := c.AddPrinterCommand(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range socks {
			s.expect(b, id, bellhop.Pending)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkBareHTTP is the floor under the benchmarks above: a POST of a
// small JSON body to a handler that does nothing, through the same kind of
// client and server, on this machine. With both cores busy, ns/op times the
// number of cores is the CPU one request costs, client and server together.
func BenchmarkBareHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"CommandId":"0190a000-0000-7000-8000-000000000001"}`)
	}))
	defer srv.Close()
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body := []byte(`{"ClientToken":"` + strings.Repeat("c", 40) + `","AccessToken":"` + strings.Repeat("a", 40) + `","CommandIds":["0190a000-0000-7000-8000-000000000001"]}`)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := cl.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
