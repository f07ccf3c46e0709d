package sqlite

import "github.com/bellhop/bellhop/internal/store"

// CommandQuery exposes commandQuery to the tests' query plans.
func CommandQuery(f store.Filter) (string, []any) {
	q, args, _ := commandQuery(f)
	return q, args
}

// PurgeQuery is the statement of one purge batch.
const PurgeQuery = purgeQuery
