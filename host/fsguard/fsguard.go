// Package fsguard serves one host directory to a WASI guest so that nothing the guest names can
// reach outside it: not "..", not an absolute path, not a symbolic link (to a file or a
// directory, as the last path component or an intermediate one) that points outside.
//
// It is a security boundary. wazero's own sysfs.DirFS joins guest paths onto a host path and lets
// the kernel resolve them, so a symlink planted inside the mount leads outside it. Here every path
// is resolved by os.Root, which opens one component at a time relative to a directory descriptor
// and refuses any step, symlink target included, that would leave the root. Nothing is ever
// looked up by a host path name.
package fsguard

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// New opens dir as an os.Root and returns a wazero experimental sys.FS (github.com/tetratelabs/wazero/experimental/sys) over it.
// writable=false: every mutation (create, write, truncate, mkdir, rename, unlink, rmdir, chmod, utimens) fails with EROFS (or EBADF for writes on an fd opened read-only); reads work.
// writable=true: reads and writes work, but creating symlinks and hard links is refused (EPERM) so a guest cannot plant a link for the user to trip on later.
// The returned io.Closer closes the os.Root.
//
// Close it only after every module using the FS is closed: wazero opens a preopen lazily and
// panics if that open fails with anything but ENOENT (EBADF, once the root is closed).
func New(dir string, writable bool) (experimentalsys.FS, io.Closer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return &guardFS{root: root, writable: writable}, root, nil
}

type guardFS struct {
	experimentalsys.UnimplementedFS
	root     *os.Root
	writable bool
}

var _ experimentalsys.FS = (*guardFS)(nil)

// rel turns a path wazero hands over into one os.Root accepts. wazero passes paths relative to
// the mount, but also "" or "/" for the mount itself, and "/name" when the guest resolves a path
// against a descriptor it opened as "." (wazero records that descriptor's name as "" and joins
// with "/"). A leading slash therefore means the root, never the host's "/". Nothing else needs
// cleaning: os.Root handles "..", "." and repeated slashes itself, and refuses escapes.
func rel(name string) string {
	for len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	if name == "" {
		return "."
	}
	return name
}

// pathErrno maps an error from an os.Root method. os.Root reports an escape as a plain error
// ("path escapes from parent"), which UnwrapOSError would turn into EIO; WASI uses EPERM for
// paths outside a preopen, and so do we.
func pathErrno(err error) experimentalsys.Errno {
	if escaped(err) {
		return experimentalsys.EPERM
	}
	return experimentalsys.UnwrapOSError(err)
}

// escaped reports whether err, from an os.Root method, is its refusal of a path that leaves the
// root: a plain error, neither a syscall's errno nor one UnwrapOSError knows.
func escaped(err error) bool {
	var se syscall.Errno
	return err != nil && !errors.As(err, &se) && experimentalsys.UnwrapOSError(err) == experimentalsys.EIO
}

// Escapes reports whether path, as wazero hands it to fsys (an FS from [New]), leads out of
// the root, through ".." or a symbolic link: what EPERM from fsys means, unless the host itself
// refused the operation with EPERM (say, unlinking another user's file in a sticky directory)
// or it was a link fsys never makes. False for any other FS.
func Escapes(fsys experimentalsys.FS, path string) bool {
	g, ok := fsys.(*guardFS)
	if !ok {
		return false
	}
	_, err := g.root.Stat(rel(path))
	return escaped(err)
}

// OpenFile implements experimentalsys.FS.
func (g *guardFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	name := rel(path)
	write := flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR) != 0
	if !g.writable && (write || flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC) != 0) {
		return nil, experimentalsys.EROFS
	}

	// os.Root follows a symlink in the last component even when asked for O_NOFOLLOW (it only
	// guarantees the target stays inside), so both flags are checked before opening. A race that
	// swaps the entry afterwards can only lead to another file inside the root.
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		if fi, err := g.root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, experimentalsys.ELOOP
		}
	}
	if flag&experimentalsys.O_DIRECTORY != 0 {
		// Checked before opening so that a FIFO named by mistake does not block the open.
		fi, err := g.root.Stat(name)
		if err != nil {
			return nil, pathErrno(err)
		}
		if !fi.IsDir() {
			return nil, experimentalsys.ENOTDIR
		}
	}

	oflag := osFlag(flag)
	f, err := g.root.OpenFile(name, oflag, perm&fs.ModePerm)
	if err != nil {
		return nil, pathErrno(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, experimentalsys.UnwrapOSError(err)
	}
	if !fi.IsDir() {
		return &file{fs: g, name: name, flag: oflag, f: f, st: sys.NewStat_t(fi)}, 0
	}

	// A directory is reopened through its own os.Root, so that Readdir can stat entries
	// relative to the directory's descriptor (os.File.Readdir would lstat "<dir name>/<entry>"
	// by host path, which follows whatever that name points to by now) and a rewind reopens
	// the directory itself, not whatever its name now leads to.
	f.Close()
	d, err := g.root.OpenRoot(name)
	if err != nil {
		return nil, pathErrno(err)
	}
	if f, err = d.Open("."); err == nil {
		fi, err = f.Stat()
	}
	if err != nil {
		d.Close()
		return nil, experimentalsys.UnwrapOSError(err)
	}
	return &file{fs: g, name: name, flag: os.O_RDONLY, f: f, dir: d, st: sys.NewStat_t(fi)}, 0
}

