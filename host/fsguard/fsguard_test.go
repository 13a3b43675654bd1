package fsguard

import (
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// secretText is the content of a file outside the served directory; it must never be read.
const secretText = "TOP-SECRET-7f3a9c-must-never-reach-the-guest"

// fixture is a served directory ws next to a directory outside holding secret.txt, with links
// planted in ws as a user (or an earlier tool) might have left them:
//
//	ws/hello.txt, ws/sub/inner.txt           plain files
//	ws/link-to-secret      -> <abs>/outside/secret.txt
//	ws/rel-link-to-secret  -> ../outside/secret.txt
//	ws/dirlink             -> <abs>/outside
//	ws/rel-dirlink         -> ../outside
//	ws/sub/escape          -> ../../outside/secret.txt
//	ws/dangling            -> <abs>/outside/created.txt (does not exist)
//	ws/inlink              -> hello.txt        (inside: allowed)
//	ws/indirlink           -> sub              (inside: allowed)
//	ws/sub/up              -> ../hello.txt     (inside: allowed)
type fixture struct {
	ws, outside, secret string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	base := t.TempDir()
	f := fixture{ws: filepath.Join(base, "ws"), outside: filepath.Join(base, "outside")}
	f.secret = filepath.Join(f.outside, "secret.txt")
	for _, d := range []string{f.outside, filepath.Join(f.ws, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{
		f.secret:                             secretText,
		filepath.Join(f.ws, "hello.txt"):     "hello",
		filepath.Join(f.ws, "sub/inner.txt"): "inner",
	} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"link-to-secret":     f.secret,
		"rel-link-to-secret": "../outside/secret.txt",
		"dirlink":            f.outside,
		"rel-dirlink":        "../outside",
		"sub/escape":         "../../outside/secret.txt",
		"dangling":           filepath.Join(f.outside, "created.txt"),
		"inlink":             "hello.txt",
		"indirlink":          "sub",
		"sub/up":             "../hello.txt",
	} {
		if err := os.Symlink(target, filepath.Join(f.ws, link)); err != nil {
			t.Skipf("cannot create symlinks here: %v", err)
		}
	}
	return f
}

func (f fixture) open(t *testing.T, writable bool) experimentalsys.FS {
	t.Helper()
	g, closer, err := New(f.ws, writable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	return g
}

// snapshot describes everything under dir (without following links), to prove it unchanged.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		}
		m[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type op func(t *testing.T, g experimentalsys.FS, fx fixture) experimentalsys.Errno

// openOp opens name and, if that works, reads from it, failing the test if the secret shows up.
func openOp(name string, flag experimentalsys.Oflag) op {
	return func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
		f, errno := g.OpenFile(name, flag, 0o600)
		if errno != 0 {
			return errno
		}
		defer f.Close()
		if isDir, _ := f.IsDir(); isDir {
			dirents, _ := f.Readdir(-1)
			for _, d := range dirents {
				if d.Name == "secret.txt" {
					t.Errorf("listed the outside directory through %q", name)
				}
			}
			return 0
		}
		buf := make([]byte, 256)
		n, _ := f.Read(buf)
		if strings.Contains(string(buf[:n]), secretText) {
			t.Errorf("read the secret through %q", name)
		}
		return 0
	}
}

func TestEscapesAreRefused(t *testing.T) {
	const (
		rd = experimentalsys.O_RDONLY
		wr = experimentalsys.O_WRONLY
	)
	tests := []struct {
		name    string
		op      op
		mutates bool                  // read-only mode refuses it with EROFS before resolving the path
		want    experimentalsys.Errno // in writable mode
	}{
		{name: "open dotdot", op: openOp("../outside/secret.txt", rd), want: experimentalsys.EPERM},
		{name: "open bare dotdot", op: openOp("..", rd), want: experimentalsys.EPERM},
		{name: "open slash dotdot", op: openOp("/..", rd), want: experimentalsys.EPERM},
		{name: "open dotdot after a symlinked dir", op: openOp("indirlink/../../outside/secret.txt", rd), want: experimentalsys.EPERM},
		{name: "open absolute host path", op: func(t *testing.T, g experimentalsys.FS, fx fixture) experimentalsys.Errno {
			return openOp(fx.secret, rd)(t, g, fx) // taken as relative to the root, where it does not exist
		}, want: experimentalsys.ENOENT},
		{name: "open file symlink", op: openOp("link-to-secret", rd), want: experimentalsys.EPERM},
		{name: "open relative file symlink", op: openOp("rel-link-to-secret", rd), want: experimentalsys.EPERM},
		{name: "open nested relative symlink", op: openOp("sub/escape", rd), want: experimentalsys.EPERM},
		{name: "open through dir symlink", op: openOp("dirlink/secret.txt", rd), want: experimentalsys.EPERM},
		{name: "open through relative dir symlink", op: openOp("rel-dirlink/secret.txt", rd), want: experimentalsys.EPERM},
		{name: "list dir symlink", op: openOp("dirlink", rd|experimentalsys.O_DIRECTORY), want: experimentalsys.EPERM},
		{name: "list dir symlink without O_DIRECTORY", op: openOp("dirlink/", rd), want: experimentalsys.EPERM},
		{name: "stat file symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			_, errno := g.Stat("link-to-secret")
			return errno
		}, want: experimentalsys.EPERM},
		{name: "stat through dir symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			_, errno := g.Stat("dirlink/secret.txt")
			return errno
		}, want: experimentalsys.EPERM},
		{name: "lstat through dir symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			_, errno := g.Lstat("dirlink/secret.txt")
			return errno
		}, want: experimentalsys.EPERM},
		{name: "readlink dotdot", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			_, errno := g.Readlink("../outside")
			return errno
		}, want: experimentalsys.EPERM},
		{name: "create through dangling symlink", op: openOp("dangling", wr|experimentalsys.O_CREAT), mutates: true, want: experimentalsys.EPERM},
		{name: "truncate through file symlink", op: openOp("link-to-secret", wr|experimentalsys.O_TRUNC), mutates: true, want: experimentalsys.EPERM},
		{name: "create in dir symlink", op: openOp("dirlink/new.txt", wr|experimentalsys.O_CREAT), mutates: true, want: experimentalsys.EPERM},
		{name: "mkdir in dir symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Mkdir("dirlink/newdir", 0o755)
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "mkdir dotdot", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Mkdir("../newdir", 0o755)
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "rename into dir symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Rename("hello.txt", "dirlink/stolen.txt")
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "rename out of dir symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Rename("dirlink/secret.txt", "got.txt")
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "unlink through dir symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Unlink("dirlink/secret.txt")
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "rmdir dotdot", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Rmdir("../outside")
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "chmod file symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Chmod("link-to-secret", 0o777)
		}, mutates: true, want: experimentalsys.EPERM},
		{name: "utimens file symlink", op: func(t *testing.T, g experimentalsys.FS, _ fixture) experimentalsys.Errno {
			return g.Utimens("link-to-secret", 0, 0)
		}, mutates: true, want: experimentalsys.EPERM},
	}
	for _, writable := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(mode(writable)+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				g := f.open(t, writable)
				before := snapshot(t, f.outside)

				want := tt.want
				if tt.mutates && !writable {
					want = experimentalsys.EROFS
				}
				if got := tt.op(t, g, f); got != want {
					t.Errorf("errno = %v, want %v", got, want)
				}
				if after := snapshot(t, f.outside); !maps.Equal(before, after) {
					t.Errorf("outside directory changed:\nbefore %v\nafter  %v", before, after)
				}
				if _, err := os.Lstat(filepath.Join(f.ws, "hello.txt")); err != nil {
					t.Errorf("hello.txt moved: %v", err)
				}
			})
		}
	}
}

