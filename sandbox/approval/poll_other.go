//go:build !unix

package approval

import (
	"context"
	"os"
	"time"
)

func readLinePoll(ctx context.Context, f *os.File, timeout time.Duration) (string, bool, error) {
	return "", false, nil
}
