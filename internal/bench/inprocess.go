package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/bellhop/bellhop/internal/node"
)

// startHub starts the hub that cfg.Hub describes in this process and points
// cfg at it: its addresses, a fresh admin token, its usage read from this
// process. The benchmark needs no rate limit and no socket cap, so both are
// off whatever cfg.Hub says; an empty DataDir is a temporary directory,
// removed by stop.
func startHub(ctx context.Context, cfg *Config) (stop func(), err error) {
	// Both ends of every socket live in this process.
	limit, err := RaiseFileLimit()
	if err != nil {
		cfg.Logger.Warn("bench: cannot raise the open files limit", "err", err)
	}
	if need := uint64(2*cfg.Agents + 2*cfg.MaxInFlight + 256); limit > 0 && need > limit {
		return nil, fmt.Errorf("bench: %d agents need about %d open files in one process, the limit is %d: "+
			"run the hub separately (bellhop serve --rate-limit=-1) and use Target", cfg.Agents, need, limit)
	}
	hcfg := cfg.Hub
	var cleanup []func()
	stop = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	if hcfg.DataDir == "" && hcfg.Database == "" {
		tmp, err := os.MkdirTemp("", "bellhop-bench-")
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(tmp) })
		hcfg.DataDir = tmp
	}
	hcfg.Addr, hcfg.WSAddr, hcfg.RateLimit, hcfg.AdminToken = "127.0.0.1:0", "", -1, rand.Text()
	hcfg.Realtime.MaxSocketsPerSubscription = 1 << 20
	h, err := node.New(ctx, hcfg)
	if err != nil {
		stop()
		return nil, err
	}
	cleanup = append(cleanup, func() { h.Close() })
	hctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- h.Run(hctx) }()
	cleanup = append(cleanup, func() { cancel(); <-ran })

	cfg.Target, cfg.WebSocketAddress, cfg.AdminToken = h.PlatformAddress(), h.WebSocketAddress(), hcfg.AdminToken
	cfg.Usage, cfg.InProcess, cfg.Store = SelfUsage, true, storeName(hcfg)
	return stop, nil
}

// storeName names the store of an in-process hub for the report.
func storeName(hcfg node.Config) string {
	if hcfg.Database != "" {
		return "postgres"
	}
	sync := hcfg.Sync
	if sync == "" {
		sync = "normal"
	}
	return "sqlite (sync=" + sync + ")"
}
