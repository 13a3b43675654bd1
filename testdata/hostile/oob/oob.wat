;; hostile-oob: every host function handed offsets/lengths outside any block.
;; Expect: every tool fails (never {"escaped":true}) -> trap (out-of-block access ends the call);
;; the host process survives and the next call works. http_request must not reach the network.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))

  (memory (export "memory") 1)
  ;; describe: 1602 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"load_u8\",\"description\":\"Calls load_u8 out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"load_u64\",\"description\":\"Calls load_u64 out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"store_u8\",\"description\":\"Calls store_u8 out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"store_u64\",\"description\":\"Calls store_u64 out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"input_load_u8\",\"description\":\"Calls input_load_u8 out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"input_load_u64\",\"description\":\"Calls input_load_u64 out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"output_set\",\"description\":\"Calls output_set out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"error_set\",\"description\":\"Calls error_set out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"length\",\"description\":\"Calls length out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"free\",\"description\":\"Calls free out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"config_get\",\"description\":\"Calls config_get out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"var_get\",\"description\":\"Calls var_get out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"var_set\",\"description\":\"Calls var_set out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"http_request\",\"description\":\"Calls http_request out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"log_info\",\"description\":\"Calls log_info out of bounds\",\"parameters\":{\"type\":\"object\"}},{\"name\":\"unaligned_u64_edge\",\"description\":\"Reads a u64 straddling the end of an 8-byte block\",\"parameters\":{\"type\":\"object\"}}]}")
  ;; escaped: 16 bytes at 2656
  (data (i32.const 2656) "{\"escaped\":true}")

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
    (call $out (i32.const 1024) (i32.const 1602))
    (i32.const 0))

  ;; Each tool makes one host call with an offset/length outside every block, then - only if the
  ;; host let that through - sets the output {"escaped":true} and returns 0.

  (func (export "load_u8") (result i32)
    (drop (call $load_u8 (i64.const 0xFFFFFFFFFFFF)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "load_u64") (result i32)
    (drop (call $load_u64 (i64.const 0x10000000000)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "store_u8") (result i32)
    (call $store_u8 (i64.const 123456) (i32.const 0x41))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "store_u64") (result i32)
    (call $store_u64 (i64.const 0xFFFFFFFFFFFF) (i64.const -1))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "input_load_u8") (result i32)
    (drop (call $input_load_u8 (i64.const 0x10000000000)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "input_load_u64") (result i32)
    (drop (call $input_load_u64 (i64.const 0xFFFFFFFFFFFF)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "output_set") (result i32)
    (call $output_set (i64.const 123456) (i64.const 0x10000000000))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "error_set") (result i32)
    (call $error_set (i64.const 0xFFFFFFFFFFFF))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "length") (result i32)
    (drop (call $length (i64.const 123456)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "free") (result i32)
    (call $free (i64.const 0xFFFFFFFFFFFF))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "config_get") (result i32)
    (drop (call $config_get (i64.const 123456)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "var_get") (result i32)
    (drop (call $var_get (i64.const 0x10000000000)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "var_set") (result i32)
    (call $var_set (i64.const 123456) (i64.const 0xFFFFFFFFFFFF))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "http_request") (result i32)
    (drop (call $http_request (i64.const 0xFFFFFFFFFFFF) (i64.const 123456)))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  (func (export "log_info") (result i32)
    (call $log_info (i64.const 0x10000000000))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))

  ;; alloc(8), then an 8-byte read at offset+4: half of it past the end of the block.
  (func (export "unaligned_u64_edge") (result i32)
    (local $off i64)
    (local.set $off (call $alloc (i64.const 8)))
    (drop (call $load_u64 (i64.add (local.get $off) (i64.const 4))))
    (call $out (i32.const 2656) (i32.const 16))
    (i32.const 0))
)
