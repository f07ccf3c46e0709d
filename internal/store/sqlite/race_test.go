//go:build race

package sqlite_test

// raceEnabled: the race detector slows SQLite (Go code) about tenfold, so
// tests that only count pages run smaller.
const raceEnabled = true
