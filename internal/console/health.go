package console

import (
	"net/http"
	"sort"

	"github.com/bellhop/bellhop"
)

// healthDevice is one device's queue on the health page.
type healthDevice struct {
	bellhop.Device
	Enterprise string
	Zone       string // the enterprise's time zone, "" = the browser's
	Stats      bellhop.DeviceStats
}

// socketRow is one subscription's open WebSockets.
type socketRow struct {
	ID, Integration string
	Revoked         bool
	Sockets         int
}

// healthView is the content of the health page.
type healthView struct {
	LiveOn       bool
	Sockets      []socketRow
	TotalSockets int
	Devices      []healthDevice
	Waiting      int
	Processing   int
	Oldest       *bellhop.Command
	OldestDevice string
}

func (s *server) healthPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	v := healthView{LiveOn: s.live != nil}
	subs, err := s.svc.Subscriptions(ctx, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	names, err := s.subscriptionNames(ctx)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	var counts map[string]int
	if s.live != nil {
		counts = s.live.SocketsBySubscription()
	}
	for _, sub := range subs {
		n := counts[sub.ID]
		v.TotalSockets += n
		v.Sockets = append(v.Sockets, socketRow{ID: sub.ID, Integration: names[sub.ID], Revoked: sub.Revoked, Sockets: n})
	}
	sort.SliceStable(v.Sockets, func(a, b int) bool { return v.Sockets[a].Sockets > v.Sockets[b].Sockets })
	ents, err := s.svc.Enterprises(ctx)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	entNames, zones := map[string]string{}, map[string]string{}
	for _, e := range ents {
		entNames[e.ID], zones[e.ID] = e.Name, e.TimeZone
	}
	devs, err := s.svc.ListDevices(ctx, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	stats, err := s.svc.Stats(ctx, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	devNames := map[string]string{}
	for _, d := range devs {
		st := stats[d.ID]
		v.Waiting += st.Waiting
		v.Processing += st.Processing
		devNames[d.ID] = d.Name
		v.Devices = append(v.Devices, healthDevice{Device: d, Enterprise: entNames[d.EnterpriseID], Zone: zones[d.EnterpriseID], Stats: st})
	}
	sort.SliceStable(v.Devices, func(a, b int) bool { return v.Devices[a].Stats.Waiting > v.Devices[b].Stats.Waiting })
	oldest, ok, err := s.svc.OldestWaiting(ctx)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	if ok {
		v.Oldest = oldest
		v.OldestDevice = orText(devNames[oldest.DeviceID], "deleted device")
	}
	s.render(w, r, sess, http.StatusOK, "health", page{Title: "Health", Nav: "health", Content: v})
}
