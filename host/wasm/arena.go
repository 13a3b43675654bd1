package wasm

import (
	"fmt"
	"math"
)

// arena is the scratch memory behind Extism's offset handles for one instance. Extism keeps it
// in a separate "kernel" module; we keep it in Go, which makes every load and store a bounds
// check on a slice instead of a call into another module. It is reset between calls.
//
// Offsets start at arenaBase so that 0 is never a valid handle (PDKs treat 0 as "none").
type arena struct {
	buf    []byte            // buf[:used] is allocated; offsets index buf directly
	blocks map[uint64]uint64 // block start -> length
	max    uint64            // bytes alloc may hand out per call
}

const (
	arenaBase = 8
	// arenaKeep is how much backing storage an idle instance keeps between calls.
	arenaKeep = 1 << 20
)

func newArena(max uint64) *arena {
	return &arena{buf: make([]byte, arenaBase, 4096), blocks: make(map[uint64]uint64, 8), max: max}
}

func (a *arena) reset() {
	if cap(a.buf) > arenaKeep {
		a.buf = make([]byte, arenaBase, 4096)
	}
	a.buf = a.buf[:arenaBase]
	clear(a.blocks)
}

// alloc returns the offset of n fresh zeroed bytes, aligned to 8 so load_u64 works on chunks.
func (a *arena) alloc(n uint64) (uint64, error) {
	start := uint64(len(a.buf))
	padded := (n + 7) &^ 7
	if n > math.MaxInt32 || start+padded-arenaBase > a.max {
		return 0, &limitError{limit: "memory_pages", detail: fmt.Sprintf("alloc of %d bytes exceeds the %d bytes of host memory a call may use", n, a.max)}
	}
	end := start + padded
	if end > uint64(cap(a.buf)) {
		grown := make([]byte, end, max(end, 2*uint64(cap(a.buf))))
		copy(grown, a.buf)
		a.buf = grown
	} else {
		a.buf = a.buf[:end]
		clear(a.buf[start:end])
	}
	a.blocks[start] = n
	return start, nil
}

// allocBytes copies data into a new block; empty data is the null handle 0.
func (a *arena) allocBytes(data []byte) (uint64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	off, err := a.alloc(uint64(len(data)))
	if err != nil {
		return 0, err
	}
	copy(a.buf[off:], data)
	return off, nil
}

func (a *arena) length(off uint64) (uint64, error) {
	n, ok := a.blocks[off]
	if !ok {
		return 0, fmt.Errorf("offset %d is not the start of a block the host allocated", off)
	}
	return n, nil
}

// block returns the bytes of the block starting at off (aliased, valid until reset).
func (a *arena) block(off uint64) ([]byte, error) {
	n, err := a.length(off)
	if err != nil {
		return nil, err
	}
	return a.buf[off : off+n], nil
}

// span returns n bytes at off, which must lie within one block.
func (a *arena) span(off, n uint64) ([]byte, error) {
	blockLen, err := a.length(off)
	if err != nil {
		return nil, err
	}
	if n > blockLen {
		return nil, fmt.Errorf("length %d is past the end of the %d-byte block at offset %d", n, blockLen, off)
	}
	return a.buf[off : off+n], nil
}

func (a *arena) free(off uint64) error {
	if off == 0 {
		return nil
	}
	n, ok := a.blocks[off]
	if !ok {
		return fmt.Errorf("offset %d is not the start of a block the host allocated", off)
	}
	delete(a.blocks, off)
	// Freeing the newest block gives its space back: the usual pattern (alloc a message, pass
	// it to a host function, free it) then runs in constant memory however often it repeats.
	if off+((n+7)&^7) == uint64(len(a.buf)) {
		a.buf = a.buf[:off]
	}
	return nil
}

func (a *arena) check(off, width uint64) error {
	if off < arenaBase || off > uint64(len(a.buf)) || uint64(len(a.buf))-off < width {
		return fmt.Errorf("offset %d (+%d bytes) is outside the host memory handed out (%d bytes)", off, width, len(a.buf)-arenaBase)
	}
	return nil
}
