package e2e

import (
	"context"
	"testing"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/node"
)

// BenchmarkDoubleHooks prices what the test-double hooks add to a create
// (a request, and an event to a socket) on the hot path, in one binary and
// one sitting: no request log and no
// fault (the floor), the request log on (the default), and faults set for
// another subscription (request and event faults that every request and
// event must look at and pass by).
//
//	go test -run XXX -bench DoubleHooks -count 6 ./internal/e2e/
func BenchmarkDoubleHooks(b *testing.B) {
	for _, bc := range []struct {
		name   string
		log    bool
		faults bool
	}{{"log=off,faults=none", false, false}, {"log=on,faults=none", true, false}, {"log=on,faults=elsewhere", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			e := start(b, func(c *node.Config) {
				if !bc.log {
					c.RequestLog.Size = -1
				}
			})
			tn := e.tenant("Bench")
			if bc.faults {
				other := e.tenant("Other")
				for _, kind := range []string{admin.FaultRefuse, admin.FaultDropEvent} {
					e.setFault(admin.Fault{SubscriptionId: other.Subscription.Id, Kind: kind, Rate: 1})
				}
			}
			c := e.SDK(tn)
			e.dial(tn) // a socket, so that every create's event is routed to it
			req := client.AddPrinterRequest{PrinterId: tn.Devices[bellhop.Printer].Id, Data: pdf, CopyCount: 1}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.AddPrinterCommand(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
