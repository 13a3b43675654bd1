package activity

import (
	"context"
	"fmt"
	"sync"
)

// maxNotices bounds what one Notices keeps: a plugin looping over paths costs a counter.
const maxNotices = 8

// Notices collects, for whoever made a call (the CLI, a chat turn), the refusals the call met
// that the plugin's own result may not explain: a path outside every file grant reaches a Go
// plugin as EBADF ("Bad file number"), which says nothing about why. Safe for concurrent use.
type Notices struct {
	mu      sync.Mutex
	lines   []string
	omitted int
}

type noticesKey struct{}

// WithNotices returns ctx carrying a new Notices, which calls made with ctx add to.
func WithNotices(ctx context.Context) (context.Context, *Notices) {
	n := &Notices{}
	return context.WithValue(ctx, noticesKey{}, n), n
}

// NoticesOf is the Notices WithNotices put in ctx, or nil.
func NoticesOf(ctx context.Context) *Notices {
	n, _ := ctx.Value(noticesKey{}).(*Notices)
	return n
}

// Add keeps line once. A nil Notices ignores it.
func (n *Notices) Add(line string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.lines {
		if l == line {
			return
		}
	}
	if len(n.lines) >= maxNotices {
		n.omitted++
		return
	}
	n.lines = append(n.lines, line)
}

// Take returns the lines added since the last Take, and forgets them. When more came than are
// kept, a last line says how many were left out.
func (n *Notices) Take() []string {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	lines := n.lines
	if n.omitted > 0 {
		lines = append(lines, fmt.Sprintf("denied: %d more like these", n.omitted))
	}
	n.lines, n.omitted = nil, 0
	return lines
}
