;; hostile-outputbomb: oversized outputs, unbounded host allocations, a stdout flood.
;; Expect: flood -> limit_exceeded (output_bytes; the length is also outside the 16-byte block), no 100 MB copy;
;; flood_alloc -> limit_exceeded (100 MiB block); alloc_loop -> limit_exceeded (memory, or timeout);
;; stdout -> succeeds with {} while the host keeps only a bounded prefix of stdout (or limit_exceeded: timeout).
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 2)
  ;; describe: 426 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"flood\",\"description\":\"Sets a 100 MB output from a 16-byte block\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"flood_alloc\",\"description\":\"Allocates 100 MiB and sets it as output\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"alloc_loop\",\"description\":\"Allocates 1 MiB blocks forever\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"stdout\",\"description\":\"Writes 100 MiB to standard output\",\"parameters\":{\"type\":\"object\"}}]}")
  ;; empty: 2 bytes at 1472
  (data (i32.const 1472) "{}")

  ;; $out copies len bytes at ptr (this module's memory) into a fresh host block and makes it the
  ;; call's output: alloc(len) -> store_u8 per byte -> output_set(offset, len).
  (func $out (param $ptr i32) (param $len i32)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8
          (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (call $output_set (local.get $off) (i64.extend_i32_u (local.get $len))))

  (func (export "describe") (result i32)
    (call $out (i32.const 1024) (i32.const 426))
    (i32.const 0))

  (func (export "flood") (result i32)
    (call $output_set (call $alloc (i64.const 16)) (i64.const 100000000))
    (i32.const 0))

  (func (export "flood_alloc") (result i32)
    (local $off i64)
    (local.set $off (call $alloc (i64.const 104857600)))
    (call $output_set (local.get $off) (i64.const 104857600))
    (i32.const 0))

  (func (export "alloc_loop") (result i32)
    ;; never frees; keeps going even if alloc returns 0
    (loop $l
      (drop (call $alloc (i64.const 1048576)))
      (br $l))
    (i32.const 0))

  ;; 1600 x fd_write(stdout, 64 KiB) = 100 MiB. The buffer is page 1 (65536..131071), filled
  ;; with 'A'; the iovec is at 0 (buf, len) and nwritten at 8. Errors from fd_write are ignored.
  (func (export "stdout") (result i32)
    (local $n i32)
    (memory.fill (i32.const 65536) (i32.const 0x41) (i32.const 65536))
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $l
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $n) (i32.const 1600))))
    (call $out (i32.const 1472) (i32.const 2))
    (i32.const 0))
)
