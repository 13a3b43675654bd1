//go:build unix

package approval

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pollSlice is how often a poll wakes to look at the context.
const pollSlice = 100 * time.Millisecond

// readLinePoll reads one line from a blocking file (os.Stdin on a terminal, which has no read
// deadline), polling before each byte so that nothing is read after the timeout or a
// cancellation: the next line typed is left for whoever reads next. ok is false when f cannot
// be polled; nothing was read then.
func readLinePoll(ctx context.Context, f *os.File, timeout time.Duration) (line string, ok bool, err error) {
	fd := f.Fd() // an *os.File without a read deadline is in blocking mode already
	deadline := time.Now().Add(timeout)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	var buf []byte
	for {
		for {
			if err := ctx.Err(); err != nil {
				return "", true, err
			}
			left := time.Until(deadline)
			if left <= 0 {
				return "", true, errTimeout
			}
			fds[0].Revents = 0
			n, err := unix.Poll(fds, int(min(left, pollSlice)/time.Millisecond)+1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				if len(buf) == 0 && errors.Is(err, unix.EINVAL) {
					return "", false, nil // not pollable (e.g. some special files)
				}
				return string(buf), true, err
			}
			if n > 0 {
				if fds[0].Revents&unix.POLLNVAL != 0 {
					if len(buf) == 0 {
						return "", false, nil // a device poll does not support
					}
					return string(buf), true, os.ErrClosed
				}
				break // readable, hung up or in error: the read says which
			}
		}
		var b [1]byte
		n, err := f.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return string(buf), true, nil
			}
			if len(buf) < maxAnswer+1 {
				buf = append(buf, b[0])
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return string(buf), true, io.EOF
			}
			return string(buf), true, err
		}
	}
}
