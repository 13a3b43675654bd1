;; hostile-recursion: unbounded recursion with locals.
;; Expect: the call fails on stack exhaustion -> trap; the host survives.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  (memory (export "memory") 1)
  ;; describe: 91 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"deep\",\"description\":\"Recurses forever\",\"parameters\":{\"type\":\"object\"}}]}")

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
    (call $out (i32.const 1024) (i32.const 91))
    (i32.const 0))

  (func $rec (param $n i64) (result i64)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (i64.mul (local.get $n) (i64.const 3)))
    (local.set $b (i64.add (local.get $a) (i64.const 7)))
    (local.set $c (i64.xor (local.get $b) (local.get $n)))
    (local.set $d (i64.add (local.get $c) (i64.const 1)))
    ;; not a tail call: the result is used after the call returns
    (i64.add (call $rec (i64.add (local.get $n) (i64.const 1)))
             (i64.add (local.get $a) (i64.add (local.get $b) (i64.add (local.get $c) (local.get $d))))))

  (func (export "deep") (result i32)
    (drop (call $rec (i64.const 0)))
    (i32.const 0))
)
