package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// adminClient calls the hub's admin API, so that setup works against any
// hub (--target) and not only one in this process.
type adminClient struct {
	base  string
	token string
	hc    *http.Client
}

func (a *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/admin/v1/"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("admin API %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("admin API %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("admin API %s %s: decoding: %w", method, path, err)
		}
	}
	return nil
}

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
func setup(ctx context.Context, a *adminClient, cfg *Config, runID string, withProducers bool) (*topology, error) {
	var integ struct{ Id, ClientToken string }
	if err := a.do(ctx, "POST", "integrations", map[string]string{"Name": "bench agents " + runID}, &integ); err != nil {
		return nil, err
	}
	t := &topology{agentClientToken: integ.ClientToken, agents: make([]agentSpec, cfg.Agents)}
	err := parallel(ctx, cfg.Agents, setupWorkers, func(ctx context.Context, i int) error {
		var ent struct{ Id string }
		if err := a.do(ctx, "POST", "enterprises", map[string]string{"Name": fmt.Sprintf("bench %s hotel %d", runID, i)}, &ent); err != nil {
			return err
		}
		var sub struct{ Id, AccessToken string }
		if err := a.do(ctx, "POST", "subscriptions", map[string]any{"IntegrationId": integ.Id, "EnterpriseIds": []string{ent.Id}}, &sub); err != nil {
			return err
		}
		spec := agentSpec{enterpriseID: ent.Id, accessToken: sub.AccessToken}
		for d := 0; d < cfg.DevicesPerAgent; d++ {
			var dev struct{ Id string }
			if err := a.do(ctx, "POST", "devices", map[string]any{"EnterpriseId": ent.Id, "Type": "Printer",
				"Name": fmt.Sprintf("printer %d-%d", i, d), "Configuration": map[string]string{"PrinterName": "bench"}}, &dev); err != nil {
				return err
			}
			if err := a.do(ctx, "PUT", "subscriptions/"+sub.Id+"/devices/"+dev.Id, nil, nil); err != nil {
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
		var pi struct{ Id, ClientToken string }
		if err := a.do(ctx, "POST", "integrations", map[string]string{"Name": fmt.Sprintf("bench pms %s %d", runID, g)}, &pi); err != nil {
			return err
		}
		lo, hi := g*cfg.AgentsPerProducer, min((g+1)*cfg.AgentsPerProducer, cfg.Agents)
		var ents []string
		for _, ag := range t.agents[lo:hi] {
			ents = append(ents, ag.enterpriseID)
		}
		var sub struct{ Id, AccessToken string }
		if err := a.do(ctx, "POST", "subscriptions", map[string]any{"IntegrationId": pi.Id, "EnterpriseIds": ents}, &sub); err != nil {
			return err
		}
		p := producerSpec{clientToken: pi.ClientToken, accessToken: sub.AccessToken}
		for _, ag := range t.agents[lo:hi] {
			for _, d := range ag.devices {
				if err := a.do(ctx, "PUT", "subscriptions/"+sub.Id+"/devices/"+d, nil, nil); err != nil {
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
