// Package faulttest proves the hub's promises under faults that a unit test
// cannot fake: it builds the real bellhop binary, runs `bellhop serve` as a
// process, loads it through HTTP and kills it with SIGKILL at random moments,
// then checks after every restart that nothing the hub acknowledged was lost
// and that no command's state went backwards.
//
// The normal run is sized for the test suite (a few kills per store); -soak
// runs many more:
//
//	go test ./internal/faulttest/ -run Crash -soak -v
package faulttest
