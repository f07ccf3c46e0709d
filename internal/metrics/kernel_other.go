//go:build !linux

package metrics

// ReadKernel cannot tell on this system: ok is false.
func ReadKernel() (k Kernel, ok bool) { return k, false }
