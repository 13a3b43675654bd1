package fsguard

import (
	"errors"
	"io"
	"io/fs"
	"os"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// file is an open file or directory. All I/O goes through the descriptor; the name is used only
// to reopen (SetAppend) and to set times (os.File has no futimens), both resolved through the
// root again, so a rename in between can at worst reach another file inside the root.
type file struct {
	experimentalsys.UnimplementedFile
	fs   *guardFS
	name string // relative to fs.root, as opened
	flag int    // os flags it was opened with
	f    *os.File
	dir  *os.Root   // set for a directory: f is dir's ".", entries are stat'ed relative to it
	st   sys.Stat_t // at open; Dev, Ino and type do not change while open
	done bool       // closed
}

var _ experimentalsys.File = (*file)(nil)

// Dev implements experimentalsys.File.
func (f *file) Dev() (uint64, experimentalsys.Errno) { return f.st.Dev, 0 }

// Ino implements experimentalsys.File.
func (f *file) Ino() (sys.Inode, experimentalsys.Errno) { return f.st.Ino, 0 }

// IsDir implements experimentalsys.File.
func (f *file) IsDir() (bool, experimentalsys.Errno) { return f.dir != nil, 0 }

// IsAppend implements experimentalsys.File.
func (f *file) IsAppend() bool { return f.flag&os.O_APPEND != 0 }

// SetAppend implements experimentalsys.File. O_APPEND cannot be changed on an open descriptor,
// so the file is reopened by name through the root and must turn out to be the same file.
func (f *file) SetAppend(enable bool) experimentalsys.Errno {
	switch {
	case f.done:
		return experimentalsys.EBADF
	case f.dir != nil:
		return experimentalsys.EISDIR
	case enable == f.IsAppend():
		return 0
	}
	flag := f.flag &^ (os.O_CREATE | os.O_EXCL | os.O_TRUNC | os.O_APPEND)
	if enable {
		flag |= os.O_APPEND
	}
	nf, err := f.fs.root.OpenFile(f.name, flag, 0)
	if err != nil {
		return pathErrno(err)
	}
	old, err1 := f.f.Stat()
	cur, err2 := nf.Stat()
	off, err3 := f.f.Seek(0, io.SeekCurrent)
	if err := errors.Join(err1, err2, err3); err != nil {
		nf.Close()
		return experimentalsys.UnwrapOSError(err)
	}
	if !os.SameFile(old, cur) {
		nf.Close()
		return experimentalsys.ENOENT // renamed or replaced since it was opened
	}
	if _, err := nf.Seek(off, io.SeekStart); err != nil {
		nf.Close()
		return experimentalsys.UnwrapOSError(err)
	}
	f.f.Close()
	f.f, f.flag = nf, flag
	return 0
}

// Stat implements experimentalsys.File.
func (f *file) Stat() (sys.Stat_t, experimentalsys.Errno) {
	fi, err := f.f.Stat()
	if err != nil {
		return sys.Stat_t{}, experimentalsys.UnwrapOSError(err)
	}
	return sys.NewStat_t(fi), 0
}

// Read implements experimentalsys.File.
func (f *file) Read(buf []byte) (int, experimentalsys.Errno) {
	if f.dir != nil {
		return 0, experimentalsys.EISDIR
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Read(buf)
	return n, experimentalsys.UnwrapOSError(err) // io.EOF maps to 0
}

// Pread implements experimentalsys.File.
func (f *file) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	switch {
	case f.dir != nil:
		return 0, experimentalsys.EISDIR
	case off < 0:
		return 0, experimentalsys.EINVAL
	case len(buf) == 0:
		return 0, 0
	}
	n, err := f.f.ReadAt(buf, off)
	return n, experimentalsys.UnwrapOSError(err)
}

// fileOffset is int64 under another name only so that go vet's stdmethods check, which wants any
// Seek(int64, int) to be io.Seeker's, does not flag the Seek that experimentalsys.File requires.
type fileOffset = int64

// Seek implements experimentalsys.File. The only seek on a directory is a rewind, done by
// reopening it through its own root: it works on every platform and lists entries created since.
func (f *file) Seek(offset fileOffset, whence int) (int64, experimentalsys.Errno) {
	if f.dir == nil {
		off, err := f.f.Seek(offset, whence)
		return off, experimentalsys.UnwrapOSError(err)
	}
	switch {
	case f.done:
		return 0, experimentalsys.EBADF
	case offset != 0 || whence != io.SeekStart:
		return 0, experimentalsys.EISDIR
	}
	nf, err := f.dir.Open(".")
	if err != nil {
		return 0, experimentalsys.UnwrapOSError(err)
	}
	f.f.Close()
	f.f = nf
	return 0, 0
}

// Readdir implements experimentalsys.File. Entries are stat'ed relative to the directory's own
// descriptor, for Dirent.Ino and a type that is never "unknown".
func (f *file) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if f.done || f.dir == nil {
		return nil, experimentalsys.EBADF
	}
	var out []experimentalsys.Dirent
	for {
		want := -1
		if n > 0 {
			want = n - len(out)
		}
		names, err := f.f.Readdirnames(want)
		for _, name := range names {
			fi, err := f.dir.Lstat(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since it was listed
			} else if err != nil {
				return out, pathErrno(err)
			}
			out = append(out, experimentalsys.Dirent{Name: name, Ino: sys.NewStat_t(fi).Ino, Type: fi.Mode().Type()})
		}
		if err != nil {
			return out, experimentalsys.UnwrapOSError(err) // io.EOF maps to 0
		}
		// Fewer than n entries tells wazero the directory is exhausted, so refill what was
		// skipped above unless the listing really ended.
		if n <= 0 || len(out) >= n || len(names) < want {
			return out, 0
		}
	}
}

