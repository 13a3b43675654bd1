//go:build !(linux || darwin || freebsd)

package wasm

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator is wazero's default on systems without mmap.
var memoryAllocator experimental.MemoryAllocator
