;; hostile-asksampling: a native hermes plugin (describe, no hyper-mcp exports) that imports
;; hyper-mcp's create_message without the sampling capability.
;; Expect: refused when loaded, naming extism:host/user.create_message and the capability
;; sampling -> denied (native plugins keep the strict import audit; only hyper-mcp and
;; Extism-convention modules get refusing stubs).
(module
  (import "extism:host/user" "create_message" (func $create_message (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "describe") (result i32) (i32.const 1))
  (func (export "ask") (result i32)
    (drop (call $create_message (i64.const 0)))
    (i32.const 0))
)