func mode(writable bool) string {
	if writable {
		return "rw"
	}
	return "ro"
}

// TestPathForms covers the path shapes wazero hands over, and symlinks that stay inside.
func TestPathForms(t *testing.T) {
	tests := []struct {
		name, path, want string // want is the content, or "" for a directory
	}{
		{name: "empty is the root", path: ""},
		{name: "dot is the root", path: "."},
		{name: "slash is the root", path: "/"},
		{name: "dot slash", path: "./"},
		{name: "trailing slash", path: "sub/"},
		{name: "plain", path: "hello.txt", want: "hello"},
		{name: "leading slash means the root", path: "/sub/inner.txt", want: "inner"},
		{name: "double slash", path: "sub//inner.txt", want: "inner"},
		{name: "dot component", path: "sub/./inner.txt", want: "inner"},
		{name: "dotdot that stays inside", path: "sub/../hello.txt", want: "hello"},
		{name: "file symlink inside", path: "inlink", want: "hello"},
		{name: "dir symlink inside", path: "indirlink/inner.txt", want: "inner"},
		{name: "relative symlink up but inside", path: "sub/up", want: "hello"},
		{name: "dir symlink inside as dir", path: "indirlink"},
	}
	g := newFixture(t).open(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errno := g.OpenFile(tt.path, experimentalsys.O_RDONLY, 0)
			if errno != 0 {
				t.Fatalf("OpenFile(%q): %v", tt.path, errno)
			}
			defer f.Close()
			isDir, _ := f.IsDir()
			if isDir != (tt.want == "") {
				t.Fatalf("IsDir = %v", isDir)
			}
			if isDir {
				return
			}
			if got := readAll(t, f); got != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if _, errno := g.Stat(tt.path); errno != 0 {
				t.Errorf("Stat(%q): %v", tt.path, errno)
			}
		})
	}
}

