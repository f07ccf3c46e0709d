package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ConnectedDevicesSQL is the query of ConnectedDevices, for TestConnectedDevicesPlan.
const ConnectedDevicesSQL = connectedDevices

// ConnConfig is the configuration of the store's connections, for
// TestLoopbackPlain.
var ConnConfig = connConfig

// Plans returns, for each statement prepared on one of the pool's
// connections, how many times PostgreSQL planned it anew (custom plans) and
// how many times it ran a cached plan (generic), for TestHotWritesKeepPlans.
func (s *Store) Plans(ctx context.Context) (map[string][2]int64, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	rows, _ := conn.Query(ctx, `SELECT statement, custom_plans, generic_plans FROM pg_prepared_statements`)
	plans := map[string][2]int64{}
	var text string
	var custom, generic int64
	_, err = pgx.ForEachRow(rows, []any{&text, &custom, &generic}, func() error {
		plans[text] = [2]int64{custom, generic}
		return nil
	})
	return plans, err
}

// NotifyExistingSQL and WriteSetupSQL are statements of the group commit,
// for TestNotifyExistingPlan.
const (
	NotifyExistingSQL = notifyExisting
	WriteSetupSQL     = writeSetupSQL
)
