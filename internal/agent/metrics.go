package agent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bellhop/bellhop/internal/buildinfo/buildmetric"
)

// Outcomes counted by bellhop_agent_commands_total.
const (
	outcomeProcessed   = "processed"
	outcomeError       = "error"
	outcomeCancelled   = "cancelled"   // cancelled at the hub, while queued or running
	outcomeInterrupted = "interrupted" // found started-but-not-finished after a crash
)

// metrics are the agent's Prometheus collectors, on a registry of its own
// so that several agents (in tests) do not collide.
type metrics struct {
	registry  *prometheus.Registry
	commands  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	connected prometheus.Gauge
	requests  *prometheus.CounterVec
}

// countRequest counts one request to the hub.
func (m *metrics) countRequest(op, status string) { m.requests.WithLabelValues(op, status).Inc() }

func newMetrics(devices []string, outboxLen, queued func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_agent_commands_total",
			Help: "Commands the agent brought to a final state, by device (as configured) and outcome (processed, error, cancelled, interrupted).",
		}, []string{"device", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bellhop_agent_driver_duration_seconds",
			Help:    "Time a driver took to run one command, by device and driver scheme.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"device", "driver"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bellhop_agent_requests_total",
			Help: "Requests the agent sent to the hub, by operation (commands/update, websocket, ...) and HTTP status (error: no answer).",
		}, []string{"operation", "status"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bellhop_agent_connected",
			Help: "1 while the agent's WebSocket to the hub is open, else 0.",
		}),
	}
	for _, d := range devices {
		for _, o := range []string{outcomeProcessed, outcomeError, outcomeCancelled, outcomeInterrupted} {
			m.commands.WithLabelValues(d, o) // export zeros, so rates work from the start
		}
	}
	m.registry.MustRegister(m.commands, m.latency, m.connected, m.requests,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bellhop_agent_outbox_pending",
			Help: "State updates waiting to be accepted by the hub.",
		}, outboxLen),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bellhop_agent_commands_queued",
			Help: "Commands waiting for or running on a device.",
		}, queued),
		buildmetric.Collector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
