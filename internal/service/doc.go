// Package service runs bellhop under the operating system's service
// manager and installs it there.
//
// On Linux the manager is systemd: the units are Type=notify, so the
// program reports READY=1 once it has started (for the agent: its
// configuration loaded, its state directory locked, its workers running),
// WATCHDOG=1 at half the unit's WatchdogSec, and STOPPING=1 when asked to
// stop. The unit text comes from one embedded template (units/), used both
// by `bellhop agent install` and by the packages.
//
// On Windows the manager is the service control manager: Run serves the
// control requests (stop, shutdown, interrogate) through a handler whose
// logic lives in handler.go, free of Windows calls, so that it is tested on
// every system with a fake manager. A run that ends by itself, with or
// without an error, is reported as a failure so that the recovery actions
// set at install restart it.
//
// Elsewhere (macOS, a terminal) Run just runs the program.
package service
