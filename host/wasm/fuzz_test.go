package wasm

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/netguard"
)

// FuzzHostFunctions drives every host function with arbitrary offsets, lengths and block
// contents, as a hostile guest would. A host function may refuse (return an error, which ends
// the guest's call) but must never panic, and must never hand out memory past its limit.
func FuzzHostFunctions(f *testing.F) {
	names := make([]string, 0, len(hostFuncs))
	for name := range hostFuncs {
		names = append(names, name)
	}
	sort.Strings(names)
	f.Add(uint8(0), uint64(8), uint64(8), []byte("hello"), []byte(`{}`))
	f.Add(uint8(3), uint64(1<<40), uint64(0), []byte(`{"url":"http://127.0.0.1:9/"}`), []byte(`{"a":1}`))
	f.Add(uint8(7), uint64(16), uint64(1<<63), []byte("HOSTILE_KEY"), []byte{})
	f.Add(uint8(11), uint64(0xFFFFFFFFFFFFFFFF), uint64(7), []byte{0xff, 0x00}, []byte("x"))

	httpClient, err := netguard.NewClient(netguard.Policy{Allow: []string{"127.0.0.1:9"}, MaxResponseBytes: 1024})
	if err != nil {
		f.Fatal(err)
	}
	limits := config.DefaultLimits()
	limits.MemoryPages = 16
	limits.OutputBytes = 4096
	p := &Plugin{
		spec: Spec{
			Name:    "fuzz",
			Granted: abi.Capabilities{Env: []string{"HOSTILE_KEY"}, KV: true, Log: true, HTTP: []string{"127.0.0.1:9"}},
			Env:     func(string) (string, bool, error) { return "value", true, nil },
			KV:      &mapKV{},
		},
		limits:     limits,
		http:       httpClient,
		logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		logLimiter: newTokenBucket(1000, 1000),
	}
	f.Fuzz(func(t *testing.T, fn uint8, a, b uint64, block, input []byte) {
		in := &instance{plugin: p, arena: newArena(uint64(limits.MemoryPages) * 65536)}
		in.begin(input)
		in.outputLimit = uint64(limits.OutputBytes)
		// Give the guest a block with fuzzed contents, so offsets near real data are exercised.
		off, err := in.arena.allocBytes(block)
		if err != nil {
			t.Fatal(err)
		}
		stack := []uint64{a, b}
		if a%3 == 0 {
			stack[0] = off + a%16
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = hostFuncs[names[int(fn)%len(names)]](in, ctx, stack)
		if used := uint64(len(in.arena.buf)); used > in.arena.max+arenaBase+8 {
			t.Fatalf("arena grew to %d bytes, past its %d limit", used, in.arena.max)
		}
		if uint64(len(in.output)) > in.outputLimit {
			t.Fatalf("output of %d bytes accepted past the %d limit", len(in.output), in.outputLimit)
		}
	})
}
