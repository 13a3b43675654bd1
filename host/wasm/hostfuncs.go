package wasm

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/hermes-agent/hermes/abi"
)

// hostFunc is one host function's body. It reads its parameters from stack and writes its
// results back to it (wazero's allocation-free calling convention). A returned error ends the
// plugin's call: the wrapper records it and unwinds the guest.
type hostFunc func(in *instance, ctx context.Context, stack []uint64) error

// hostFuncs implements every function of abi.HostFuncs, by name.
var hostFuncs = map[string]hostFunc{
	"alloc": func(in *instance, _ context.Context, s []uint64) error {
		off, err := in.arena.alloc(s[0])
		s[0] = off
		return err
	},
	// As Extism's kernel, freeing what is not a live block (one a log function already freed,
	// as go-pdk's log helpers then free it again) does nothing.
	"free": func(in *instance, _ context.Context, s []uint64) error {
		_ = in.arena.free(s[0])
		return nil
	},
	"length":        kernelLength,
	"length_unsafe": kernelLength,
	"load_u8": func(in *instance, _ context.Context, s []uint64) error {
		if err := in.arena.check(s[0], 1); err != nil {
			return err
		}
		s[0] = uint64(in.arena.buf[s[0]])
		return nil
	},
	"load_u64": func(in *instance, _ context.Context, s []uint64) error {
		if err := in.arena.check(s[0], 8); err != nil {
			return err
		}
		s[0] = binary.LittleEndian.Uint64(in.arena.buf[s[0]:])
		return nil
	},
	"store_u8": func(in *instance, _ context.Context, s []uint64) error {
		if err := in.arena.check(s[0], 1); err != nil {
			return err
		}
		in.arena.buf[s[0]] = byte(s[1])
		return nil
	},
	"store_u64": func(in *instance, _ context.Context, s []uint64) error {
		if err := in.arena.check(s[0], 8); err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(in.arena.buf[s[0]:], s[1])
		return nil
	},
	"input_length": func(in *instance, _ context.Context, s []uint64) error {
		s[0] = uint64(len(in.input))
		return nil
	},
	"input_offset": func(in *instance, _ context.Context, s []uint64) error {
		// Extism PDKs that read input through load_u8 need it as a block; copy it lazily.
		if in.inputOff == 0 && len(in.input) > 0 {
			off, err := in.arena.allocBytes(in.input)
			if err != nil {
				return err
			}
			in.inputOff = off
		}
		s[0] = in.inputOff
		return nil
	},
	"input_load_u8": func(in *instance, _ context.Context, s []uint64) error {
		if s[0] >= uint64(len(in.input)) {
			return fmt.Errorf("input offset %d is past the %d-byte input", s[0], len(in.input))
		}
		s[0] = uint64(in.input[s[0]])
		return nil
	},
	"input_load_u64": func(in *instance, _ context.Context, s []uint64) error {
		if s[0] > uint64(len(in.input)) || uint64(len(in.input))-s[0] < 8 {
			return fmt.Errorf("input offset %d (+8 bytes) is past the %d-byte input", s[0], len(in.input))
		}
		s[0] = binary.LittleEndian.Uint64(in.input[s[0]:])
		return nil
	},
	"output_set": func(in *instance, _ context.Context, s []uint64) error {
		if s[1] > in.outputLimit {
			return &limitError{limit: abi.LimitOutputBytes, detail: fmt.Sprintf("output of %d bytes exceeds %d", s[1], in.outputLimit)}
		}
		if s[1] == 0 {
			in.output, in.outputSet = in.output[:0], true
			return nil
		}
		b, err := in.arena.span(s[0], s[1])
		if err != nil {
			return err
		}
		in.output, in.outputSet = append(in.output[:0], b...), true
		return nil
	},
	"error_set": func(in *instance, _ context.Context, s []uint64) error {
		if s[0] == 0 { // Extism's kernel: error_set(0) clears the error
			in.errMsg, in.errSet = "", false
			return nil
		}
		b, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		const maxErr = 16 << 10
		if len(b) > maxErr {
			b = b[:maxErr]
		}
		in.errMsg, in.errSet = string(b), true
		return nil
	},

	"config_get": func(in *instance, _ context.Context, s []uint64) (err error) {
		key, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		defer func() { in.record("env", "get", string(key), err) }()
		if v, ok := in.plugin.spec.Config[string(key)]; ok {
			s[0], err = in.arena.allocBytes([]byte(v))
			return err
		}
		if !slices.Contains(in.plugin.spec.Granted.Env, string(key)) {
			return &deniedError{capability: abi.CapEnv, detail: fmt.Sprintf("key %q is not granted to this plugin", truncate(string(key), 80))}
		}
		value, ok := "", false
		if in.plugin.spec.Env != nil {
			if value, ok, err = in.plugin.spec.Env(string(key)); err != nil {
				return err
			}
		}
		if !ok {
			s[0] = 0
			return nil
		}
		s[0], err = in.arena.allocBytes([]byte(value))
		return err
	},

	"var_get": func(in *instance, ctx context.Context, s []uint64) (err error) {
		key, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		defer func() { in.record("kv", "get", string(key), err) }()
		value, ok, err := in.plugin.spec.KV.Get(ctx, string(key))
		if err != nil {
			return fmt.Errorf("kv get: %w", err)
		}
		if !ok {
			s[0] = 0
			return nil
		}
		s[0], err = in.arena.allocBytes(value)
		return err
	},
	"var_set": func(in *instance, ctx context.Context, s []uint64) (err error) {
		key, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		op := "set"
		if s[1] == 0 {
			op = "delete"
		}
		defer func() { in.record("kv", op, string(key), err) }()
		if s[1] == 0 {
			return in.plugin.spec.KV.Delete(ctx, string(key))
		}
		value, err := in.arena.block(s[1])
		if err != nil {
			return err
		}
		return in.plugin.spec.KV.Set(ctx, string(key), value)
	},

	"http_request": func(in *instance, ctx context.Context, s []uint64) (err error) {
		reqJSON, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		var req abi.HTTPRequest
		if err := json.Unmarshal(reqJSON, &req); err != nil {
			return fmt.Errorf("request is not the JSON {\"url\": ..., \"method\": ...}: %w", err)
		}
		defer func() { in.record("http", strings.ToUpper(cmp.Or(req.Method, "GET")), httpTarget(req.URL), err) }()
		var body []byte
		if s[1] != 0 {
			if body, err = in.arena.block(s[1]); err != nil {
				return err
			}
		}
		resp, err := in.plugin.http.Do(ctx, req, body)
		if err != nil {
			return err
		}
		in.httpStatus = int32(resp.Status)
		// Header names in lower case, as go-sdk reports them.
		lower := make(map[string]string, len(resp.Headers))
		for k, v := range resp.Headers {
			lower[strings.ToLower(k)] = v
		}
		in.httpHeaders, _ = json.Marshal(lower)
		s[0], err = in.arena.allocBytes(resp.Body)
		return err
	},
	"http_status_code": func(in *instance, _ context.Context, s []uint64) error {
		s[0] = uint64(uint32(in.httpStatus))
		return nil
	},
	"http_headers": func(in *instance, _ context.Context, s []uint64) (err error) {
		s[0], err = in.arena.allocBytes(in.httpHeaders)
		return err
	},

	"log_trace": logAt(slog.LevelDebug - 4),
	"log_debug": logAt(slog.LevelDebug),
	"log_info":  logAt(slog.LevelInfo),
	"log_warn":  logAt(slog.LevelWarn),
	"log_error": logAt(slog.LevelError),
	"get_log_level": func(in *instance, ctx context.Context, s []uint64) error {
		// Extism's numbering: trace 0, debug 1, info 2, warn 3, error 4.
		level := uint64(2)
		if in.plugin.logger.Enabled(ctx, slog.LevelDebug) {
			level = 1
		}
		s[0] = level
		return nil
	},

	"hermes_exec": func(in *instance, ctx context.Context, s []uint64) (err error) {
		reqJSON, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		var req abi.ExecRequest
		if err := json.Unmarshal(reqJSON, &req); err != nil {
			return fmt.Errorf("request is not the JSON {\"command\": ...}: %w", err)
		}
		verdict := ""
		defer func() { in.recordDetail("exec", "run", req.Command, verdict, err) }()
		if in.plugin.spec.Exec == nil {
			return &deniedError{capability: abi.CapExec, detail: "no sandbox backend is configured for plugin commands"}
		}
		res, err := in.plugin.spec.Exec.Exec(ctx, in.plugin.spec.Name, req)
		if err != nil {
			return err
		}
		verdict = fmt.Sprintf("ran, exit code %d", res.ExitCode)
		out, err := json.Marshal(res)
		if err != nil {
			return err
		}
		s[0], err = in.arena.allocBytes(out)
		return err
	},
}

