/*
 * hermes.h — write hermes plugins in C.
 *
 * A single header: the host functions of hermes plugin ABI version 1 (see abi/README.md, the
 * contract) plus a few inline helpers for moving bytes between the plugin and the host.
 *
 * Build a plugin (Debian: clang, lld, wasi-libc, libclang-rt-dev-wasm32 — see
 * scripts/ensure-toolchains.sh):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -I path/to/sdk/c \
 *           -o myplugin.wasm myplugin.c
 *
 * -mexec-model=reactor makes a WASI reactor: it exports _initialize (run once per instance, it
 * runs C constructors) and no _start, which hermes refuses.
 *
 * Exports. Mark `describe` and every tool with HERMES_EXPORT("name"); each is `int32_t f(void)`:
 *
 *     HERMES_EXPORT("describe") int32_t describe(void) {
 *         return hermes_output_str("{\"tools\":[{\"name\":\"hello\",\"description\":\"Say hi\","
 *                                  "\"parameters\":{\"type\":\"object\"}}]}");
 *     }
 *     HERMES_EXPORT("hello") int32_t hello(void) {
 *         size_t len;
 *         char *args = hermes_input(&len);   // the JSON object of arguments, NUL-terminated
 *         if (!args) return hermes_error("out of memory");
 *         ...
 *         return hermes_output_str("\"hi\"");   // any JSON value; returns 0
 *     }
 *
 * A tool returns 0 after setting its output, or calls hermes_error (which returns 1) and returns
 * non-zero. Input is already validated against the tool's JSON Schema, but parse it carefully
 * anyway; for real JSON work vendor a small parser (cJSON, jsmn, … build fine for wasm32-wasi).
 *
 * Offsets. The uint64_t "offsets" the host functions take and return are handles into a scratch
 * memory the host keeps for the current call — not pointers into the plugin's linear memory. Data
 * crosses with the load_ and store_ functions (see hermes_host_alloc_bytes and hermes_host_read).
 * The host frees every block between calls, so freeing them is optional.
 *
 * Capabilities. Functions of a capability (http, env, kv, log, exec) are imported only if the
 * plugin actually calls them: the declarations below cost nothing, and wasm-ld drops imports that
 * no code reaches (unused static inline helpers are never emitted either). hermes refuses a module
 * that imports a function of a capability its plugin.toml does not list, so check with
 *
 *     wasm-objdump -x -j Import myplugin.wasm
 *
 * The raw imports are named extism_<name> after the Extism ABI the host speaks (plus hermes_exec);
 * the helpers are named hermes_<verb>.
 */
#ifndef HERMES_H
#define HERMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a function as the module export `name` (a tool, or "describe"). */
#define HERMES_EXPORT(name) __attribute__((export_name(name), visibility("default")))

#define HERMES_IMPORT_ENV(name) __attribute__((import_module("extism:host/env"), import_name(name)))
#define HERMES_IMPORT_USER(name) __attribute__((import_module("extism:host/user"), import_name(name)))

/* ---- Host functions, module extism:host/env, no capability needed --------------------------- */

/* Allocates a host block of len bytes; returns its offset. */
HERMES_IMPORT_ENV("alloc") uint64_t extism_alloc(uint64_t len);
/* Frees a block (optional: everything is freed after the call). */
HERMES_IMPORT_ENV("free") void extism_free(uint64_t offset);
/* Length of the block at offset; ends the call with an error if offset is not a block. */
HERMES_IMPORT_ENV("length") uint64_t extism_length(uint64_t offset);
/* Length of the block at offset; 0 if it is not a block. */
HERMES_IMPORT_ENV("length_unsafe") uint64_t extism_length_unsafe(uint64_t offset);
/* Reads one byte / eight bytes (little-endian) of host memory at offset. */
HERMES_IMPORT_ENV("load_u8") uint32_t extism_load_u8(uint64_t offset);
HERMES_IMPORT_ENV("load_u64") uint64_t extism_load_u64(uint64_t offset);
/* Writes one byte (the low 8 bits of value) / eight bytes of host memory at offset. */
HERMES_IMPORT_ENV("store_u8") void extism_store_u8(uint64_t offset, uint32_t value);
HERMES_IMPORT_ENV("store_u64") void extism_store_u64(uint64_t offset, uint64_t value);
/* The call's input (the tool's JSON arguments): its length, its block, and byte/word reads at an
 * index relative to its start. */
