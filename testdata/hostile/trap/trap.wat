;; hostile-trap: tools that crash the module.
;; Expect: every tool -> trap; the next call on the plugin works.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  (memory (export "memory") 1)
  ;; describe: 501 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"boom\",\"description\":\"Executes unreachable\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"divzero\",\"description\":\"Divides by zero\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"bad_call\",\"description\":\"call_indirect to a function of the wrong type\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"null_call\",\"description\":\"call_indirect through a null table entry\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"mem_oob\",\"description\":\"Loads past the end of linear memory\",\"parameters\":{\"type\":\"object\"}}]}")

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
    (call $out (i32.const 1024) (i32.const 501))
    (i32.const 0))

  (type $tool (func (result i32)))
  (type $other (func (param i64) (result i64)))

  ;; slot 0 stays null; slot 1 holds a function whose type is not $tool
  (table 2 funcref)
  (elem (i32.const 1) $wrong_type)
  (func $wrong_type (param i64) (result i64) (local.get 0))

  (func (export "boom") (result i32)
    (unreachable))

  (func (export "divzero") (result i32)
    (local $zero i32)
    (drop (i32.div_s (i32.const 1) (local.get $zero)))
    (i32.const 0))

  (func (export "bad_call") (result i32)
    (call_indirect (type $tool) (i32.const 1)))

  (func (export "null_call") (result i32)
    (call_indirect (type $tool) (i32.const 0)))

  (func (export "mem_oob") (result i32)
    (i32.load (i32.const 0xFFFFFFF0)))
)
