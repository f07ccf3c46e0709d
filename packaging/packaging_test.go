//go:build linux

// Package packaging_test builds the packages and the container image with
// scripts/package and checks them as an operator would: the .deb installed
// with dpkg, its units verified by systemd, the image's config and binary.
package packaging_test

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/bellhop/bellhop/internal/service"
)

const version = "0.0.0~test"

var (
	distDir   string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bellhop-dist-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	distDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dist runs scripts/package once and returns its output directory.
func dist(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		cmd := exec.Command("../scripts/package", distDir)
		cmd.Env = append(os.Environ(), "BELLHOP_VERSION="+version)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("scripts/package: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return distDir
}

// need skips the test without the program, or fails it under CI.
func need(t *testing.T, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (scripts/test installs it)", program)
		}
		t.Skipf("no %s", program)
	}
	return path
}

func glob(t *testing.T, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dist(t), pattern))
	if err != nil || len(m) != 1 {
		t.Fatalf("%s: %v %v", pattern, m, err)
	}
	return m[0]
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// wantFile checks a path's type, mode and owner.
func wantFile(t *testing.T, path string, dir bool, mode os.FileMode, owner, group string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	u, _ := user.LookupId(fmt.Sprint(st.Uid))
	g, _ := user.LookupGroupId(fmt.Sprint(st.Gid))
	var un, gn string
	if u != nil {
		un = u.Username
	}
	if g != nil {
		gn = g.Name
	}
	if fi.IsDir() != dir || fi.Mode().Perm() != mode || un != owner || gn != group {
		t.Errorf("%s: dir %v %v %s:%s, want dir %v %v %s:%s", path, fi.IsDir(), fi.Mode().Perm(), un, gn, dir, mode, owner, group)
	}
}

// The .deb installs as the README says, its units pass systemd's check, and
// it purges cleanly. It changes this machine (a package, a user), so it
// runs only as root, and refuses a machine where bellhop is installed.
func TestDeb(t *testing.T) {
	dpkg := need(t, "dpkg")
	analyze := need(t, "systemd-analyze")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("installing the .deb needs root")
		}
		t.Skip("installing the .deb needs root")
	}
	if _, err := user.Lookup("bellhop"); err == nil || exec.Command("dpkg", "-s", "bellhop").Run() == nil {
		t.Fatal("bellhop is already installed (package or user) on this machine: remove it first")
	}
	deb := glob(t, "bellhop_*_*.deb")
	t.Cleanup(func() {
		exec.Command(dpkg, "--purge", "bellhop").Run()
		exec.Command("userdel", "bellhop").Run()
		exec.Command("groupdel", "bellhop").Run()
		os.RemoveAll("/var/lib/bellhop")
		os.RemoveAll("/etc/bellhop")
	})
	run(t, dpkg, "-i", deb)

	if out := run(t, "/usr/bin/bellhop", "version"); !strings.Contains(out, version) {
		t.Errorf("bellhop version: %q, want %s", out, version)
	}
	wantFile(t, "/usr/bin/bellhop", false, 0o755, "root", "root")
	wantFile(t, "/etc/bellhop", true, 0o750, "root", "bellhop")
	wantFile(t, "/etc/bellhop/agent.yaml", false, 0o640, "root", "bellhop")
	wantFile(t, "/etc/bellhop/hub.env", false, 0o640, "root", "bellhop")
	for _, dir := range []string{"/var/lib/bellhop", "/var/lib/bellhop/hub", "/var/lib/bellhop/agent"} {
		wantFile(t, dir, true, 0o750, "bellhop", "bellhop")
	}
	passwd := strings.Split(strings.TrimSpace(run(t, "getent", "passwd", "bellhop")), ":")
	if len(passwd) != 7 || passwd[5] != "/var/lib/bellhop" || !strings.HasSuffix(passwd[6], "nologin") {
		t.Errorf("bellhop user: %q, want a system user with home /var/lib/bellhop and no shell", passwd)
	}
	for name, spec := range service.PackageUnits() {
		path := "/usr/lib/systemd/system/" + name
		wantFile(t, path, false, 0o644, "root", "root")
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := service.Unit(spec); string(got) != string(want) {
			t.Errorf("%s is not the template's unit:\n%s", path, got)
		}
		if out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
		}
	}
	// The example configuration is one the agent takes.
	if out, err := exec.Command("/usr/bin/bellhop", "agent", "install", "--print", "--config", "/etc/bellhop/agent.yaml").CombinedOutput(); err != nil {
		t.Errorf("agent install --print with the shipped example: %v\n%s", err, out)
	}

	run(t, dpkg, "--purge", "bellhop")
	for _, gone := range []string{"/usr/bin/bellhop", "/usr/lib/systemd/system/bellhop-hub.service", "/etc/bellhop/agent.yaml"} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after purge: %v", gone, err)
		}
	}
}

// The .rpm holds the same files.
func TestRPM(t *testing.T) {
	rpm := need(t, "rpm")
	files := strings.Fields(run(t, rpm, "-qlp", glob(t, "bellhop-*.rpm")))
	for _, want := range []string{"/usr/bin/bellhop", "/etc/bellhop/agent.yaml", "/etc/bellhop/hub.env",
		"/usr/lib/systemd/system/bellhop-hub.service", "/usr/lib/systemd/system/bellhop-agent.service"} {
		if !slices.Contains(files, want) {
			t.Errorf("rpm lacks %s: %q", want, files)
		}
	}
	if scripts := run(t, rpm, "-qp", "--scripts", glob(t, "bellhop-*.rpm")); !strings.Contains(scripts, "useradd --system") {
		t.Errorf("rpm scripts do not create the user:\n%s", scripts)
	}
}

// The image runs bellhop serve as the bellhop user, exposes the port, keeps
// its data in a volume, and its binary runs.
func TestImage(t *testing.T) {
	tarball := glob(t, "bellhop-hub_*.oci.tar")
	dir := t.TempDir()
	run(t, "tar", "-xf", tarball, "-C", dir)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("index: %v %v", im, err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/usr/bin/bellhop", "serve"}) || cf.OS != "linux" {
		t.Errorf("user %q entrypoint %q os %s", c.User, c.Entrypoint, cf.OS)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/var/lib/bellhop"]; !ok || !slices.Contains(c.Env, "BELLHOP_ADDR=0.0.0.0:8080") {
		t.Errorf("volumes %v env %v", c.Volumes, c.Env)
	}

	// The files as the container sees them.
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]*tar.Header{}
	bin := filepath.Join(t.TempDir(), "bellhop")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.TrimSuffix(h.Name, "/")] = h
		if h.Name == "usr/bin/bellhop" {
			f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	if h := seen["var/lib/bellhop"]; h == nil || h.Uid != 65532 || h.Mode&0o777 != 0o750 {
		t.Errorf("data dir %+v, want 0750 owned by 65532", h)
	}
	if h := seen["etc/passwd"]; h == nil {
		t.Error("no /etc/passwd")
	}
	if cf.Architecture == runtime.GOARCH {
		if out := run(t, bin, "version"); !strings.Contains(out, version) {
			t.Errorf("the image's bellhop version: %q", out)
		}
	}

	// docker load, where a docker daemon answers.
	if exec.Command("docker", "info").Run() != nil {
		t.Log("no docker daemon: docker load not tried")
		return
	}
	run(t, "docker", "load", "-i", tarball)
}