HERMES_IMPORT_ENV("input_length") uint64_t extism_input_length(void);
HERMES_IMPORT_ENV("input_offset") uint64_t extism_input_offset(void);
HERMES_IMPORT_ENV("input_load_u8") uint32_t extism_input_load_u8(uint64_t index);
HERMES_IMPORT_ENV("input_load_u64") uint64_t extism_input_load_u64(uint64_t index);
/* Sets the call's output to len bytes of the block at offset. */
HERMES_IMPORT_ENV("output_set") void extism_output_set(uint64_t offset, uint64_t len);
/* Sets the call's error message to the block at offset (then return non-zero). */
HERMES_IMPORT_ENV("error_set") void extism_error_set(uint64_t offset);

/* ---- capability env: listed settings/secrets ------------------------------------------------ */

/* Value of the setting whose name is the block key; 0 when it has no value. */
HERMES_IMPORT_ENV("config_get") uint64_t extism_config_get(uint64_t key);

/* ---- capability kv: the plugin's persistent key-value data ---------------------------------- */

/* Value stored under key, 0 if none. */
HERMES_IMPORT_ENV("var_get") uint64_t extism_var_get(uint64_t key);
/* Stores value under key; value 0 deletes. */
HERMES_IMPORT_ENV("var_set") void extism_var_set(uint64_t key, uint64_t value);

/* ---- capability http ------------------------------------------------------------------------ */

/* request: block with JSON {"url": "...", "method": "GET", "headers": {"k": "v"}}; body: 0 or a
 * block with the request body. Returns a block with the response body, 0 when empty. */
HERMES_IMPORT_ENV("http_request") uint64_t extism_http_request(uint64_t request, uint64_t body);
/* Status code of the last response. */
HERMES_IMPORT_ENV("http_status_code") int32_t extism_http_status_code(void);
/* Block with the last response's headers as a JSON object. */
HERMES_IMPORT_ENV("http_headers") uint64_t extism_http_headers(void);

/* ---- capability log ------------------------------------------------------------------------- */

HERMES_IMPORT_ENV("log_trace") void extism_log_trace(uint64_t message);
HERMES_IMPORT_ENV("log_debug") void extism_log_debug(uint64_t message);
HERMES_IMPORT_ENV("log_info") void extism_log_info(uint64_t message);
HERMES_IMPORT_ENV("log_warn") void extism_log_warn(uint64_t message);
HERMES_IMPORT_ENV("log_error") void extism_log_error(uint64_t message);
HERMES_IMPORT_ENV("get_log_level") int32_t extism_get_log_level(void);

/* ---- capability exec, module extism:host/user ----------------------------------------------- */

/* request: block with JSON {"command": "ls -la", "timeout_ms": 30000}; returns a block with JSON
 * {"exit_code": 0, "output": "..."}. */
HERMES_IMPORT_USER("hermes_exec") uint64_t hermes_exec(uint64_t request);

/* ---- Helpers -------------------------------------------------------------------------------- */

/* Copies len bytes into a new host block and returns its offset (0 when len is 0). */
static inline uint64_t hermes_host_alloc_bytes(const void *data, size_t len) {
    if (len == 0) return 0;
    const unsigned char *p = (const unsigned char *)data;
    uint64_t off = extism_alloc((uint64_t)len);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        extism_store_u64(off + i, w);
    }
    for (; i < len; i++) extism_store_u8(off + i, p[i]);
    return off;
}

/* Copies a NUL-terminated string (without the NUL) into a new host block. */
static inline uint64_t hermes_host_alloc_str(const char *s) {
    return hermes_host_alloc_bytes(s, strlen(s));
}

/* Copies the host block at offset into a new malloc'd buffer (caller frees), NUL-terminated for
 * convenience; *len (if not NULL) receives its length without the NUL. Returns NULL with *len = 0
 * when offset is 0 ("no value"), and NULL when out of memory. */
