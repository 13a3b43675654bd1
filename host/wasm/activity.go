package wasm

import (
	"io/fs"
	"net/url"
	"strings"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/fsguard"
)

// maxActivityTarget bounds what one event keeps of a name a plugin supplied, so the recorder's
// queue is bounded in bytes as well as in events.
const maxActivityTarget = 512

// record hands one capability use to the plugin's activity sink; err is why it was refused or
// failed (nil: it was allowed and done).
func (in *instance) record(kind, op, target string, err error) {
	in.recordDetail(kind, op, target, "", err)
}

func (in *instance) recordDetail(kind, op, target, detail string, err error) {
	sink := in.plugin.spec.Activity
	if sink == nil {
		return
	}
	e := activity.Event{Plugin: in.plugin.spec.Name, Tool: in.tool, Session: in.session, Kind: kind, Op: op,
		Target: truncate(target, maxActivityTarget), Outcome: activity.OK, Detail: detail}
	if err != nil {
		ae := classify(kind, err)
		e.Outcome, e.Detail = outcomeOf(ae.Code), truncate(ae.Message, 200)
		in.refusalRecorded = in.refusalRecorded || e.Outcome != activity.Failed
	}
	sink.Record(e)
}

func outcomeOf(code abi.Code) string {
	switch code {
	case abi.CodeDenied:
		return activity.Denied
	case abi.CodeLimitExceeded:
		return activity.Limit
	}
	return activity.Failed
}

// recordCallLimit records a call that ended on a limit (time, memory, output) that no
// capability use recorded already.
func (in *instance) recordCallLimit(export string, ae *abi.Error) {
	if ae.Code != abi.CodeLimitExceeded || in.refusalRecorded || export == abi.ExportDescribe {
		return
	}
	in.record("limit", "call", export, ae)
}

// httpTarget is what an event keeps of a URL: host and path, never the query or fragment
// (which may carry keys).
func httpTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(not a URL)"
	}
	return u.Host + u.EscapedPath()
}

// observedFS records, for one instance, what its guest opens and changes in a mount when the
// plugin's activity is recorded, and tells the caller (activity.Notices) of a path that leaves
// the mount whether or not it is; the mount's own fsguard FS decides what is allowed.
type observedFS struct {
	experimentalsys.FS
	guard experimentalsys.FS // the mount's fsguard FS, which o.FS wraps
	in    *instance
	guest string // where the plugin sees the mount
}

// note records an operation on paths (two for a rename).
func (o observedFS) note(op string, errno experimentalsys.Errno, paths ...string) {
	if o.in.plugin.spec.Activity == nil && errno != escapeErrno {
		return // nothing is recorded, and only an escape is told
	}
	var err error
	if errno != 0 {
		err = fsError(errno)
	}
	targets := make([]string, len(paths))
	for i, p := range paths {
		targets[i] = guestPath(o.guest, p)
	}
	target := strings.Join(targets, " → ")
	if errno == escapeErrno {
		for i, p := range paths {
			if fsguard.Escapes(o.guard, p) {
				// fsguard refused a path that leads out of the mount: it lies outside the grant.
				err = &deniedError{capability: "fs", detail: outsideGrantsDetail}
				o.in.noteOutside(targets[i])
				break
			}
		}
	}
	o.in.record("fs", op, target, err)
}

func (o observedFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	f, errno := o.FS.OpenFile(path, flag, perm)
	if strings.Trim(path, "/.") == "" && errno == 0 {
		return f, errno // the mount itself, opened by the runtime: not the plugin's doing
	}
	op := "read"
	if flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR|experimentalsys.O_CREAT|experimentalsys.O_TRUNC) != 0 {
		op = "write"
	}
	o.note(op, errno, path)
	return f, errno
}

func (o observedFS) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	errno := o.FS.Mkdir(path, perm)
	o.note("mkdir", errno, path)
	return errno
}

func (o observedFS) Rename(from, to string) experimentalsys.Errno {
	errno := o.FS.Rename(from, to)
	o.note("rename", errno, from, to)
	return errno
}

func (o observedFS) Unlink(path string) experimentalsys.Errno {
	errno := o.FS.Unlink(path)
	o.note("delete", errno, path)
	return errno
}

func (o observedFS) Rmdir(path string) experimentalsys.Errno {
	errno := o.FS.Rmdir(path)
	o.note("delete", errno, path)
	return errno
}

// fsError classes a refused file operation: outside the mount or read-only is a denial;
// anything else (not found, not a directory…) the plugin's own error.
func fsError(errno experimentalsys.Errno) error {
	switch errno {
	case experimentalsys.EPERM, experimentalsys.EROFS, experimentalsys.EACCES:
		return &deniedError{capability: "fs", detail: errno.Error()}
	}
	return errno
}

// fsConfigFor is the instance's view of the plugin's mounts: writes counted against its
// limits, escapes told to the caller, and everything recorded when the plugin records activity.
func (p *Plugin) fsConfigFor(in *instance) wazero.FSConfig {
	if len(p.mounts) == 0 {
		return nil
	}
	cfg := wazero.NewFSConfig()
	for _, m := range p.mounts {
		fs := m.fs
		if m.writable {
			q := quotaFS{FS: fs, in: in, guest: m.guest}
			if m.data {
				q.data = p.data
			}
			fs = q
		}
		fs = observedFS{FS: fs, guard: m.fs, in: in, guest: m.guest}
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(fs, m.guest)
	}
	return cfg
}

type guardedMount struct {
	fs       experimentalsys.FS
	guest    string
	writable bool
	data     bool // inside {plugin_data}: counts toward data_bytes
}
