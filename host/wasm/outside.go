package wasm

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"

	"github.com/hermes-agent/hermes/abi"
)

// A path outside every file grant never reaches a mount, so neither fsguard nor observedFS sees
// it. A WASI guest resolves a path itself, against the directories it was given at start (the
// preopens): Go's wasip1 runtime, finding no preopen that holds the path, passes descriptor -1
// to path_open (and the other path_* functions), which wazero answers with EBADF — the user
// then reads "open /home/x/.env: Bad file number". The host sees that call, and the path in it,
// through a function listener on the WASI module: a path_* call that ends in EBADF named a
// directory descriptor the guest was never given, so its path lies outside every grant. It is
// recorded as a denial and told to the caller (activity.Notices).
//
// Guests built on wasi-libc (C, Rust, TinyGo, Zig) fail such a lookup inside the guest
// (ENOENT, or ENOTCAPABLE in older versions) without calling the host at all; those the host cannot see. A path that leaves
// a mount through ".." or a symbolic link does reach fsguard, which refuses it (EPERM), and
// observedFS tells it (and records it, when activity is recorded).

// outsideGrantsDetail is what a denial of a path outside every grant says.
const outsideGrantsDetail = "outside the plugin's file grants"

// maxProbedPath bounds what is read of a path the guest passed.
const maxProbedPath = 4096

// wasiEBADF is WASI's errno for a bad descriptor (the result of every WASI function is an errno).
const wasiEBADF = 8

// pathArgs says where a path_* function's directory descriptors and paths are among its
// parameters: pairs of (fd, ptr, len) indexes, and the op an event is recorded under.
type pathArgs struct {
	op    string
	paths [][3]int
	open  bool // path_open: a write when it creates, truncates or asks for the right to write
}

// path_open's oflags and rights (WASI preview 1).
const (
	wasiOCreat       = 1 << 0
	wasiOTrunc       = 1 << 3
	wasiRightFDWrite = 1 << 6
)

var wasiPathFuncs = map[string]pathArgs{
	"path_open":               {op: "read", paths: [][3]int{{0, 2, 3}}, open: true},
	"path_filestat_get":       {op: "stat", paths: [][3]int{{0, 2, 3}}},
	"path_filestat_set_times": {op: "write", paths: [][3]int{{0, 2, 3}}},
	"path_create_directory":   {op: "mkdir", paths: [][3]int{{0, 1, 2}}},
	"path_remove_directory":   {op: "delete", paths: [][3]int{{0, 1, 2}}},
	"path_unlink_file":        {op: "delete", paths: [][3]int{{0, 1, 2}}},
	"path_readlink":           {op: "read", paths: [][3]int{{0, 1, 2}}},
	"path_rename":             {op: "rename", paths: [][3]int{{0, 1, 2}, {3, 4, 5}}},
	"path_link":               {op: "link", paths: [][3]int{{0, 2, 3}, {4, 5, 6}}},
	"path_symlink":            {op: "link", paths: [][3]int{{2, 3, 4}}},
}

// withPathListener returns ctx with the listener that watches the WASI module's path_*
// functions; the module must be instantiated with it.
func withPathListener(ctx context.Context) context.Context {
	return experimental.WithFunctionListenerFactory(ctx, pathListenerFactory{})
}

type pathListenerFactory struct{}

func (pathListenerFactory) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() != abi.ModuleWASI {
		return nil
	}
	args, ok := wasiPathFuncs[def.Name()]
	if !ok {
		return nil
	}
	return &pathListener{args: args}
}

// pathListener keeps a path_* call's parameters in its instance until the call returns; WASI
// functions do not call back into the guest, so one slot per instance is enough. (wazero hands
// After the whole stack slice; the errno is its first value.)
type pathListener struct{ args pathArgs }

func (l *pathListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	if in, ok := ctx.Value(instanceKey{}).(*instance); ok {
		in.pathCall.n = copy(in.pathCall.params[:], params)
		in.pathCall.pending = true
	}
}

func (l *pathListener) After(ctx context.Context, mod api.Module, _ api.FunctionDefinition, results []uint64) {
	in, ok := ctx.Value(instanceKey{}).(*instance)
	if !ok || !in.pathCall.pending {
		return
	}
	in.pathCall.pending = false
	if len(results) == 0 || uint32(results[0]) != wasiEBADF || mod == nil {
		return
	}
	params := in.pathCall.params[:in.pathCall.n]
	var paths []string
	for _, p := range l.args.paths {
		if len(l.args.paths) > 1 && int32(params[p[0]]) != -1 {
			continue // of two paths, the one whose descriptor is -1 (Go) is the one outside
		}
		paths = append(paths, pathParam(mod, params, p))
	}
	if len(paths) == 0 {
		paths = append(paths, pathParam(mod, params, l.args.paths[0]))
	}
	op := l.args.op
	if l.args.open && (params[4]&(wasiOCreat|wasiOTrunc) != 0 || params[5]&wasiRightFDWrite != 0) {
		op = "write"
	}
	for _, path := range paths {
		in.outsideGrants(op, path)
	}
}

func (l *pathListener) Abort(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ error) {
	if in, ok := ctx.Value(instanceKey{}).(*instance); ok {
		in.pathCall.pending = false
	}
}

// pathCall is the path_* call an instance is in (see pathListener).
type pathCall struct {
	pending bool
	n       int
	params  [9]uint64 // path_open has the most
}

// pathParam is the path at p (fd, ptr, len) among params.
func pathParam(mod api.Module, params []uint64, p [3]int) string {
	if p[2] >= len(params) {
		return "?"
	}
	path := guestString(mod.Memory(), uint32(params[p[1]]), uint32(params[p[2]]))
	if int32(params[p[0]]) == -1 && !strings.HasPrefix(path, "/") {
		path = "/" + path // Go passes it relative to "/", the directory no preopen holds
	}
	return path
}

// guestString reads a path the guest passed, bounded, as valid UTF-8 ("?" when unreadable).
func guestString(mem api.Memory, ptr, n uint32) string {
	if mem == nil {
		return "?"
	}
	n = min(n, maxProbedPath)
	b, ok := mem.Read(ptr, n)
	if !ok {
		return "?"
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	return s
}

// outsideGrants records that the call named path, which no file grant holds, and tells the
// caller.
func (in *instance) outsideGrants(op, path string) {
	in.record("fs", op, path, &deniedError{capability: "fs", detail: outsideGrantsDetail})
	in.noteOutside(path)
}

// noteOutside tells the caller that the call named path, which no file grant holds.
func (in *instance) noteOutside(path string) {
	in.notices.Add("denied: " + truncate(path, maxActivityTarget) + " is " + outsideGrantsDetail)
}

// escapeErrno is the errno fsguard answers a path that leaves its mount with (".." past the
// mount, an absolute symbolic link, one that leads out).
const escapeErrno = experimentalsys.EPERM
