package hubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/client/admin"
)

// The bellhop binary, built once per test run into binDir.
var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Main runs the tests of a package that starts processes (Binary,
// StartProcess, StartAgent) and removes the binary afterwards; call it from
// the package's TestMain. It does not return.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to do: it runs the tests,
// removes the binary and returns the exit code.
func Run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "bellhop-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = dir
	defer os.RemoveAll(dir)
	return m.Run()
}

// Binary returns the path of the bellhop binary, built once per test run.
// It is built without the race detector: the processes under test are
// killed, not inspected. The package's TestMain must call Main or Run.
func Binary(tb testing.TB) string {
	tb.Helper()
	if binDir == "" {
		tb.Fatal("hubtest.Binary: call hubtest.Main (or Run) from the package's TestMain")
	}
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "bellhop")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/bellhop/bellhop/cmd/bellhop").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// Process is a `bellhop serve` process.
type Process struct {
	// PlatformAddress is the base URL it serves, read from its log.
	PlatformAddress string
	// AdminToken is registered with --admin-token; Admin calls the admin
	// API with it.
	AdminToken string
	Admin      *admin.Client

	tb     testing.TB
	args   []string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lineLog
}

// StartProcess runs `bellhop serve` with args and waits until it listens.
// What args leave out takes a test default: --addr 127.0.0.1:0, --data in
// a temporary directory (unless --database), and a new --admin-token. A
// fixed --addr still held by a process that just exited is retried for a few
// seconds. The process is killed when the test ends, and its last log lines
// are printed if the test failed.
func StartProcess(tb testing.TB, args ...string) *Process {
	tb.Helper()
	p := LaunchProcess(tb, args...)
	p.Wait()
	return p
}

// LaunchProcess starts `bellhop serve` like StartProcess but does not wait:
// call Wait. Several processes launched together start at the same time.
func LaunchProcess(tb testing.TB, args ...string) *Process {
	tb.Helper()
	has := func(flag string) bool {
		return slices.ContainsFunc(args, func(a string) bool { return a == flag || strings.HasPrefix(a, flag+"=") })
	}
	args = slices.Clone(args)
	if !has("--addr") {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	if !has("--data") && !has("--database") {
		args = append(args, "--data", tb.TempDir())
	}
	token := ""
	if i := slices.Index(args, "--admin-token"); i >= 0 && i+1 < len(args) {
		token = args[i+1]
	} else {
		token = bellhop.NewToken()
		args = append(args, "--admin-token", token)
	}
	p := &Process{AdminToken: token, tb: tb, args: args}
	p.launch()
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("log of the hub process %s (last lines):\n%s", p.PlatformAddress, p.log)
		}
	})
	return p
}

func (p *Process) launch() {
	p.tb.Helper()
	p.log = &lineLog{ready: make(chan string, 1)}
	p.cmd = exec.Command(Binary(p.tb), append([]string{"--log-format", "json", "serve"}, p.args...)...)
	p.cmd.Dir = p.tb.TempDir() // where a relative default would write
	p.cmd.Env = cleanEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(p.cmd, p.exited)
}

// Wait waits until the process listens, relaunching it for a few seconds if
// it exits at once (its fixed port still held by the one before), and
// fails the test if it does not listen within 30 s.
func (p *Process) Wait() {
	p.tb.Helper()
	for range 20 {
		select {
		case addr := <-p.log.ready:
			if addr == p.PlatformAddress {
				return // restarted on its fixed port: the admin client stays
			}
			a, err := admin.New(admin.Config{Address: addr, Token: p.AdminToken, HTTPClient: &http.Client{Timeout: time.Minute}})
			if err != nil {
				p.tb.Fatal(err)
			}
			p.PlatformAddress, p.Admin = addr, a
			return
		case <-p.exited:
			if p.port() == "0" {
				p.tb.Fatalf("the hub exited at start: %s\n%s", p.cmd.ProcessState, p.log)
			}
			time.Sleep(250 * time.Millisecond) // the port's previous owner is going away
			p.launch()
		case <-time.After(30 * time.Second):
			p.Kill()
			p.tb.Fatalf("the hub did not listen within 30 s:\n%s", p.log)
		}
	}
	p.tb.Fatalf("the hub would not start:\n%s", p.log)
}

// port is the port of --addr.
func (p *Process) port() string {
	for i, a := range p.args {
		addr, ok := strings.CutPrefix(a, "--addr=")
		if !ok && a == "--addr" && i+1 < len(p.args) {
			addr, ok = p.args[i+1], true
		}
		if ok {
			return addr[strings.LastIndexByte(addr, ':')+1:]
		}
	}
	return "0"
}

// Stop sends sig and waits for the process to exit; a process still there
// 20 s later is killed and fails the test.
func (p *Process) Stop(sig syscall.Signal) {
	p.tb.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.Kill()
		p.tb.Errorf("the hub did not exit within 20 s of %v:\n%s", sig, p.log)
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Restart starts the process again with the same arguments (so the same
// store, and the same port unless it was 0) and waits until it listens. Stop
// or Kill it first.
func (p *Process) Restart() {
	p.tb.Helper()
	p.launch()
	p.Wait()
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Log returns the last lines the process wrote.
func (p *Process) Log() string { return p.log.String() }

// cleanEnv is this process's environment without BELLHOP_ variables, so
// that a developer's settings do not leak into the processes under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BELLHOP_") {
			env = append(env, kv)
		}
	}
	return env
}

// lineLog keeps the last lines a hub process wrote and reports the platform
// address from its "listening" record.
type lineLog struct {
	mu    sync.Mutex
	part  []byte
	lines []string
	ready chan string
	once  sync.Once
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, b...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(l.part[:i])
		l.part = l.part[i+1:]
		if l.lines = append(l.lines, line); len(l.lines) > 50 {
			l.lines = l.lines[1:]
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"platform_address"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bellhop hub listening" {
			l.once.Do(func() { l.ready <- rec.Addr })
		}
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
