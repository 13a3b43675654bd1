//go:build linux || darwin || freebsd

package wasm

import (
	"sync"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryAllocator backs each instance's linear memory with its own anonymous mapping of the
// memory's maximum size, reserved but not committed. Growing is then free (no copy of the old
// memory into a new slice, as wazero's default allocator does on every memory.grow), pages the
// guest never touches are never resident, and closing an instance gives its memory back to
// the system at once instead of whenever the Go GC gets to it.
//
// The mapping is unmapped only from Free, which wazero calls when the module's resources are
// released: on the calling goroutine after the guest stopped, or when the instance is closed,
// which hermes does only for instances no call is using (see pool and Plugin.Close).
var memoryAllocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(newMappedMemory)

type mappedMemory struct {
	once sync.Once
	buf  []byte // the whole mapping; len is the maximum
}

func newMappedMemory(_, max uint64) experimental.LinearMemory {
	size := (max + 65535) &^ 65535
	buf, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil || size == 0 {
		return &heapMemory{max: max}
	}
	return &mappedMemory{buf: buf}
}

// heapMemory is the fallback when the address space cannot be reserved: a Go slice, copied on
// growth like wazero's default.
type heapMemory struct {
	buf []byte
	max uint64
}

func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	grown := make([]byte, size, min(m.max, max(size, 2*uint64(cap(m.buf)))))
	copy(grown, m.buf)
	m.buf = grown
	return m.buf
}

func (m *heapMemory) Free() { m.buf = nil }

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size]
}

func (m *mappedMemory) Free() {
	m.once.Do(func() { _ = syscall.Munmap(m.buf) })
}
