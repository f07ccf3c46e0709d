// Package browsertest drives the web console in a real headless Chromium
// against a whole hub (SQLite store, broker, console) started on port 0. It
// lives apart from package console because it starts the hub through
// internal/hubtest, which imports the console.
//
// The tests need Debian's chromium at /usr/bin/chromium (or $CHROMIUM); they
// skip without it, and fail when $CI is set. Screenshots of every page go to
// the test's temporary directory and, when set, to $BELLHOP_SCREENSHOTS.
package browsertest
