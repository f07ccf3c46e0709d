package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
	"github.com/bellhop/bellhop/internal/agent"
	"github.com/bellhop/bellhop/internal/agent/driver/drivertest"
)

// TestAgentDrivesGenericDevices: devices that the Mews API has no command
// type for (a PBX, a TV, a door controller) are driven by the http, exec and
// folder drivers, which hand the command's Data over untouched.
func TestAgentDrivesGenericDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.hub.Admin.SetGenericDevices(ctx, e.sub, true); err != nil {
		t.Fatal(err)
	}
	generic := func(typ, name string) *admin.Device {
		d, err := e.hub.Admin.CreateDevice(ctx, admin.Device{EnterpriseId: e.enterprise, Type: client.DeviceType(typ), Name: name})
		must(t, err)
		must(t, e.hub.Admin.Connect(ctx, e.sub, d.Id))
		return d
	}
	pbx, tv, door := generic("Pbx", "Lobby PBX"), generic("Tv", "Room 101 TV"), generic("DoorController", "Garage door")

	peer := drivertest.StartHTTPPeer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "wake-up call set")
	})
	tmp := t.TempDir()
	stdin := filepath.Join(tmp, "stdin.json")
	script := writeScript(t, tmp, "tv.sh", `cat > `+stdin+`; echo "$BELLHOP_DEVICE_TYPE switched on"`+"\n")
	doors := filepath.Join(tmp, "doors")
	must(t, os.Mkdir(doors, 0o755))
	startAgent(t, e.config(t.TempDir(),
		agent.DeviceConfig{Name: pbx.Name, Driver: peer.URL + "/pbx"},
		agent.DeviceConfig{Name: tv.Name, Driver: "exec:" + script},
		agent.DeviceConfig{Name: door.Name, Driver: "folder:" + doors},
	))

	call := e.command(pbx, map[string]any{"Extension": "101", "Action": "WakeUpCall", "At": "07:00"})
	on := e.command(tv, map[string]any{"Channel": 4, "Welcome": "Vítejte, Anna"})
	open := e.command(door, map[string]any{"Door": "garage", "OpenFor": 30})
	seen := drivertest.AnswerFolder(t, doors, open, ".done", "opened")
	final := e.waitFinal(20*time.Second, call, on, open)
	for id, notes := range map[string]string{call: "wake-up call set", on: "Tv switched on", open: "opened"} {
		if v := final[id]; v.State != bellhop.Processed || v.Notes != notes {
			t.Errorf("command %s (%s): %s %q, want Processed %q", id, v.Device.Name, v.State, v.Notes, notes)
		}
	}
	// What each driver handed over: the device's label and the Data as sent.
	reqs := peer.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the PBX got %d requests", len(reqs))
	}
	got, err := drivertest.DecodeRequest(reqs[0].Body)
	must(t, err)
	if got.Id != call || got.Device.Type != "Pbx" || !sameJSON(got.Data, `{"Extension":"101","Action":"WakeUpCall","At":"07:00"}`) {
		t.Errorf("the PBX got %+v %s", got, got.Data)
	}
	b, err := os.ReadFile(stdin)
	must(t, err)
	got, err = drivertest.DecodeRequest(b)
	must(t, err)
	if got.Id != on || got.Device.Type != "Tv" || !sameJSON(got.Data, `{"Channel":4,"Welcome":"Vítejte, Anna"}`) {
		t.Errorf("the TV program got %s", b)
	}
	if req := <-seen; req.Id != open || req.Device.Type != "DoorController" || !strings.Contains(string(req.Data), `"garage"`) {
		t.Errorf("the door folder got %+v", req)
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}
