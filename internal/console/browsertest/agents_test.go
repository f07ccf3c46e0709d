package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/hubtest"
)

// TestAgentsPage: an agent with long names, a client that is not the bellhop
// agent and a subscription never seen show on the Agents page with their
// version, address, sockets and devices, and nothing scrolls sideways at a
// desk's screen, a tablet and a phone.
func TestAgentsPage(t *testing.T) {
	h, base, token := startHub(t)
	desk := hubtest.NewTenant(t, h.Admin, "Front desk agent of Hotel Aurora, Vinohradská", bellhop.Printer, bellhop.KeyCutter, bellhop.FiscalMachine)
	pos := desk.NewIntegration(t, "POS vendor with a long name")
	idle := desk.NewIntegration(t, "Lock vendor never seen")
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, strings.Replace(h.WebSocketAddress(), "http", "ws", 1)+"/ws/connector", &websocket.DialOptions{
		HTTPHeader: http.Header{"Cookie": {"ClientToken=" + desk.ClientToken + "; AccessToken=" + desk.AccessToken}}})
	must(t, err)
	defer ws.CloseNow()
	// After the socket's upgrade: the last requests come from these.
	h.Service.Seen(desk.Subscription.Id, "bellhop-agent/v0.0.0-20261206103707-96bce7413d5f+dirty (front-desk-pc-01.hotel-aurora.internal)", "192.168.100.200:50123")
	h.Service.Seen(pos.Subscription.Id, "Point of sale integration for restaurants and bars, build 2026.12.06-1234567", "[2001:db8:85a3::8a2e:370:7334]:443")

	tab, closeTab := newTab(t)
	defer closeTab()
	tctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	shot := newShots(t)
	run := runner(t, tctx)
	var text string
	run("an admin signs in and opens the Agents page",
		chromedp.Navigate(base+"/signin"),
		chromedp.Click(chromedp.CSS(".token-signin summary")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		submit(`.token-signin button`),
		chromedp.WaitVisible(chromedp.CSS("main")),
		chromedp.Navigate(base+"/agents"),
		chromedp.WaitVisible(chromedp.CSS("#a-"+desk.Subscription.Id)),
		into(chromedp.Text(chromedp.CSS("table.agents")), &text),
	)
	for _, want := range []string{"v0.0.0-20261206103707-96bce7413d5f+dirty", "front-desk-pc-01.hotel-aurora.internal", "192.168.100.200",
		"1 socket", "Point of sale integration", "2001:db8:85a3::8a2e:370:7334", "never",
		desk.Devices[bellhop.Printer].Name} {
		if !strings.Contains(text, want) {
			t.Errorf("the Agents page does not say %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, idle.Integration.Name) {
		t.Errorf("the subscription never seen is not listed:\n%s", text)
	}
	fits(t, run, shot, base, []struct{ name, path, ready string }{{"agents", "/agents", "#a-" + desk.Subscription.Id}})
}
