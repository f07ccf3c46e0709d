package metrics

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReadKernel reads this process's Kernel figures: the system CPU time from
// getrusage, the calls from syscr and syscw of /proc/self/io. ok is false
// when either cannot be read.
func ReadKernel() (k Kernel, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return k, false
	}
	k.SystemCPU = time.Duration(ru.Stime.Nano())
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return k, false
	}
	defer f.Close()
	var seen int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, found := strings.Cut(sc.Text(), ":")
		if !found {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "syscr":
			k.ReadCalls, seen = n, seen+1
		case "syscw":
			k.WriteCalls, seen = n, seen+1
		}
	}
	return k, sc.Err() == nil && seen == 2
}
