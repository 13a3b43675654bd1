;; compat-kernel: Extism kernel edge cases that published plugins rely on, each compared with
;; Extism's go-sdk by host/wasm's TestKernelEdgeCases.
;;   unit_ok     () -> ()  sets output "hi"                       -> "hi"
;;   unit_error  () -> ()  error_set("bad") and returns           -> error "bad"
;;   empty       () -> i32 output_set(0, 0), returns 0            -> empty output
;;   cleared     () -> i32 error_set("bad"), error_set(0), 0      -> "ok"
;;   zero_length () -> i32 output is length(0) as one byte        -> "\00"
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))

  (memory (export "memory") 1)
  (data (i32.const 1024) "hi")
  (data (i32.const 1040) "bad")
  (data (i32.const 1056) "ok")

  ;; $block copies len bytes at ptr into a fresh host block and returns its offset.
  (func $block (param $ptr i32) (param $len i32) (result i64)
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
    (local.get $off))

  (func (export "unit_ok")
    (call $output_set (call $block (i32.const 1024) (i32.const 2)) (i64.const 2)))

  (func (export "unit_error")
    (call $error_set (call $block (i32.const 1040) (i32.const 3))))

  (func (export "empty") (result i32)
    (call $output_set (i64.const 0) (i64.const 0))
    (i32.const 0))

  (func (export "cleared") (result i32)
    (call $error_set (call $block (i32.const 1040) (i32.const 3)))
    (call $error_set (i64.const 0))
    (call $output_set (call $block (i32.const 1056) (i32.const 2)) (i64.const 2))
    (i32.const 0))

  (func (export "zero_length") (result i32)
    (local $off i64)
    (local.set $off (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $off) (i32.wrap_i64 (call $length (i64.const 0))))
    (call $output_set (local.get $off) (i64.const 1))
    (i32.const 0))
)
