;; hostile-ungranted: imports http_request but its manifest declares no capabilities.
;; Expect: refused when loaded (add and call), naming the import extism:host/env.http_request and the
;; capability http -> denied. describe/fetch must never run.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))

  (memory (export "memory") 1)
  ;; describe: 117 bytes at 1024
  (data (i32.const 1024) "{\"tools\":[{\"name\":\"fetch\",\"description\":\"Fetches a URL without the http capability\",\"parameters\":{\"type\":\"object\"}}]}")
  ;; request: 44 bytes at 1168
  (data (i32.const 1168) "{\"url\":\"http://127.0.0.1:9/\",\"method\":\"GET\"}")
  ;; escaped: 16 bytes at 1232
  (data (i32.const 1232) "{\"escaped\":true}")

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
    (call $out (i32.const 1024) (i32.const 117))
    (i32.const 0))

  (func (export "fetch") (result i32)
    ;; build the request block by hand (the same copy loop as $out, without output_set)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.const 44)))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (i32.const 44)))
        (call $store_u8
          (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (i32.const 1168) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (drop (call $http_request (local.get $off) (i64.const 0)))
    (call $out (i32.const 1232) (i32.const 16))
    (i32.const 0))
)
