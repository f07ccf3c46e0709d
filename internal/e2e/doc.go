// Package e2e holds the hub's end-to-end tests: a whole hub on port 0 with a
// temporary database, driven through the public SDK, raw HTTP and raw
// WebSockets. testdata/spec holds the documented example requests and
// responses of the Connector device API.
package e2e
