;; hostile-cyclicschema: describe returns a tool whose parameters schema is a $ref cycle that
;; never moves into the arguments (validating against it overflowed the Go stack and killed the host).
;; Expect: install and load refuse it -> bad_plugin naming the cycle; the host keeps running.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  (memory (export "memory") 1)
  ;; describe: 223 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"loop\",\"description\":\"A tool whose schema refers to itself without end\",\"parameters\":{\"type\":\"object\",\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"}}}}]}")

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

  (func (export "loop") (result i32)
    (call $out (i32.const 1024) (i32.const 2))
    (i32.const 0))

  (func (export "describe") (result i32)
    (call $out (i32.const 1024) (i32.const 223))
    (i32.const 0))
)
