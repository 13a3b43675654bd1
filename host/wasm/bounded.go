package wasm

import "sync"

// boundedBuffer keeps the first max bytes written to it and counts the rest. Writes never fail,
// so a guest writing to stdout in a loop is not tempted to retry forever.
type boundedBuffer struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - len(b.buf)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		b.buf = append(b.buf, p[:room]...)
	}
	b.dropped += int64(len(p) - room)
	return len(p), nil
}

// take returns what was kept and how much was dropped, and empties the buffer.
func (b *boundedBuffer) take() (string, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, d := string(b.buf), b.dropped
	b.buf, b.dropped = b.buf[:0], 0
	return s, d
}
