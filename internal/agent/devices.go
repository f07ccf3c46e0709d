package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/bellhop/bellhop/client"
)

// matches reports whether the configured device d is the hub device h: by
// id, or by name, both compared without case (the hub keeps names as
// typed, and operators retype them).
func (d DeviceConfig) matches(h client.Device) bool {
	if d.ID != "" {
		return strings.EqualFold(d.ID, h.Id)
	}
	return strings.EqualFold(d.Name, h.Name)
}

// missingDevice is a configured device the hub does not connect to the
// agent's integration, with the nearest hub device that no configured
// device matches.
type missingDevice struct {
	dev     DeviceConfig
	suggest string // a name (or id, for a device configured by id), or ""
}

func (m missingDevice) String() string {
	msg := "the hub does not connect this device to the integration"
	if m.suggest != "" {
		msg += fmt.Sprintf("; did you mean %q?", m.suggest)
	}
	return msg
}

// missingDevices lists the configured devices that no hub device matches.
func missingDevices(devs []DeviceConfig, hub []client.Device) []missingDevice {
	var unmatched []client.Device
	for _, h := range hub {
		if !anyMatch(devs, h) {
			unmatched = append(unmatched, h)
		}
	}
	var out []missingDevice
	for _, d := range devs {
		found := false
		for _, h := range hub {
			if d.matches(h) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, missingDevice{dev: d, suggest: nearest(d, unmatched)})
		}
	}
	return out
}

func anyMatch(devs []DeviceConfig, h client.Device) bool {
	for _, d := range devs {
		if d.matches(h) {
			return true
		}
	}
	return false
}

// nearest returns the name (or id) among hub closest to how d was written,
// when it is close enough to be a typo: at most a third of its length
// apart, and at most 3 edits.
func nearest(d DeviceConfig, hub []client.Device) string {
	want := strings.ToLower(d.label())
	best, bestDist := "", min(3, max(1, len(want)/3))+1
	for _, h := range hub {
		cand := h.Name
		if d.ID != "" {
			cand = h.Id
		}
		if dist := editDistance(want, strings.ToLower(cand)); dist < bestDist {
			best, bestDist = cand, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// warnDevices asks the hub, once after the first connect, which devices it
// connects to the integration, and warns about every configured device it
// does not: its commands would otherwise wait silently until they expire.
func (a *Agent) warnDevices(ctx context.Context) {
	hub, err := a.client.Devices(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("agent: cannot list the hub's devices to check the configuration", "error", err)
		}
		return
	}
	for _, m := range missingDevices(a.cfg.Devices, hub) {
		a.log.Warn("agent: configured device not found at the hub: "+m.String(), "device", m.dev.label(), "suggestion", m.suggest)
	}
}
