package wasm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"

	"github.com/hermes-agent/hermes/abi"
)

// dataEntryBytes is what each file and directory in {plugin_data} counts toward data_bytes on
// top of its size: about what an inode and a directory entry cost, so that a million empty
// files are not free.
const dataEntryBytes = 4096

// dataUsage is the size of a plugin's {plugin_data} (data_bytes), shared by every instance of
// the plugin in this process. It is measured on the first write and kept up to date by the
// writes, truncations, creations and removals that go through the plugin's mounts.
type dataUsage struct {
	dir   string
	limit int64

	mu       sync.Mutex
	measured bool
	used     int64
}

// reserve adds n (which may be negative) to the usage; a positive n that would take it past
// the limit is refused and nothing is added.
func (u *dataUsage) reserve(n int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.measured {
		used, err := measureDir(u.dir)
		if err != nil {
			return fmt.Errorf("measure plugin data: %w", err)
		}
		u.used, u.measured = used, true
	}
	if n > 0 && u.used+n > u.limit {
		return &limitError{limit: abi.LimitDataBytes, detail: fmt.Sprintf(
			"the plugin's data directory would grow to %d bytes, more than the %d allowed", u.used+n, u.limit)}
	}
	u.used = max(0, u.used+n)
	return nil
}

// measureDir sums the sizes of the regular files under dir, plus dataEntryBytes for each
// entry. Symbolic links are not followed.
func measureDir(dir string) (int64, error) {
	var used int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if path == dir {
			return nil
		}
		used += dataEntryBytes
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			used += fi.Size()
		}
		return nil
	})
	return used, err
}

// quotaFS enforces, for one instance, fs_write_bytes on every writable mount and data_bytes on
// the mounts inside {plugin_data}. The mount's own fsguard FS decides what is allowed at all.
type quotaFS struct {
	experimentalsys.FS
	in    *instance
	data  *dataUsage // nil: the mount is not inside {plugin_data}
	guest string
}

// refuse records a write that a limit stopped: the call ends with limit_exceeded naming the
// limit (whatever the plugin does with the error), and the plugin's write fails with EIO.
func (q quotaFS) refuse(path string, err error) experimentalsys.Errno {
	in := q.in
	in.record("fs", "write", guestPath(q.guest, path), err)
	if in.failure == nil {
		in.failure = classify("fs", err)
	}
	return experimentalsys.EIO
}

// fileSize is the size of a regular file at path, 0 when there is none; ok is whether
// something (of any type) is there.
func (q quotaFS) fileSize(path string) (size int64, ok bool) {
	st, errno := q.FS.Lstat(path)
	if errno != 0 {
		return 0, false
	}
	if st.Mode.IsRegular() {
		return st.Size, true
	}
	return 0, true
}

func (q quotaFS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	write := flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR|experimentalsys.O_CREAT|experimentalsys.O_TRUNC) != 0
	if !write || q.data == nil {
		f, errno := q.FS.OpenFile(path, flag, perm)
		if errno != 0 || !write {
			return f, errno
		}
		return &quotaFile{File: f, fs: q, path: path}, 0
	}
	size, exists := q.fileSize(path)
	created := !exists && flag&experimentalsys.O_CREAT != 0
	if created {
		if err := q.data.reserve(dataEntryBytes); err != nil {
			return nil, q.refuse(path, err)
		}
	}
	f, errno := q.FS.OpenFile(path, flag, perm)
	switch {
	case errno != 0:
		if created {
			_ = q.data.reserve(-dataEntryBytes)
		}
		return nil, errno
	case flag&experimentalsys.O_TRUNC != 0 && size > 0:
		_ = q.data.reserve(-size)
	}
	return &quotaFile{File: f, fs: q, path: path}, 0
}

func (q quotaFS) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	if q.data == nil {
		return q.FS.Mkdir(path, perm)
	}
	if err := q.data.reserve(dataEntryBytes); err != nil {
		return q.refuse(path, err)
	}
	errno := q.FS.Mkdir(path, perm)
	if errno != 0 {
		_ = q.data.reserve(-dataEntryBytes)
	}
	return errno
}

func (q quotaFS) Unlink(path string) experimentalsys.Errno {
	if q.data == nil {
		return q.FS.Unlink(path)
	}
	size, _ := q.fileSize(path)
	errno := q.FS.Unlink(path)
	if errno == 0 {
		_ = q.data.reserve(-size - dataEntryBytes)
	}
	return errno
}