// kernelLength is Extism's length: 0 for the null handle 0 (what config_get, var_get and an
// empty HTTP body return; go-pdk asks its length before it checks for 0), else the block's.
func kernelLength(in *instance, _ context.Context, s []uint64) (err error) {
	if s[0] == 0 {
		return nil
	}
	s[0], err = in.arena.length(s[0])
	return err
}

const maxLogMessage = 4 << 10

func logAt(level slog.Level) hostFunc {
	return func(in *instance, ctx context.Context, s []uint64) error {
		msg, err := in.arena.block(s[0])
		if err != nil {
			return err
		}
		in.plugin.log(ctx, level, string(msg))
		return in.arena.free(s[0])
	}
}

// log writes a plugin's message to hermes' log, cut and rate-limited so a plugin cannot flood it.
func (p *Plugin) log(ctx context.Context, level slog.Level, msg string) {
	if !p.logger.Enabled(ctx, level) {
		return
	}
	dropped, ok := p.logLimiter.allow(time.Now())
	if !ok {
		return
	}
	attrs := []any{"plugin", p.spec.Name}
	if dropped > 0 {
		attrs = append(attrs, "dropped", dropped)
	}
	p.logger.Log(ctx, level, "plugin: "+truncate(msg, maxLogMessage), attrs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// buildHostModules defines, on r, exactly the host functions the plugin was granted.
// With inert set (while a plugin is described before the user granted anything), capability
// functions are linked so the module loads, but each one refuses.
func buildHostModules(ctx context.Context, r wazero.Runtime, spec Spec) error {
	inert := spec.Inert
	builders := map[string]wazero.HostModuleBuilder{}
	for _, f := range abi.HostFuncs {
		stub := f.Capability != "" && !spec.linkable(f.Capability)
		if stub && !spec.StubUngranted {
			continue
		}
		b := builders[f.Module]
		if b == nil {
			b = r.NewHostModuleBuilder(f.Module)
			builders[f.Module] = b
		}
		body := hostFuncs[f.Name]
		name := f.Name
		switch capability := f.Capability; {
		case stub:
			body = func(in *instance, _ context.Context, _ []uint64) error {
				err := &deniedError{capability: capability, detail: fmt.Sprintf("%s was not granted to this plugin (it imports %s, but the manifest does not declare the capability)", capability, name)}
				in.record(string(capability), name, "", err)
				return err
			}
		case inert && capability != "":
			body = func(*instance, context.Context, []uint64) error {
				return &deniedError{capability: capability, detail: "capabilities are not available until the plugin is added"}
			}
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
				in, ok := ctx.Value(instanceKey{}).(*instance)
				if !ok {
					panic(fmt.Errorf("hermes: host function %s called outside a plugin call", name))
				}
				if err := body(in, ctx, stack); err != nil {
					in.abort(name, err)
				}
			}), valueTypes(f.Params), valueTypes(f.Results)).
			WithName(name).
			Export(name)
	}
	for module, b := range builders {
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("link host module %s: %w", module, err)
		}
	}
	return nil
}

func valueTypes(ts []abi.ValueType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}
