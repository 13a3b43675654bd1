package docker

import (
	"fmt"
	"unicode/utf8"

	"github.com/hermes-agent/hermes/sandbox"
)

// bounded holds a command's output in bounded memory, however much the command writes: the
// first bytes (enough for the head sandbox.CapOutput keeps) and a sliding window of the last
// ones (enough for its tail), plus the total size. Its result is what CapOutput would make of
// the whole output; when bytes were dropped in between, the count of cut characters is exact
// for valid UTF-8.
type bounded struct {
	limit     int    // in characters, > 0
	headRunes int    // characters CapOutput keeps from the start
	tailRunes int    // and from the end
	head      []byte // the first headCap bytes
	headCap   int
	tail      []byte // the bytes after head, of which the last tailCap are kept
	tailCap   int
	dropped   int64 // bytes dropped between head and tail
	runes     int64 // characters written in all (UTF-8 sequences started)
}

func newBounded(limit int) *bounded {
	if limit <= 0 {
		limit = sandbox.DefaultOutputLimit
	}
	head := limit * 4 / 10 // as CapOutput splits
	tail := limit - head
	return &bounded{
		limit: limit, headRunes: head, tailRunes: tail,
		headCap: (head + 1) * utf8.UTFMax, tailCap: (tail + 1) * utf8.UTFMax,
	}
}

func (b *bounded) Write(p []byte) {
	for _, c := range p {
		if c&0xC0 != 0x80 {
			b.runes++
		}
	}
	if room := b.headCap - len(b.head); room > 0 {
		n := min(room, len(p))
		b.head = append(b.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	if len(p) >= b.tailCap {
		b.dropped += int64(len(b.tail) + len(p) - b.tailCap)
		b.tail = append(b.tail[:0], p[len(p)-b.tailCap:]...)
		return
	}
	if len(b.tail)+len(p) > 2*b.tailCap { // slide the window
		keep := b.tailCap - len(p)
		b.dropped += int64(len(b.tail) - keep)
		b.tail = append(b.tail[:0], b.tail[len(b.tail)-keep:]...)
	}
	b.tail = append(b.tail, p...)
}

// result is the output, capped as sandbox.CapOutput caps it.
func (b *bounded) result() (string, bool) {
	if b.dropped == 0 {
		return sandbox.CapOutput(string(b.head)+string(b.tail), b.limit)
	}
	head := []rune(string(b.head))
	tailBytes := b.tail
	for len(tailBytes) > 0 && !utf8.RuneStart(tailBytes[0]) { // the window may start mid-character
		tailBytes = tailBytes[1:]
	}
	tail := []rune(string(tailBytes))
	head = head[:min(len(head), b.headRunes)]
	tail = tail[len(tail)-min(len(tail), b.tailRunes):]
	cut := b.runes - int64(len(head)) - int64(len(tail))
	return string(head) + fmt.Sprintf("\n[... %d characters cut ...]\n", cut) + string(tail), true
}
