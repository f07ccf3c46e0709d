//go:build unix

package sqlite

// vfs is SQLite's unix-excl: the first connection takes one POSIX lock on
// the database file for the whole process, and the process's connections
// then lock among themselves in memory, with the WAL index in the heap
// instead of the -shm file. Without it every transaction took and dropped
// its WAL locks with fcntl calls on the -shm file, about six a commit (23
// system calls a command's lifecycle, a sixth of the hub's). Another
// process cannot open the database while the store has it open (see
// ErrInUse): a SQLite database serves one hub node.
const vfs = "unix-excl"
