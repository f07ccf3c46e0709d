package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/bellhop/bellhop/client"
	"github.com/bellhop/bellhop/client/admin"
)

// topology is what setup created: agents with their own subscription and
// devices, and producers (one integration per group of agents, like a PMS
// per group of properties) connected to the same devices.
type topology struct {
	agentClientToken string
	agents           []agentSpec
	producers        []producerSpec
}

type agentSpec struct {
	enterpriseID string
	accessToken  string
	devices      []string
}

type producerSpec struct {
	clientToken string
	accessToken string
	devices     []deviceRef
}

type deviceRef struct {
	id           string
	enterpriseID string
	producer     int // index in topology.producers
}

// setup creates the topology through the admin API with a few requests in
// parallel. Producers are created only when withProducers is set.
func setup(ctx context.Context, a *admin.Client, cfg *Config, runID string, withProducers bool) (*topology, error) {
	integ, err := a.CreateIntegration(ctx, "bench agents "+runID)
	if err != nil {
		return nil, err
	}
	t := &topology{agentClientToken: integ.ClientToken, agents: make([]agentSpec, cfg.Agents)}
	err = parallel(ctx, cfg.Agents, setupWorkers, func(ctx context.Context, i int) error {
		ent, err := a.CreateEnterprise(ctx, fmt.Sprintf("bench %s hotel %d", runID, i))
		if err != nil {
			return err
		}
		sub, err := a.CreateSubscription(ctx, integ.Id, ent.Id)
		if err != nil {
			return err
		}
		spec := agentSpec{enterpriseID: ent.Id, accessToken: sub.AccessToken}
		for d := 0; d < cfg.DevicesPerAgent; d++ {
			dev, err := a.CreateDevice(ctx, admin.Device{EnterpriseId: ent.Id, Type: client.DeviceTypePrinter,
				Name: fmt.Sprintf("printer %d-%d", i, d), Configuration: admin.DeviceConfig{PrinterName: "bench"}})
			if err != nil {
				return err
			}
			if err := a.Connect(ctx, sub.Id, dev.Id); err != nil {
				return err
			}
			spec.devices = append(spec.devices, dev.Id)
		}
		t.agents[i] = spec
		return nil
	})
	if err != nil || !withProducers {
		return t, err
	}
	groups := (cfg.Agents + cfg.AgentsPerProducer - 1) / cfg.AgentsPerProducer
	t.producers = make([]producerSpec, groups)
	err = parallel(ctx, groups, setupWorkers, func(ctx context.Context, g int) error {
		pi, err := a.CreateIntegration(ctx, fmt.Sprintf("bench pms %s %d", runID, g))
		if err != nil {
			return err
		}
		lo, hi := g*cfg.AgentsPerProducer, min((g+1)*cfg.AgentsPerProducer, cfg.Agents)
		var ents []string
		for _, ag := range t.agents[lo:hi] {
			ents = append(ents, ag.enterpriseID)
		}
		sub, err := a.CreateSubscription(ctx, pi.Id, ents...)
		if err != nil {
			return err
		}
		p := producerSpec{clientToken: pi.ClientToken, accessToken: sub.AccessToken}
		for _, ag := range t.agents[lo:hi] {
			for _, d := range ag.devices {
				if err := a.Connect(ctx, sub.Id, d); err != nil {
					return err
				}
				p.devices = append(p.devices, deviceRef{id: d, enterpriseID: ag.enterpriseID, producer: g})
			}
		}
		t.producers[g] = p
		return nil
	})
	return t, err
}

// setupWorkers is how many setup requests run at once.
const setupWorkers = 16

// parallel runs fn(0..n-1) on up to workers goroutines and returns the first
// error; after an error the remaining items are skipped.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for w := 0; w < min(workers, n); w++ {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
