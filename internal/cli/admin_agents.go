package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/bellhop/bellhop/client/admin"
)

// adminAgents lists what the hub knows of each subscription's client.
type adminAgents struct{}

func (c *adminAgents) Run(ctx context.Context, ac *admin.Client, p *printer) error {
	agents, err := ac.Agents(ctx)
	if err != nil {
		return err
	}
	if p.json {
		return p.encode(struct{ Agents []admin.Agent }{agents})
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Integration\tSubscriptionId\tClient\tAddress\tSockets\tConnectedUtc\tLastSeenUtc\tDevices")
	for _, a := range agents {
		names := make([]string, len(a.Devices))
		for i, d := range a.Devices {
			names[i] = d.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.IntegrationName, a.SubscriptionId, dash(a.Client), dash(a.Address),
			a.Sockets, dash(a.ConnectedUtc), orNever(a.LastSeenUtc), strings.Join(names, ", "))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNever(s string) string {
	if s == "" {
		return "never"
	}
	return s
}