func readAll(t *testing.T, f experimentalsys.File) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 3) // small, to exercise repeated reads
	for {
		n, errno := f.Read(buf)
		if errno != 0 {
			t.Fatalf("Read: %v", errno)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func TestReadOnlyRefusesMutation(t *testing.T) {
	tests := []struct {
		name string
		op   func(g experimentalsys.FS) experimentalsys.Errno
	}{
		{"open write-only", func(g experimentalsys.FS) experimentalsys.Errno {
			_, errno := g.OpenFile("hello.txt", experimentalsys.O_WRONLY, 0)
			return errno
		}},
		{"open read-write", func(g experimentalsys.FS) experimentalsys.Errno {
			_, errno := g.OpenFile("hello.txt", experimentalsys.O_RDWR, 0)
			return errno
		}},
		{"create read-only", func(g experimentalsys.FS) experimentalsys.Errno {
			_, errno := g.OpenFile("new.txt", experimentalsys.O_RDONLY|experimentalsys.O_CREAT, 0o644)
			return errno
		}},
		{"truncate on open", func(g experimentalsys.FS) experimentalsys.Errno {
			_, errno := g.OpenFile("hello.txt", experimentalsys.O_RDONLY|experimentalsys.O_TRUNC, 0)
			return errno
		}},
		{"mkdir", func(g experimentalsys.FS) experimentalsys.Errno { return g.Mkdir("newdir", 0o755) }},
		{"rename", func(g experimentalsys.FS) experimentalsys.Errno { return g.Rename("hello.txt", "moved.txt") }},
		{"unlink", func(g experimentalsys.FS) experimentalsys.Errno { return g.Unlink("hello.txt") }},
		{"unlink symlink", func(g experimentalsys.FS) experimentalsys.Errno { return g.Unlink("inlink") }},
		{"rmdir", func(g experimentalsys.FS) experimentalsys.Errno { return g.Rmdir("sub") }},
		{"chmod", func(g experimentalsys.FS) experimentalsys.Errno { return g.Chmod("hello.txt", 0o777) }},
		{"utimens", func(g experimentalsys.FS) experimentalsys.Errno { return g.Utimens("hello.txt", 0, 0) }},
		{"symlink", func(g experimentalsys.FS) experimentalsys.Errno { return g.Symlink("hello.txt", "newlink") }},
		{"link", func(g experimentalsys.FS) experimentalsys.Errno { return g.Link("hello.txt", "newlink") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.open(t, false)
			before := snapshot(t, f.ws)
			if errno := tt.op(g); errno != experimentalsys.EROFS {
				t.Errorf("errno = %v, want EROFS", errno)
			}
			if after := snapshot(t, f.ws); !maps.Equal(before, after) {
				t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

	t.Run("open file", func(t *testing.T) {
		f := newFixture(t)
		g := f.open(t, false)
		before := snapshot(t, f.ws)
		file, errno := g.OpenFile("hello.txt", experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer file.Close()
		fileOps := []struct {
			name string
			op   func() experimentalsys.Errno
			want experimentalsys.Errno
		}{
			{"write", func() experimentalsys.Errno { _, e := file.Write([]byte("x")); return e }, experimentalsys.EBADF},
			{"pwrite", func() experimentalsys.Errno { _, e := file.Pwrite([]byte("x"), 0); return e }, experimentalsys.EBADF},
			{"truncate", func() experimentalsys.Errno { return file.Truncate(0) }, experimentalsys.EBADF},
			{"utimens", func() experimentalsys.Errno { return file.Utimens(0, 0) }, experimentalsys.EROFS},
		}
		for _, tt := range fileOps {
			t.Run(tt.name, func(t *testing.T) {
				if errno := tt.op(); errno != tt.want {
					t.Errorf("errno = %v, want %v", errno, tt.want)
				}
			})
		}
		if got := readAll(t, file); got != "hello" {
			t.Errorf("content = %q", got)
		}
		if after := snapshot(t, f.ws); !maps.Equal(before, after) {
			t.Errorf("directory changed")
		}
	})
}

func TestReadWrite(t *testing.T) {
	f := newFixture(t)
	g := f.open(t, true)
	host := func(name string) string {
		b, err := os.ReadFile(filepath.Join(f.ws, name))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	const (
		wronly = experimentalsys.O_WRONLY
		rdwr   = experimentalsys.O_RDWR
		creat  = experimentalsys.O_CREAT
	)

	t.Run("create write read back", func(t *testing.T) {
		w, errno := g.OpenFile("new.txt", wronly|creat|experimentalsys.O_EXCL, 0o644)
		if errno != 0 {
			t.Fatal(errno)
		}
		if n, errno := w.Write([]byte("hello world")); n != 11 || errno != 0 {
			t.Fatalf("Write = %d, %v", n, errno)
		}
		if errno := w.Close(); errno != 0 {
			t.Fatal(errno)
		}
		if errno := w.Close(); errno != 0 {
			t.Errorf("second Close: %v", errno)
		}
		if got := host("new.txt"); got != "hello world" {
			t.Errorf("host sees %q", got)
		}
		if _, errno := g.OpenFile("new.txt", wronly|creat|experimentalsys.O_EXCL, 0o644); errno != experimentalsys.EEXIST {
			t.Errorf("O_EXCL on existing: %v, want EEXIST", errno)
		}
	})

	t.Run("pwrite pread truncate", func(t *testing.T) {
		rw, errno := g.OpenFile("new.txt", rdwr, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer rw.Close()
		if _, errno := rw.Pwrite([]byte("W"), 6); errno != 0 {
			t.Fatal(errno)
		}
		buf := make([]byte, 5)
		if n, errno := rw.Pread(buf, 6); errno != 0 || string(buf[:n]) != "World" {
			t.Errorf("Pread = %q, %v", buf[:n], errno)
		}
		if errno := rw.Truncate(5); errno != 0 {
			t.Fatal(errno)
		}
		if st, errno := rw.Stat(); errno != 0 || st.Size != 5 {
			t.Errorf("Stat size = %d, %v", st.Size, errno)
		}
		if _, errno := rw.Pread(buf, -1); errno != experimentalsys.EINVAL {
			t.Errorf("negative Pread: %v", errno)
		}
		if got := host("new.txt"); got != "hello" {
			t.Errorf("host sees %q", got)
		}
	})

	t.Run("append and SetAppend", func(t *testing.T) {
		a, errno := g.OpenFile("new.txt", wronly|experimentalsys.O_APPEND, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer a.Close()
		if !a.IsAppend() {
			t.Error("IsAppend = false")
		}
		if _, errno := a.Write([]byte("!")); errno != 0 {
			t.Fatal(errno)
		}
		if errno := a.SetAppend(false); errno != 0 || a.IsAppend() {
			t.Fatalf("SetAppend(false) = %v, IsAppend %v", errno, a.IsAppend())
		}
		if _, errno := a.Seek(0, io.SeekStart); errno != 0 {
			t.Fatal(errno)
		}
		if _, errno := a.Write([]byte("J")); errno != 0 {
			t.Fatal(errno)
		}
		if errno := a.SetAppend(true); errno != 0 {
			t.Fatal(errno)
		}
		if _, errno := a.Write([]byte("?")); errno != 0 {
			t.Fatal(errno)
		}
		if got := host("new.txt"); got != "Jello!?" {
			t.Errorf("host sees %q", got)
		}
	})

	t.Run("write on read-only descriptor", func(t *testing.T) {
		r, errno := g.OpenFile("new.txt", experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer r.Close()
		if _, errno := r.Write([]byte("x")); errno != experimentalsys.EBADF {
			t.Errorf("Write: %v, want EBADF", errno)
		}
		if errno := r.Truncate(0); errno != experimentalsys.EBADF {
			t.Errorf("Truncate: %v, want EBADF", errno)
		}
	})

	t.Run("mkdir rename unlink rmdir", func(t *testing.T) {
		steps := []struct {
			name string
			op   func() experimentalsys.Errno
			want experimentalsys.Errno
		}{
			{"mkdir", func() experimentalsys.Errno { return g.Mkdir("d", 0o755) }, 0},
			{"mkdir existing", func() experimentalsys.Errno { return g.Mkdir("d", 0o755) }, experimentalsys.EEXIST},
			{"rename file into dir", func() experimentalsys.Errno { return g.Rename("new.txt", "d/moved.txt") }, 0},
			{"rmdir non-empty", func() experimentalsys.Errno { return g.Rmdir("d") }, experimentalsys.ENOTEMPTY},
			{"rmdir file", func() experimentalsys.Errno { return g.Rmdir("d/moved.txt") }, experimentalsys.ENOTDIR},
			{"unlink dir", func() experimentalsys.Errno { return g.Unlink("d") }, experimentalsys.EISDIR},
			{"unlink file", func() experimentalsys.Errno { return g.Unlink("d/moved.txt") }, 0},
			{"unlink missing", func() experimentalsys.Errno { return g.Unlink("d/moved.txt") }, experimentalsys.ENOENT},
			{"rename dir", func() experimentalsys.Errno { return g.Rename("d", "e") }, 0},
			{"rmdir", func() experimentalsys.Errno { return g.Rmdir("e") }, 0},
			{"unlink symlink removes only the link", func() experimentalsys.Errno { return g.Unlink("link-to-secret") }, 0},
			{"chmod", func() experimentalsys.Errno { return g.Chmod("hello.txt", 0o600) }, 0},
		}
		for _, s := range steps {
			if errno := s.op(); errno != s.want {
				t.Errorf("%s: %v, want %v", s.name, errno, s.want)
			}
		}
		if got := host("d/moved.txt"); !strings.HasPrefix(got, "<") {
			t.Errorf("d/moved.txt still there: %q", got)
		}
		if _, err := os.Lstat(filepath.Join(f.ws, "e")); !os.IsNotExist(err) {
			t.Errorf("e still there: %v", err)
		}
		if b, err := os.ReadFile(f.secret); err != nil || string(b) != secretText {
			t.Errorf("secret damaged: %q, %v", b, err)
		}
		if fi, err := os.Stat(filepath.Join(f.ws, "hello.txt")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("chmod not applied: %v, %v", fi.Mode(), err)
		}
	})

	t.Run("utimens", func(t *testing.T) {
		mtim := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
		if errno := g.Utimens("hello.txt", experimentalsys.UTIME_OMIT, mtim); errno != 0 {
			t.Fatal(errno)
		}
		if st, _ := g.Stat("hello.txt"); st.Mtim != mtim {
			t.Errorf("Mtim = %d, want %d", st.Mtim, mtim)
		}
		file, errno := g.OpenFile("hello.txt", experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer file.Close()
		if errno := file.Utimens(experimentalsys.UTIME_OMIT, mtim+1e9); errno != 0 {
			t.Fatal(errno)
		}
		if st, _ := file.Stat(); st.Mtim != mtim+1e9 {
			t.Errorf("Mtim = %d, want %d", st.Mtim, mtim+1e9)
		}
		dir, errno := g.OpenFile("sub", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer dir.Close()
		if errno := dir.Utimens(experimentalsys.UTIME_OMIT, mtim); errno != 0 {
			t.Fatal(errno)
		}
		if st, _ := g.Stat("sub"); st.Mtim != mtim {
			t.Errorf("dir Mtim = %d, want %d", st.Mtim, mtim)
		}
	})

	t.Run("links refused", func(t *testing.T) {
		before := snapshot(t, f.ws)
		for _, errno := range []experimentalsys.Errno{
			g.Symlink("hello.txt", "newlink"),
			g.Symlink(f.secret, "newlink"),
			g.Link("hello.txt", "newlink"),
		} {
			if errno != experimentalsys.EPERM {
				t.Errorf("errno = %v, want EPERM", errno)
			}
		}
		if after := snapshot(t, f.ws); !maps.Equal(before, after) {
			t.Errorf("directory changed")
		}
	})
}

func TestFlagsAndLstat(t *testing.T) {
	g := newFixture(t).open(t, false)
	const rd = experimentalsys.O_RDONLY
	tests := []struct {
		name string
		path string
		flag experimentalsys.Oflag
		want experimentalsys.Errno
	}{
		{"nofollow on symlink", "inlink", rd | experimentalsys.O_NOFOLLOW, experimentalsys.ELOOP},
		{"nofollow on file", "hello.txt", rd | experimentalsys.O_NOFOLLOW, 0},
		{"nofollow on intermediate symlink", "indirlink/inner.txt", rd | experimentalsys.O_NOFOLLOW, 0},
		{"directory on file", "hello.txt", rd | experimentalsys.O_DIRECTORY, experimentalsys.ENOTDIR},
		{"directory on dir", "sub", rd | experimentalsys.O_DIRECTORY, 0},
		{"directory on dir symlink", "indirlink", rd | experimentalsys.O_DIRECTORY, 0},
		{"trailing slash on file", "hello.txt/", rd, experimentalsys.ENOTDIR},
		{"missing", "nope", rd, experimentalsys.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errno := g.OpenFile(tt.path, tt.flag, 0)
			if errno == 0 {
				f.Close()
			}
			if errno != tt.want {
				t.Errorf("errno = %v, want %v", errno, tt.want)
			}
		})
	}

	t.Run("lstat does not follow the last symlink", func(t *testing.T) {
		for _, name := range []string{"inlink", "link-to-secret", "dirlink"} {
			st, errno := g.Lstat(name)
			if errno != 0 || st.Mode&fs.ModeSymlink == 0 {
				t.Errorf("Lstat(%q) = %v, %v", name, st.Mode, errno)
			}
		}
		if st, errno := g.Stat("inlink"); errno != 0 || !st.Mode.IsRegular() || st.Size != 5 {
			t.Errorf("Stat(inlink) = %v size %d, %v", st.Mode, st.Size, errno)
		}
		if target, errno := g.Readlink("inlink"); errno != 0 || target != "hello.txt" {
			t.Errorf("Readlink = %q, %v", target, errno)
		}
	})
}

func TestReaddirAndStat(t *testing.T) {
	f := newFixture(t)
	g := f.open(t, false)

	hostEntries := func(t *testing.T) map[string]experimentalsys.Dirent {
		entries, err := os.ReadDir(f.ws)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]experimentalsys.Dirent{}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = experimentalsys.Dirent{Name: e.Name(), Ino: sys.NewStat_t(fi).Ino, Type: e.Type()}
		}
		return m
	}
	collect := func(t *testing.T, d experimentalsys.File, n int) map[string]experimentalsys.Dirent {
		m := map[string]experimentalsys.Dirent{}
		for {
			dirents, errno := d.Readdir(n)
			if errno != 0 {
				t.Fatal(errno)
			}
			for _, de := range dirents {
				m[de.Name] = de
			}
			if n <= 0 || len(dirents) < n {
				return m
			}
		}
	}

	d, errno := g.OpenFile(".", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer d.Close()

	want := hostEntries(t)
	if got := collect(t, d, -1); !maps.Equal(got, want) {
		t.Errorf("Readdir(-1):\n got %v\nwant %v", got, want)
	}
	if want["dirlink"].Type != fs.ModeSymlink || want["sub"].Type != fs.ModeDir || want["hello.txt"].Type != 0 {
		t.Errorf("unexpected host types: %v", want)
	}

	t.Run("paged after rewind sees new entries", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(f.ws, "later.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, errno := d.Seek(0, io.SeekStart); errno != 0 {
			t.Fatal(errno)
		}
		want := hostEntries(t)
		if got := collect(t, d, 2); !maps.Equal(got, want) {
			t.Errorf("Readdir(2) pages:\n got %v\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	})

	t.Run("stat", func(t *testing.T) {
		fi, err := os.Stat(f.ws)
		if err != nil {
			t.Fatal(err)
		}
		host := sys.NewStat_t(fi)
		st, errno := d.Stat()
		if errno != 0 || st.Ino != host.Ino || st.Dev != host.Dev || !st.Mode.IsDir() || st.Nlink == 0 || st.Mtim == 0 {
			t.Errorf("Stat = %+v, %v; host %+v", st, errno, host)
		}
		if ino, _ := d.Ino(); ino != host.Ino {
			t.Errorf("Ino = %d, want %d", ino, host.Ino)
		}
		if dev, _ := d.Dev(); dev != host.Dev {
			t.Errorf("Dev = %d, want %d", dev, host.Dev)
		}
		if _, errno := d.Read(make([]byte, 1)); errno != experimentalsys.EISDIR {
			t.Errorf("Read on dir: %v", errno)
		}
		if _, errno := d.Seek(1, io.SeekStart); errno != experimentalsys.EISDIR {
			t.Errorf("Seek(1) on dir: %v", errno)
		}
	})

	t.Run("readdir on a file", func(t *testing.T) {
		file, errno := g.OpenFile("hello.txt", experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		defer file.Close()
		if _, errno := file.Readdir(-1); errno != experimentalsys.EBADF {
			t.Errorf("errno = %v, want EBADF", errno)
		}
		if isDir, _ := file.IsDir(); isDir {
			t.Error("IsDir = true")
		}
		st, _ := file.Stat()
		if st.Size != 5 || !st.Mode.IsRegular() || st.Nlink != 1 {
			t.Errorf("Stat = %+v", st)
		}
	})

	t.Run("closed", func(t *testing.T) {
		d2, errno := g.OpenFile("sub", experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Fatal(errno)
		}
		d2.Close()
		if _, errno := d2.Readdir(-1); errno != experimentalsys.EBADF {
			t.Errorf("Readdir after Close: %v", errno)
		}
		if _, errno := d2.Stat(); errno != experimentalsys.EBADF {
			t.Errorf("Stat after Close: %v", errno)
		}
	})
}

func TestClosedRoot(t *testing.T) {
	f := newFixture(t)
	g, closer, err := New(f.ws, true)
	if err != nil {
		t.Fatal(err)
	}
	closer.Close()
	if _, errno := g.OpenFile(".", experimentalsys.O_RDONLY, 0); errno != experimentalsys.EBADF {
		t.Errorf("OpenFile after Close: %v, want EBADF", errno)
	}
	if _, errno := g.Stat("hello.txt"); errno != experimentalsys.EBADF {
		t.Errorf("Stat after Close: %v, want EBADF", errno)
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t)
	for _, dir := range []string{filepath.Join(f.ws, "missing"), filepath.Join(f.ws, "hello.txt")} {
		if _, _, err := New(dir, false); err == nil {
			t.Errorf("New(%q) succeeded", dir)
		}
	}
	// The served directory itself may be reached through a symlink: that is the host's choice.
	g, closer, err := New(filepath.Join(f.ws, "indirlink"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	file, errno := g.OpenFile("inner.txt", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer file.Close()
	if got := readAll(t, file); got != "inner" {
		t.Errorf("content = %q", got)
	}
}

// TestRenameKeepsReplacedMode: a file renamed over a regular file takes its permission bits (a
// guest cannot chmod, so an atomic replace would turn every edited file into 0600); renaming
// onto a new name or over a link keeps the file's own; setuid bits never travel.
func TestRenameKeepsReplacedMode(t *testing.T) {
	f := newFixture(t)
	g := f.open(t, true)
	mode := func(name string) fs.FileMode {
		fi, err := os.Lstat(filepath.Join(f.ws, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode()
	}
	create := func(name string) {
		file, errno := g.OpenFile(name, experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_EXCL, 0o600)
		if errno != 0 {
			t.Fatal(errno)
		}
		file.Write([]byte("new"))
		file.Close()
	}
	for _, tc := range []struct {
		name   string
		target string
		before fs.FileMode // 0: no target file
		want   fs.FileMode
	}{
		{"over an executable", "run.sh", 0o755, 0o755},
		{"over a shared file", "shared.txt", 0o644, 0o644},
		{"over a setuid file", "suid", 0o4755, 0o755},
		{"to a new name", "fresh.txt", 0, 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(f.ws, tc.target)
			if tc.before != 0 {
				os.WriteFile(p, []byte("old"), 0o600)
				if err := os.Chmod(p, tc.before); err != nil {
					t.Fatal(err)
				}
			}
			create(".tmp-" + tc.target)
			if errno := g.Rename(".tmp-"+tc.target, tc.target); errno != 0 {
				t.Fatal(errno)
			}
			if got := mode(tc.target); got != tc.want {
				t.Fatalf("mode %v, want %v", got, tc.want)
			}
		})
	}
	// Over a link: the link is replaced, the file it pointed to keeps its mode.
	os.Chmod(filepath.Join(f.ws, "hello.txt"), 0o640)
	create(".tmp-link")
	if errno := g.Rename(".tmp-link", "inlink"); errno != 0 {
		t.Fatal(errno)
	}
	if got := mode("inlink"); got != 0o600 || mode("hello.txt") != 0o640 {
		t.Fatalf("over a link: %v, target %v", got, mode("hello.txt"))
	}
}

// TestEscapesTellsAnEscapeFromTheHostsOwnRefusal: EPERM from a guarded FS is either a path that
// leaves the root or the host's own refusal (or a link, which is never made); Escapes tells
// which, so only the first is reported as outside the plugin's file grants.
func TestEscapesTellsAnEscapeFromTheHostsOwnRefusal(t *testing.T) {
	f := newFixture(t)
	g := f.open(t, true)
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"../outside/secret.txt", true},
		{"sub/../../outside/secret.txt", true},
		{"link-to-secret", true},
		{"rel-link-to-secret", true},
		{"dirlink/secret.txt", true},
		{"sub/escape", true},
		{"dangling", true},
		{"hello.txt", false},
		{"/hello.txt", false},
		{"inlink", false},
		{"sub/up", false},
		{"missing.txt", false},
		{"sub/missing/deeper.txt", false},
		{"new-symlink-name", false}, // what Symlink is refused for: not an escape
	} {
		if got := Escapes(g, tt.path); got != tt.want {
			t.Errorf("Escapes(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if errno := g.Symlink("hello.txt", "new-symlink-name"); errno != experimentalsys.EPERM {
		t.Fatalf("Symlink: %v, want EPERM", errno)
	}
	if Escapes(experimentalsys.UnimplementedFS{}, "../x") {
		t.Error("Escapes of an FS that is not fsguard's")
	}
}
