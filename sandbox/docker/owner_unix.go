//go:build unix && !linux

package docker

import (
	"errors"
	"syscall"
)

// processStart reports whether pid is a live process; the start time is not known here, so
// owners are compared by pid alone.
func processStart(pid int) (string, bool) {
	err := syscall.Kill(pid, 0)
	return "", err == nil || errors.Is(err, syscall.EPERM)
}
