;; hostile-command: a WASI command (exports _start) instead of a reactor.
;; Expect: loads and its tools run, as under Extism's go-sdk, without _start ever running (it
;; traps if it does).
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  (memory (export "memory") 1)
  ;; describe: 87 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"noop\",\"description\":\"Does nothing\",\"parameters\":{\"type\":\"object\"}}]}")
  ;; empty: 2 bytes at 1136
  (data (i32.const 1136) "{}")

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
    (call $out (i32.const 1024) (i32.const 87))
    (i32.const 0))

  (func (export "_start")
    unreachable)

  (func (export "noop") (result i32)
    (call $out (i32.const 1136) (i32.const 2))
    (i32.const 0))
)
