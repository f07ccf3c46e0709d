//go:build !unix

package sqlite

// vfs is SQLite's default here (unix-excl exists on Unix only).
const vfs = ""
