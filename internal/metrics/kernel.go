package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kernel is what this process asked of the kernel so far: the CPU time it
// spent there and how many read- and write-family system calls it made
// (read, pread, recv... and write, pwrite, send...). On a machine where a
// system call is dear (a virtual machine that traps each one), these two
// tell a slow machine from a slow build: the same build makes the same calls.
type Kernel struct {
	SystemCPU  time.Duration
	ReadCalls  int64 // read-family calls
	WriteCalls int64 // write-family calls
}

// kernelCollector exports ReadKernel as bellhop_process_cpu_system_seconds_total
// and bellhop_process_io_syscalls_total; it exports nothing where the
// system does not tell.
type kernelCollector struct {
	cpu, calls *prometheus.Desc
}

func newKernelCollector() *kernelCollector {
	return &kernelCollector{
		cpu: prometheus.NewDesc("bellhop_process_cpu_system_seconds_total",
			"CPU time the process spent in the kernel, part of process_cpu_seconds_total.", nil, nil),
		calls: prometheus.NewDesc("bellhop_process_io_syscalls_total",
			"Read- and write-family system calls the process made (read, pread, recv...; write, pwrite, send...).",
			[]string{"kind"}, nil),
	}
}

func (c *kernelCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.cpu; ch <- c.calls }

func (c *kernelCollector) Collect(ch chan<- prometheus.Metric) {
	k, ok := ReadKernel()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, k.SystemCPU.Seconds())
	ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(k.ReadCalls), "read")
	ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(k.WriteCalls), "write")
}
