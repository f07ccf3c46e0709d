package metrics

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestKernelCounts: the calls this test makes are counted (at least them:
// the process makes others meanwhile), and the hub's metrics export them.
func TestKernelCounts(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, ok := ReadKernel()
	if !ok {
		t.Fatal("ReadKernel: not ok on Linux")
	}
	const n = 200
	p := make([]byte, 16)
	for i := range n {
		if _, err := f.WriteAt(p, int64(i*16)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, err := f.ReadAt(p, int64(i*16)); err != nil {
			t.Fatal(err)
		}
	}
	after, ok := ReadKernel()
	if !ok {
		t.Fatal("ReadKernel: not ok the second time")
	}
	if d := after.WriteCalls - before.WriteCalls; d < n {
		t.Errorf("write calls grew by %d after %d pwrites", d, n)
	}
	if d := after.ReadCalls - before.ReadCalls; d < n {
		t.Errorf("read calls grew by %d after %d preads", d, n)
	}
	if after.SystemCPU < before.SystemCPU {
		t.Errorf("system CPU went back: %v -> %v", before.SystemCPU, after.SystemCPU)
	}

	rec := httptest.NewRecorder()
	NewHub(func() int { return 0 }, noStats{}, nil).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, kind := range []string{"read", "write"} {
		m := regexp.MustCompile(`(?m)^bellhop_process_io_syscalls_total\{kind="` + kind + `"\} (\S+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no %s series in:\n%s", kind, body)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil || v < n {
			t.Errorf("%s calls exported as %q", kind, m[1])
		}
	}
	if !regexp.MustCompile(`(?m)^bellhop_process_cpu_system_seconds_total \S+$`).Match(body) {
		t.Errorf("no system CPU series in:\n%s", body)
	}
}
