package hub

import (
	"context"
	"fmt"
	"strings"

	"github.com/bellhop/bellhop"
	"github.com/bellhop/bellhop/internal/fault"
	"github.com/bellhop/bellhop/internal/reqlog"
)

// Faults on demand and the request log: what makes a hub the test double of
// an integration. Only admins reach them (the admin API's token, the
// console's admin role), and every change to faults is in the audit list.

var errNoFaults = bellhop.Errorf(bellhop.EUNAVAILABLE, "Faults are not available on this hub.")

// SetFault sets a fault on this node. Its scope (an integration or a
// subscription) must exist; without one it applies to every integration.
func (s *Service) SetFault(ctx context.Context, a Actor, spec fault.Spec) (fault.Spec, error) {
	if s.cfg.Faults == nil {
		return spec, errNoFaults
	}
	if spec.IntegrationID != "" {
		if _, err := get(ctx, spec.IntegrationID, "integration", s.store.GetIntegration); err != nil {
			return spec, scopeError(err, "IntegrationId")
		}
	}
	if spec.SubscriptionID != "" {
		if _, err := get(ctx, spec.SubscriptionID, "subscription", s.store.GetSubscription); err != nil {
			return spec, scopeError(err, "SubscriptionId")
		}
	}
	spec.ID, spec.CreatedUtc, spec.CreatedBy = "", s.Now(), a.Name
	set, err := s.cfg.Faults.Add(spec)
	if err != nil {
		return set, err
	}
	s.audit(ctx, a, bellhop.AuditFaultSet, set.ID, DescribeFault(set))
	return set, nil
}

// scopeError turns "not found" into the caller's invalid field.
func scopeError(err error, field string) error {
	if bellhop.ErrorCode(err) == bellhop.ENOTFOUND {
		return bellhop.Errorf(bellhop.EINVALID, "Invalid %s: not found", field)
	}
	return err
}

// ClearFault removes one fault; ENOTFOUND when there is none with this id.
func (s *Service) ClearFault(ctx context.Context, a Actor, id string) error {
	if s.cfg.Faults == nil {
		return errNoFaults
	}
	id, _ = bellhop.ParseID(id)
	if id == "" || !s.cfg.Faults.Remove(id) {
		return bellhop.Errorf(bellhop.ENOTFOUND, "Fault not found.")
	}
	s.audit(ctx, a, bellhop.AuditFaultCleared, id, "")
	return nil
}

// ClearFaults removes every fault and returns how many there were.
func (s *Service) ClearFaults(ctx context.Context, a Actor) int {
	if s.cfg.Faults == nil {
		return 0
	}
	n := s.cfg.Faults.Clear()
	if n > 0 {
		s.audit(ctx, a, bellhop.AuditFaultCleared, "", fmt.Sprintf("all %d", n))
	}
	return n
}

// Faults lists the faults set on this node with what they did so far.
func (s *Service) Faults() []fault.State { return s.cfg.Faults.List() }

// FaultFirings lists the last acts of faults, newest first: of one fault
// when faultID is not "", at most limit (0: all that are kept).
func (s *Service) FaultFirings(faultID string, limit int) ([]fault.Firing, error) {
	if faultID != "" {
		var ok bool
		if faultID, ok = bellhop.ParseID(faultID); !ok {
			return nil, bellhop.Invalid("faultId")
		}
	}
	if limit < 0 || limit > fault.MaxFirings {
		return nil, bellhop.Errorf(bellhop.EINVALID, "Invalid limit: from 1 to %d", fault.MaxFirings)
	}
	return s.cfg.Faults.Firings(faultID, limit), nil
}

// DescribeFault says in a line what a fault does, for the audit list and
// the console.
func DescribeFault(f fault.Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at rate %g, seed %d", f.Kind, f.Rate, f.Seed)
	switch {
	case f.SubscriptionID != "":
		fmt.Fprintf(&b, ", subscription %s", f.SubscriptionID)
	case f.IntegrationID != "":
		fmt.Fprintf(&b, ", integration %s", f.IntegrationID)
	default:
		b.WriteString(", every integration")
	}
	if len(f.Operations) > 0 {
		fmt.Fprintf(&b, ", on %s", strings.Join(f.Operations, " "))
	}
	if f.Status != 0 {
		fmt.Fprintf(&b, ", status %d", f.Status)
	}
	if f.Delay != 0 {
		fmt.Fprintf(&b, ", delay %s", f.Delay)
	}
	if f.CloseCode != 0 {
		fmt.Fprintf(&b, ", close code %d", f.CloseCode)
	}
	if f.Times != 0 {
		fmt.Fprintf(&b, ", at most %d times", f.Times)
	}
	return b.String()
}

// Requests lists the request log of this node. Ids in f are checked and
// made canonical; an unknown operation is EINVALID.
func (s *Service) Requests(f reqlog.Filter) ([]reqlog.Entry, bool, error) {
	for _, p := range []struct {
		v     *string
		field string
	}{{&f.IntegrationID, "integrationId"}, {&f.SubscriptionID, "subscriptionId"}, {&f.CommandID, "commandId"}} {
		id, err := optionalID(*p.v, p.field)
		if err != nil {
			return nil, false, err
		}
		*p.v = id
	}
	if f.Operation != "" && !bellhop.ValidOperation(f.Operation) {
		return nil, false, bellhop.Invalid("operation")
	}
	if f.Kind != "" && f.Kind != reqlog.KindRequest && f.Kind != reqlog.KindWebSocket {
		return nil, false, bellhop.Invalid("kind")
	}
	if f.Status != 0 && !(f.Status >= 1 && f.Status <= 5 || f.Status >= 100 && f.Status <= 599) {
		return nil, false, bellhop.Invalid("status")
	}
	if f.Limit < 0 || f.Limit > reqlog.MaxPage {
		return nil, false, bellhop.Errorf(bellhop.EINVALID, "Invalid limit: from 1 to %d", reqlog.MaxPage)
	}
	if s.cfg.Requests == nil {
		return nil, false, bellhop.Errorf(bellhop.EUNAVAILABLE, "The request log is off on this hub (serve --request-log 0).")
	}
	entries, more := s.cfg.Requests.List(f)
	return entries, more, nil
}

// RequestLogOn reports whether this node keeps a request log.
func (s *Service) RequestLogOn() bool { return s.cfg.Requests != nil }