static inline char *hermes_host_read(uint64_t offset, size_t *len) {
    if (len) *len = 0;
    if (offset == 0) return NULL;
    uint64_t n64 = extism_length(offset);
    if (n64 >= SIZE_MAX) return NULL;
    size_t n = (size_t)n64;
    unsigned char *buf = (unsigned char *)malloc(n + 1);
    if (!buf) return NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = extism_load_u64(offset + i);
        memcpy(buf + i, &w, 8);
    }
    for (; i < n; i++) buf[i] = (unsigned char)extism_load_u8(offset + i);
    buf[n] = 0;
    if (len) *len = n;
    return (char *)buf;
}

/* Reads the whole call input (the tool's JSON arguments) into a new malloc'd, NUL-terminated
 * buffer (caller frees); *len (if not NULL) receives its length. NULL when out of memory. */
static inline char *hermes_input(size_t *len) {
    if (len) *len = 0;
    uint64_t n64 = extism_input_length();
    if (n64 >= SIZE_MAX) return NULL;
    size_t n = (size_t)n64;
    unsigned char *buf = (unsigned char *)malloc(n + 1);
    if (!buf) return NULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = extism_input_load_u64(i);
        memcpy(buf + i, &w, 8);
    }
    for (; i < n; i++) buf[i] = (unsigned char)extism_input_load_u8(i);
    buf[n] = 0;
    if (len) *len = n;
    return (char *)buf;
}

/* Sets the call's output to len bytes (a JSON value). Returns 0, so a tool can end with
 * `return hermes_output(buf, n);`. */
static inline int32_t hermes_output(const void *data, size_t len) {
    extism_output_set(hermes_host_alloc_bytes(data, len), (uint64_t)len);
    return 0;
}

/* Sets the call's output to a NUL-terminated string (a JSON value). Returns 0. */
static inline int32_t hermes_output_str(const char *s) {
    return hermes_output(s, strlen(s));
}

/* Sets the call's error message. Returns 1, so a tool can end with `return hermes_error("...");`.
 * The caller sees the message verbatim (error code tool_error). */
static inline int32_t hermes_error(const char *message) {
    if (!message || !*message) message = "error";
    extism_error_set(hermes_host_alloc_str(message));
    return 1;
}

/* ---- Capability helpers (importing what they call only when used) --------------------------- */

/* capability env: the value of a listed setting, malloc'd and NUL-terminated; NULL when unset. */
static inline char *hermes_config_get(const char *key, size_t *len) {
    return hermes_host_read(extism_config_get(hermes_host_alloc_str(key)), len);
}

/* capability kv: the value stored under key, malloc'd; NULL when absent. */
static inline char *hermes_var_get(const char *key, size_t *len) {
    return hermes_host_read(extism_var_get(hermes_host_alloc_str(key)), len);
}

/* capability kv: stores len bytes under key; len 0 deletes the key. */
static inline void hermes_var_set(const char *key, const void *value, size_t len) {
    extism_var_set(hermes_host_alloc_str(key), hermes_host_alloc_bytes(value, len));
}

/* capability log: writes a message to hermes' log. */
static inline void hermes_log_info(const char *message) { extism_log_info(hermes_host_alloc_str(message)); }
static inline void hermes_log_warn(const char *message) { extism_log_warn(hermes_host_alloc_str(message)); }
static inline void hermes_log_error(const char *message) { extism_log_error(hermes_host_alloc_str(message)); }

/* capability http: sends the request (JSON, see extism_http_request) with an optional body and
 * returns the response body, malloc'd (NULL when empty); *status receives the status code. */
static inline char *hermes_http(const char *request_json, const void *body, size_t body_len,
                                int32_t *status, size_t *len) {
    uint64_t res = extism_http_request(hermes_host_alloc_str(request_json),
                                       hermes_host_alloc_bytes(body, body_len));
    if (status) *status = extism_http_status_code();
    return hermes_host_read(res, len);
}

/* capability exec: runs {"command": ..., "timeout_ms": ...} and returns the result JSON
 * {"exit_code": N, "output": "..."}, malloc'd. */
static inline char *hermes_exec_json(const char *request_json, size_t *len) {
    return hermes_host_read(hermes_exec(hermes_host_alloc_str(request_json)), len);
}

#ifdef __cplusplus
}
#endif

#endif /* HERMES_H */
