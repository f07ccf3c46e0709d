// Package buildmetric exports which bellhop runs to Prometheus, for the hub's
// and the agent's /metrics.
package buildmetric

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bellhop/bellhop/internal/buildinfo"
)

// Collector is the bellhop_build_info gauge: always 1, with the binary's
// version, commit and Go version as labels, the convention that lets a
// dashboard join any metric of a process with what it runs.
func Collector() prometheus.Collector {
	in := buildinfo.Get()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "bellhop_build_info",
		Help:        "Always 1; the labels say which bellhop runs (version, commit, goversion).",
		ConstLabels: prometheus.Labels{"version": in.Version, "commit": in.Commit, "goversion": in.GoVersion},
	}, func() float64 { return 1 })
}