// writeErr is the error for a write to f, or 0 if the descriptor allows one.
func (f *file) writeErr() experimentalsys.Errno {
	switch {
	case f.dir != nil:
		return experimentalsys.EISDIR
	case f.flag&(os.O_WRONLY|os.O_RDWR) == 0:
		return experimentalsys.EBADF
	}
	return 0
}

// Write implements experimentalsys.File.
func (f *file) Write(buf []byte) (int, experimentalsys.Errno) {
	if errno := f.writeErr(); errno != 0 {
		return 0, errno
	}
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.f.Write(buf)
	return n, experimentalsys.UnwrapOSError(err)
}

// Pwrite implements experimentalsys.File.
func (f *file) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	switch errno := f.writeErr(); {
	case errno != 0:
		return 0, errno
	case off < 0:
		return 0, experimentalsys.EINVAL
	case f.IsAppend():
		// os.File refuses WriteAt in append mode (Linux would silently append instead).
		return 0, experimentalsys.ENOTSUP
	case len(buf) == 0:
		return 0, 0
	}
	n, err := f.f.WriteAt(buf, off)
	return n, experimentalsys.UnwrapOSError(err)
}

// Truncate implements experimentalsys.File.
func (f *file) Truncate(size int64) experimentalsys.Errno {
	if errno := f.writeErr(); errno != 0 {
		return errno
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	return experimentalsys.UnwrapOSError(f.f.Truncate(size))
}

// Sync implements experimentalsys.File. Allowed on read-only descriptors and directories (as
// fsync is), since it changes nothing the guest could observe.
func (f *file) Sync() experimentalsys.Errno {
	return experimentalsys.UnwrapOSError(f.f.Sync())
}

// Datasync implements experimentalsys.File; os has no fdatasync, so it is a full Sync.
func (f *file) Datasync() experimentalsys.Errno { return f.Sync() }

// Utimens implements experimentalsys.File. A directory is reached through its own root; a file
// by its name through the root (os.File cannot set times by descriptor).
func (f *file) Utimens(atim, mtim int64) experimentalsys.Errno {
	switch {
	case f.done:
		return experimentalsys.EBADF
	case !f.fs.writable:
		return experimentalsys.EROFS
	case f.dir != nil:
		return pathErrno(f.dir.Chtimes(".", toTime(atim), toTime(mtim)))
	}
	return pathErrno(f.fs.root.Chtimes(f.name, toTime(atim), toTime(mtim)))
}

// Close implements experimentalsys.File. Closing twice is not an error.
func (f *file) Close() experimentalsys.Errno {
	if f.done {
		return 0
	}
	f.done = true
	if f.dir != nil {
		f.dir.Close()
	}
	return experimentalsys.UnwrapOSError(f.f.Close())
}
