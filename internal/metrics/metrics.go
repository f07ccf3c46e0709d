// Package metrics exposes the hub's Prometheus metrics: requests by operation
// and status, command state changes, commands waiting and processing, open
// sockets, event delivery latency, the time spent in each stage of a
// request and an event (bellhop_stage_seconds), which bellhop runs
// (bellhop_build_info), and what the process asks of the kernel
// (bellhop_process_cpu_system_seconds_total, bellhop_process_io_syscalls_total).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/buildinfo/buildmetric"
	"github.com/bellhop/bellhop/internal/stage"
)

// Hub holds the hub's collectors on a registry of its own.
type Hub struct {
	Registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	transitions *prometheus.CounterVec
	delivery    prometheus.Histogram
	stages      *Stages

	// The series of each operation and status, and of each state entered,
	// looked up once: a vector's WithLabelValues hashes and checks the label
	// values on every call, twice a request and once an event.
	mu        sync.RWMutex
	byRequest map[requestKey]requestSeries
	byState   map[bellhop.State]prometheus.Counter
}

type requestKey struct {
	op     string
	status int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// Stats is what the metrics read at scrape time: per device, what waits
// (the hub service answers it).
type Stats interface {
	Stats(ctx context.Context, enterpriseID string) (map[string]bellhop.DeviceStats, error)
}

// NewHub registers the hub's metrics. sockets reports open sockets; st is
// read at scrape time for the commands that wait; stages (nil: none) are the
// stage histograms the node's components observe into.
func NewHub(sockets func() int, st Stats, stages *Stages) *Hub {
	h := &Hub{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bellhop_requests_total",
			Help: "Connector API requests by operation and status."}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bellhop_request_duration_seconds",
			Help: "Connector API request duration by operation.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"operation"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bellhop_command_state_changes_total",
			Help: "Command state changes by the state entered."}, []string{"state"}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bellhop_event_delivery_seconds",
			Help: "Time from a command's change to its event written on a socket.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		byRequest: map[requestKey]requestSeries{},
		byState:   map[bellhop.State]prometheus.Counter{},
	}
	h.Registry.MustRegister(h.requests, h.duration, h.transitions, h.delivery,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newKernelCollector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bellhop_open_sockets", Help: "Open WebSockets."},
			func() float64 { return float64(sockets()) }),
		&waiting{stats: st}, buildmetric.Collector())
	if stages != nil {
		h.stages = stages
		h.Registry.MustRegister(stages.vec)
	}
	return h
}

// StageBuckets are the upper bounds, in seconds, of bellhop_stage_seconds:
// from 10 µs to about 1.3 s, each about 1.41 times the one before (two per
// doubling), fine enough to place a p99 within its bucket to ±20 %.
var StageBuckets = prometheus.ExponentialBuckets(10e-6, 1.4142135623730951, 35)

// Stages is the bellhop_stage_seconds histogram: how long requests and
// events spend in each stage.Stage. Observe allocates nothing: the series of
// every stage exist from the start.
type Stages struct {
	vec *prometheus.HistogramVec
	obs [stage.Count]prometheus.Observer
}

// NewStages returns the stage histograms, registered by NewHub.
func NewStages() *Stages {
	s := &Stages{vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bellhop_stage_seconds",
		Help:    "Time spent in each stage of a Connector request and a command event (see package stage).",
		Buckets: StageBuckets}, []string{"stage"})}
	for _, st := range stage.All() {
		s.obs[st] = s.vec.WithLabelValues(st.String())
	}
	return s
}

// Observe records d as the time spent in st; it is a stage.Observer.
func (s *Stages) Observe(st stage.Stage, d time.Duration) {
	if st < stage.Count {
		s.obs[st].Observe(d.Seconds())
	}
}

// Handler serves the metrics.
func (h *Hub) Handler() http.Handler {
	return promhttp.HandlerFor(h.Registry, promhttp.HandlerOpts{})
}

// ObserveRequest counts a Connector API request.
func (h *Hub) ObserveRequest(op string, status int, d time.Duration) {
	if op == "" {
		op = "unknown"
	}
	s := series(h, h.byRequest, requestKey{op, status}, func() requestSeries {
		return requestSeries{h.requests.WithLabelValues(op, strconv.Itoa(status)), h.duration.WithLabelValues(op)}
	})
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// entered counts a command's change into state.
func (h *Hub) entered(state bellhop.State) {
	series(h, h.byState, state, func() prometheus.Counter { return h.transitions.WithLabelValues(string(state)) }).Inc()
}

// series returns the series cached in m under k, looking it up with
// lookup and keeping it the first time: keys (operations, statuses,
// states) are few.
func series[K comparable, V any](h *Hub, m map[K]V, k K, lookup func() V) V {
	h.mu.RLock()
	v, ok := m[k]
	h.mu.RUnlock()
	if !ok {
		v = lookup()
		h.mu.Lock()
		m[k] = v
		h.mu.Unlock()
	}
	return v
}

// ObserveDelivery records one event's delivery latency.
func (h *Hub) ObserveDelivery(d time.Duration) { h.delivery.Observe(d.Seconds()) }

// Publisher counts state changes and passes events on to next.
type Publisher struct {
	Next interface {
		Publish([]bellhop.Event)
		DevicesChanged(string)
		Revoked(string)
	}
	Hub *Hub
}

// Publish counts the state changes among events, then passes them on.
func (p Publisher) Publish(events []bellhop.Event) {
	for _, e := range events {
		if e.StateChange {
			p.Hub.entered(e.State)
		}
	}
	p.Next.Publish(events)
}

// DevicesChanged passes the change on.
func (p Publisher) DevicesChanged(id string) { p.Next.DevicesChanged(id) }

// Revoked passes the revocation on.
func (p Publisher) Revoked(id string) { p.Next.Revoked(id) }

// waiting reports the commands that wait and those in processing, read at
// scrape time.
type waiting struct{ stats Stats }

var (
	waitingDesc    = prometheus.NewDesc("bellhop_commands_waiting", "Pending or Received commands.", nil, nil)
	processingDesc = prometheus.NewDesc("bellhop_commands_processing", "Commands in Processing.", nil, nil)
	oldestDesc     = prometheus.NewDesc("bellhop_oldest_waiting_seconds", "Age of the oldest waiting command.", nil, nil)
)

func (w *waiting) Describe(ch chan<- *prometheus.Desc) {
	ch <- waitingDesc
	ch <- processingDesc
	ch <- oldestDesc
}

func (w *waiting) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := w.stats.Stats(ctx, "")
	if err != nil {
		return
	}
	var wait, proc int
	var oldest time.Time
	for _, s := range stats {
		wait += s.Waiting
		proc += s.Processing
		if !s.OldestWaitingUtc.IsZero() && (oldest.IsZero() || s.OldestWaitingUtc.Before(oldest)) {
			oldest = s.OldestWaitingUtc
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(wait))
	ch <- prometheus.MustNewConstMetric(processingDesc, prometheus.GaugeValue, float64(proc))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
