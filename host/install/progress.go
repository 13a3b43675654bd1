package install

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// bar is a one-line progress report on a terminal: rewritten in place with \r, finished with
// the time taken. Updates are throttled so a fast download does not flood the terminal.
type bar struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	shown bool
}

func newBar(w io.Writer, label string) *bar {
	b := &bar{w: w, label: label, start: time.Now()}
	fmt.Fprintf(w, "%s…", label)
	b.shown = true
	return b
}

// update is an oci.Options.Progress callback.
func (b *bar) update(done, total int64) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && done < total {
		return
	}
	b.last = now
	fmt.Fprintf(b.w, "\r%s… %s / %s", b.label, humanBytes(done), humanBytes(total))
}

func (b *bar) done() {
	if b.shown {
		fmt.Fprintf(b.w, "\r%s: done in %s\033[K\n", b.label, time.Since(b.start).Round(10*time.Millisecond))
		b.shown = false
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
