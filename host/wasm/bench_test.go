package wasm

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// echoInput is a 100-byte arguments object.
var echoInput = []byte(`{"message":"` + strings.Repeat("x", 100-len(`{"message":""}`)) + `"}`)

// echoModules are the same tool written three ways; each is benchmarked under hermes and under
// Extism's go-sdk (the anchor) in the same run.
var echoModules = []struct{ name, fixture string }{
	{"go-sdk-plugin", "testdata/echo"},
	{"go-pdk-plugin", "testdata/pdk/echo"},
	{"c-plugin", "sdk/c/example"},
}

// BenchmarkEchoCall compares a warm call of a 100-byte echo tool through hermes with the same
// module through extism go-sdk's Plugin.Call. Report: hermes ns/op ÷ extism ns/op.
func BenchmarkEchoCall(b *testing.B) {
	if len(echoInput) != 100 {
		b.Fatalf("input is %d bytes", len(echoInput))
	}
	for _, m := range echoModules {
		b.Run(m.name+"/hermes", func(b *testing.B) {
			p := load(b, newTestEngine(b), specFor(b, m.fixture))
			// Cancelable, as every caller's is (a turn, a request) and as the floor's is.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if _, err := p.Call(ctx, "echo", echoInput); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := p.Call(ctx, "echo", echoInput); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/extism-go-sdk", func(b *testing.B) {
			p := newExtismReference(b, specFor(b, m.fixture).Wasm, nil)
			if _, _, err := p.Call("echo", echoInput); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, _, err := p.Call("echo", echoInput); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThroughput measures calls per second with 1 and 2 concurrent callers on one plugin.
func BenchmarkThroughput(b *testing.B) {
	for _, m := range []struct{ name, fixture string }{{"go", "testdata/echo"}, {"c", "sdk/c/example"}} {
		for _, callers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/callers=%d", m.name, callers), func(b *testing.B) {
				spec := specFor(b, m.fixture)
				spec.MaxInstances = callers
				p := load(b, newTestEngine(b), spec)
				if err := p.Warm(context.Background(), callers); err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				per := b.N / callers
				b.ResetTimer()
				for range callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range per {
							if _, err := p.Call(context.Background(), "echo", echoInput); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(per*callers)/b.Elapsed().Seconds(), "calls/s")
			})
		}
	}
}

// BenchmarkInstanceMemory reports the resident memory each extra warm instance costs.
func BenchmarkInstanceMemory(b *testing.B) {
	for _, m := range []struct {
		name, fixture string
		extra         int // enough instances that their cost stands out of the process's noise
	}{{"go", "testdata/echo", 16}, {"c", "sdk/c/example", 256}} {
		extra := m.extra
		b.Run(m.name, func(b *testing.B) {
			var perInstance float64
			for range b.N {
				spec := specFor(b, m.fixture)
				spec.MaxInstances = extra + 1
				e := newTestEngine(b)
				p := load(b, e, spec)
				if err := p.Warm(context.Background(), 1); err != nil { // compile and the first instance
					b.Fatal(err)
				}
				before := rss(b)
				if err := p.Warm(context.Background(), extra+1); err != nil {
					b.Fatal(err)
				}
				// Each instance has also run a call, so its memory is touched as in use.
				var wg sync.WaitGroup
				for range extra + 1 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						p.Call(context.Background(), "echo", echoInput)
					}()
				}
				wg.Wait()
				perInstance = float64(rss(b)-before) / float64(extra)
				p.Close(context.Background())
			}
			b.ReportMetric(perInstance, "rss-bytes/instance")
		})
	}
}

// rss is this process's resident set size in bytes, after a GC that returns freed memory.
func rss(tb testing.TB) int64 {
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skip("no /proc/self/statm")
	}
	fields := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