// osFlag translates the flags os.Root can apply. O_APPEND is kept so appends are atomic.
// O_DIRECTORY and O_NOFOLLOW are enforced by OpenFile; O_NONBLOCK and O_RSYNC mean nothing for
// regular files and directories; O_DSYNC is served by the stronger O_SYNC.
func osFlag(flag experimentalsys.Oflag) int {
	var o int
	switch {
	case flag&experimentalsys.O_RDWR != 0:
		o = os.O_RDWR
	case flag&experimentalsys.O_WRONLY != 0:
		o = os.O_WRONLY
	default:
		o = os.O_RDONLY
	}
	for _, m := range []struct {
		sys experimentalsys.Oflag
		os  int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
		{experimentalsys.O_SYNC | experimentalsys.O_DSYNC, os.O_SYNC},
	} {
		if flag&m.sys != 0 {
			o |= m.os
		}
	}
	return o
}

// Lstat implements experimentalsys.FS. Intermediate symlinks are followed (inside the root
// only); the last component is not.
func (g *guardFS) Lstat(path string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := g.root.Lstat(rel(path))
	if err != nil {
		return sys.Stat_t{}, pathErrno(err)
	}
	return sys.NewStat_t(fi), 0
}

// Stat implements experimentalsys.FS.
func (g *guardFS) Stat(path string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := g.root.Stat(rel(path))
	if err != nil {
		return sys.Stat_t{}, pathErrno(err)
	}
	return sys.NewStat_t(fi), 0
}

// Readlink implements experimentalsys.FS. The target is returned as stored, even when it points
// outside the root: reading it reveals a host path but following it is refused.
func (g *guardFS) Readlink(path string) (string, experimentalsys.Errno) {
	dst, err := g.root.Readlink(rel(path))
	if err != nil {
		return "", pathErrno(err)
	}
	return dst, 0
}

// Mkdir implements experimentalsys.FS.
func (g *guardFS) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	return pathErrno(g.root.Mkdir(rel(path), perm&fs.ModePerm))
}

// Chmod implements experimentalsys.FS. Only permission bits are passed on: a guest may not set
// setuid, setgid or sticky bits on the user's files.
func (g *guardFS) Chmod(path string, perm fs.FileMode) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	return pathErrno(g.root.Chmod(rel(path), perm&fs.ModePerm))
}

// Rename implements experimentalsys.FS. Like os.Rename, it refuses to replace an existing
// directory (EEXIST). A regular file renamed over another takes the replaced file's permission
// bits, as an editor's save does: WASI preview 1 cannot chmod, and a file created by a guest is
// 0600, so an atomic replace (temporary file, then rename) would otherwise drop a script's
// executable bit and make shared files private.
func (g *guardFS) Rename(from, to string) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	src, dst := rel(from), rel(to)
	if old, err := g.root.Lstat(dst); err == nil && old.Mode().IsRegular() {
		if fi, err := g.root.Lstat(src); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != old.Mode().Perm() {
			if err := g.root.Chmod(src, old.Mode().Perm()); err != nil {
				return pathErrno(err)
			}
		}
	}
	return pathErrno(g.root.Rename(src, dst))
}

// Rmdir implements experimentalsys.FS. os.Root has only Remove, which removes either kind, so
// the kind is checked first (a symlink to a directory is not a directory here).
func (g *guardFS) Rmdir(path string) experimentalsys.Errno {
	return g.remove(path, true)
}

// Unlink implements experimentalsys.FS.
func (g *guardFS) Unlink(path string) experimentalsys.Errno {
	return g.remove(path, false)
}

func (g *guardFS) remove(path string, dir bool) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	name := rel(path)
	fi, err := g.root.Lstat(name)
	switch {
	case err != nil:
		return pathErrno(err)
	case dir && !fi.IsDir():
		return experimentalsys.ENOTDIR
	case !dir && fi.IsDir():
		return experimentalsys.EISDIR
	}
	return pathErrno(g.root.Remove(name))
}

// Link implements experimentalsys.FS: always refused, so a guest cannot leave links behind.
func (g *guardFS) Link(_, _ string) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	return experimentalsys.EPERM
}

// Symlink implements experimentalsys.FS: always refused. os.Root would store any target,
// including one outside the root, for the user's own tools to follow later.
func (g *guardFS) Symlink(_, _ string) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	return experimentalsys.EPERM
}

// Utimens implements experimentalsys.FS, following a final symlink (inside the root only).
func (g *guardFS) Utimens(path string, atim, mtim int64) experimentalsys.Errno {
	if !g.writable {
		return experimentalsys.EROFS
	}
	return pathErrno(g.root.Chtimes(rel(path), toTime(atim), toTime(mtim)))
}

// toTime converts a wazero timestamp; UTIME_OMIT becomes the zero time, which os.Chtimes leaves
// unchanged.
func toTime(nanos int64) time.Time {
	if nanos == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, nanos)
}
