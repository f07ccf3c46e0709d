package sqlite

import "github.com/bellhop/bellhop"

// CommandQuery exposes commandQuery to the tests' query plans.
func CommandQuery(f bellhop.CommandFilter) (string, []any) {
	q, args, _ := commandQuery(f)
	return q, args
}

// PurgeQuery is the statement of one purge batch.
const PurgeQuery = purgeQuery
