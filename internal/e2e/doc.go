// Package e2e holds the hub's end-to-end tests: a whole hub on port 0 with a
// temporary database, driven through the public SDK, raw HTTP and raw
// WebSockets, one file per subject: connector (operations, data, paging,
// idempotency), visibility, realtime (events), expiry, abuse (tokens,
// bodies, slow clients, limits), tls, cluster and process (several nodes on
// PostgreSQL), ops (health, metrics, shutdown), spec (the documented
// examples). testdata/spec holds the documented example requests and
// responses of the Connector device API. The hubs come from internal/hubtest.
package e2e
