//go:build !unix

package bench

import (
	"errors"
	"time"
)

func processCPU() (time.Duration, error) { return 0, errors.New("not supported on this system") }

// RaiseFileLimit does nothing on this system and reports no limit (0).
func RaiseFileLimit() (uint64, error) { return 0, nil }
