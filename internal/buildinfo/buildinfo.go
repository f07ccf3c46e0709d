// Package buildinfo says which bellhop this is: the version, the commit it
// was built from, when that commit was made, and whether the tree had
// uncommitted changes. The hub and the agent print it (bellhop version),
// export it (the bellhop_build_info metric) and the agent sends it to the hub
// (its Client string). It imports only the standard library, so that the
// hub service may use it; buildmetric exports it to Prometheus.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/bellhop/bellhop/internal/buildinfo.Version=1.4.0".
// When it is not set, the version of the main module from the Go build info
// is used (v1.4.0 for `go install ...@v1.4.0`), else "dev".
var Version = ""

// Commit and Time may be set the same way, for builds that carry no VCS
// information (Go records none in a linked git worktree, with
// -buildvcs=false, or from a source archive); what Go recorded wins.
var (
	Commit = ""
	Time   = ""
)

// Info describes the running binary.
type Info struct {
	// Version is the -ldflags Version when set, else the module version,
	// else "dev".
	Version string
	// Commit is the VCS revision the binary was built from ("" when the build
	// had no VCS information, e.g. go run or -buildvcs=false).
	Commit string
	// Time is the commit's time (RFC 3339, "" when unknown). It is the
	// commit's, not the build's, so that a build can be reproduced.
	Time string
	// Modified says the working tree had uncommitted changes when built.
	Modified bool
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string
}

var (
	once sync.Once
	info Info
)

// Get returns the running binary's Info.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		info = FromBuildInfo(bi, Version)
		if info.Commit == "" {
			info.Commit, info.Time = Commit, Time
		}
	})
	return info
}

// FromBuildInfo derives an Info from Go build information (nil when there is
// none) and a version set at build time ("" when not set).
func FromBuildInfo(bi *debug.BuildInfo, version string) Info {
	in := Info{Version: version, GoVersion: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	return in
}

// ShortCommit is the commit's first 12 characters.
func (in Info) ShortCommit() string {
	if len(in.Commit) > 12 {
		return in.Commit[:12]
	}
	return in.Commit
}

// String is what `bellhop version` prints: the version on the first line,
// then one "key: value" line each.
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bellhop %s\n", in.Version)
	fmt.Fprintf(&b, "commit: %s\n", orUnknown(in.Commit))
	fmt.Fprintf(&b, "time: %s\n", orUnknown(in.Time))
	fmt.Fprintf(&b, "modified: %t\n", in.Modified)
	fmt.Fprintf(&b, "go: %s %s/%s\n", in.GoVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// AgentClient is the Client string the agent sends by default:
// "bellhop-agent/<version> (<host>)", without the host when it is unknown.
func AgentClient(host string) string {
	c := "bellhop-agent/" + Get().Version
	if host != "" {
		c += " (" + host + ")"
	}
	return c
}

// ParseAgentClient reads the version and host from a Client string that
// AgentClient made; ok is false for any other client.
func ParseAgentClient(client string) (version, host string, ok bool) {
	rest, found := strings.CutPrefix(client, "bellhop-agent/")
	if !found {
		return "", "", false
	}
	version, host, _ = strings.Cut(rest, " ")
	host = strings.TrimSuffix(strings.TrimPrefix(host, "("), ")")
	return version, host, version != ""
}
