package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/sandbox"
)

// bounded must give what sandbox.CapOutput gives on the whole output, whatever the chunking.
func TestBoundedMatchesCapOutput(t *testing.T) {
	inputs := map[string]string{
		"empty":      "",
		"short":      "hello\n",
		"exact":      strings.Repeat("a", 100),
		"one over":   strings.Repeat("a", 101),
		"long ascii": "HEAD" + strings.Repeat("0123456789", 10_000) + "TAIL",
		"multibyte":  strings.Repeat("héllo wörld ✓ 日本語 ", 3_000),
		"emoji":      strings.Repeat("🙂x", 7_777),
	}
	for name, in := range inputs {
		for _, limit := range []int{1, 7, 100, 1000} {
			want, wantTrunc := sandbox.CapOutput(in, limit)
			for _, chunk := range []int{1, 3, 64, 4096, 1 << 20} {
				b := newBounded(limit)
				for i := 0; i < len(in); i += chunk {
					b.Write([]byte(in[i:min(len(in), i+chunk)]))
				}
				got, trunc := b.result()
				if got != want || trunc != wantTrunc {
					t.Errorf("%s, limit %d, chunks of %d: got %d chars (truncated %v), want %d (truncated %v)\n got  %.80q\n want %.80q",
						name, limit, chunk, len([]rune(got)), trunc, len([]rune(want)), wantTrunc, got, want)
				}
			}
		}
	}
}

func TestBoundedMemoryStaysBounded(t *testing.T) {
	b := newBounded(1000)
	chunk := []byte(strings.Repeat("z", 32<<10))
	for range 3200 { // 100 MiB
		b.Write(chunk)
	}
	if c := cap(b.head) + cap(b.tail); c > 64<<10 {
		t.Errorf("holds %d bytes of buffer for a limit of 1000 characters", c)
	}
	out, trunc := b.result()
	if !trunc || !strings.Contains(out, "[... 104856600 characters cut ...]") {
		t.Errorf("truncated %v, %.60q", trunc, out)
	}
}

func TestCaptureStripsWrapperLine(t *testing.T) {
	c := newCapture(100)
	out, errw := c.stdout(), c.stderr()
	out.Write([]byte("12"))
	errw.Write([]byte("e1 "))
	out.Write([]byte("3 456\nhello "))
	out.Write([]byte("world\n"))
	if pid, start := c.pidInfo(t.Context(), 0); pid != "123" || start != "456" {
		t.Errorf("pid %q start %q", pid, start)
	}
	if got, _ := c.result(); got != "e1 hello world\n" {
		t.Errorf("output %q", got)
	}
}

func TestCaptureWithoutWrapperLine(t *testing.T) {
	c := newCapture(100)
	c.stdout().Write([]byte("cannot exec in a stopped state: unknown\r\n"))
	if c.ran() {
		t.Error("a daemon error taken for the wrapper's line")
	}
	if got, _ := c.result(); got != "cannot exec in a stopped state: unknown\r\n" {
		t.Errorf("output %q", got)
	}
	if pid, _ := c.pidInfo(t.Context(), time.Second); pid != "" {
		t.Errorf("pid %q", pid)
	}
}