func (q quotaFS) Rmdir(path string) experimentalsys.Errno {
	errno := q.FS.Rmdir(path)
	if errno == 0 && q.data != nil {
		_ = q.data.reserve(-dataEntryBytes)
	}
	return errno
}

// Rename frees what a replaced file took.
func (q quotaFS) Rename(from, to string) experimentalsys.Errno {
	if q.data == nil {
		return q.FS.Rename(from, to)
	}
	size, replaced := q.fileSize(to)
	errno := q.FS.Rename(from, to)
	if errno == 0 && replaced {
		_ = q.data.reserve(-size - dataEntryBytes)
	}
	return errno
}

// quotaFile is a file opened for writing through a quotaFS.
type quotaFile struct {
	experimentalsys.File
	fs   quotaFS
	path string
}

// grow checks and reserves a write of n bytes that takes the file's end from size to end.
func (f *quotaFile) grow(n, size, end int64) (reserved int64, errno experimentalsys.Errno) {
	in := f.fs.in
	limit := in.plugin.limits.FSWriteBytes
	if in.written+n > limit {
		return 0, f.fs.refuse(f.path, &limitError{limit: abi.LimitFSWriteBytes, detail: fmt.Sprintf(
			"the call would write %d bytes, more than the %d allowed", in.written+n, limit)})
	}
	if f.fs.data != nil && end > size {
		if err := f.fs.data.reserve(end - size); err != nil {
			return 0, f.fs.refuse(f.path, err)
		}
		reserved = end - size
	}
	return reserved, 0
}

// settle accounts for a write of n bytes at off, for which reserved was set aside.
func (f *quotaFile) settle(n int, off, size, reserved int64) {
	f.fs.in.written += int64(n)
	if f.fs.data != nil && reserved > 0 {
		if grown := max(0, off+int64(n)-size); grown != reserved {
			_ = f.fs.data.reserve(grown - reserved)
		}
	}
}

// extent is the file's size and where a write at the current position starts.
func (f *quotaFile) extent() (size, off int64, errno experimentalsys.Errno) {
	if f.fs.data == nil {
		return 0, 0, 0 // only the byte count matters
	}
	var st sys.Stat_t
	if st, errno = f.File.Stat(); errno != 0 {
		return 0, 0, errno
	}
	if f.File.IsAppend() {
		return st.Size, st.Size, 0
	}
	off, errno = f.File.Seek(0, io.SeekCurrent)
	return st.Size, off, errno
}

func (f *quotaFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return f.File.Write(buf)
	}
	size, off, errno := f.extent()
	if errno != 0 {
		return 0, errno
	}
	reserved, errno := f.grow(int64(len(buf)), size, off+int64(len(buf)))
	if errno != 0 {
		return 0, errno
	}
	n, errno := f.File.Write(buf)
	f.settle(n, off, size, reserved)
	return n, errno
}

func (f *quotaFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if len(buf) == 0 || off < 0 {
		return f.File.Pwrite(buf, off)
	}
	size, _, errno := f.extent()
	if errno != 0 {
		return 0, errno
	}
	reserved, errno := f.grow(int64(len(buf)), size, off+int64(len(buf)))
	if errno != 0 {
		return 0, errno
	}
	n, errno := f.File.Pwrite(buf, off)
	f.settle(n, off, size, reserved)
	return n, errno
}

// Truncate counts growth as written bytes (a sparse gigabyte is still a gigabyte to every
// tool that reads the file) and gives back what shrinking frees.
func (f *quotaFile) Truncate(to int64) experimentalsys.Errno {
	st, errno := f.File.Stat()
	if errno != 0 || to < 0 {
		return f.File.Truncate(to)
	}
	var reserved int64
	if to > st.Size {
		if reserved, errno = f.grow(to-st.Size, st.Size, to); errno != 0 {
			return errno
		}
	}
	if errno = f.File.Truncate(to); errno != 0 {
		if reserved > 0 {
			_ = f.fs.data.reserve(-reserved)
		}
		return errno
	}
	switch {
	case to > st.Size:
		f.fs.in.written += to - st.Size
	case to < st.Size && f.fs.data != nil:
		_ = f.fs.data.reserve(to - st.Size)
	}
	return 0
}

// guestPath is where the plugin sees path of the mount at guest.
func guestPath(guest, path string) string {
	return strings.TrimSuffix(guest, "/") + "/" + strings.TrimLeft(path, "/")
}
