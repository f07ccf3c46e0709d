package sqlite

import (
	"context"

	"github.com/bellhop/bellhop"
)

// CommandQuery exposes commandQuery to the tests' query plans.
func CommandQuery(f bellhop.CommandFilter) (string, []any) {
	q, args, _ := commandQuery(f)
	return q, args
}

// PurgeQuery is the statement of one purge batch, StatsQuery that of Stats.
const (
	PurgeQuery = purgeQuery
	StatsQuery = statsQuery
)

// Write runs fn as a write of its own, in a group like any other.
func (s *Store) Write(ctx context.Context, fn func() error) error {
	return s.write(ctx, func(*tx) error { return fn() })
}
