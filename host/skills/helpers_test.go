package skills

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hermes-agent/hermes/store"
)

// newTestManager opens a fresh home: a state database, a skills root and a quarantine.
func newTestManager(t *testing.T) (*Manager, *store.DB, string) {
	t.Helper()
	home := t.TempDir()
	db, err := store.Open(filepath.Join(home, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	root := filepath.Join(home, "skills")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return New(db, root, filepath.Join(home, "cache", "quarantine")), db, root
}

func assertQuarantineEmpty(t *testing.T, m *Manager) {
	t.Helper()
	entries, err := os.ReadDir(m.quarantine)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("quarantine not cleaned: %v", entries)
	}
}

// writeSkill makes a skill directory from path → content.
func writeSkill(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// skillMD is a minimal valid SKILL.md with body appended.
func skillMD(name, version, body string) string {
	return fmt.Sprintf("---\nname: %s\ndescription: A test skill that does one thing.\nversion: %s\n---\n\n# %s\n\n%s\n", name, version, name, body)
}

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name     string
	typeflag byte
	body     string
	link     string
	size     int64 // when set, the header's size (to lie about it)
}

// writeTarGz writes a .tar.gz of entries and returns its path.
func writeTarGz(t *testing.T, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.Typeflag == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if e.size != 0 {
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			// A header that lies about its size is written raw; tar.Writer would refuse.
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "skill.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dirToolInstaller is a ToolInstaller that "installs" a tool by copying its plugin.toml into
// a directory of its own, one sub-directory per skill, so tests can see what is installed.
// A tool whose name is in fail is refused.
type dirToolInstaller struct {
	mu   sync.Mutex
	root string
	fail map[string]bool
	log  []string
}

func (d *dirToolInstaller) InstallTool(_ context.Context, skill, dir string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = append(d.log, "install "+skill+" "+filepath.Base(dir))
	if d.fail[filepath.Base(dir)] {
		return fmt.Errorf("tool %s: bad module", filepath.Base(dir))
	}
	data, err := os.ReadFile(filepath.Join(dir, "plugin.toml"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(d.root, skill), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.root, skill, filepath.Base(dir)+".toml"), data, 0o600)
}

func (d *dirToolInstaller) RemoveTools(_ context.Context, skill string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = append(d.log, "remove "+skill)
	return os.RemoveAll(filepath.Join(d.root, skill))
}

func (d *dirToolInstaller) RemoveToolsExcept(_ context.Context, skill string, keep []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = append(d.log, "remove-except "+skill)
	entries, _ := os.ReadDir(filepath.Join(d.root, skill))
	for _, e := range entries {
		if !slices.ContainsFunc(keep, func(dir string) bool { return filepath.Base(dir)+".toml" == e.Name() }) {
			if err := os.Remove(filepath.Join(d.root, skill, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// SnapshotTools keeps the installed files; restore writes back exactly those, without the
// checks of InstallTool (which may refuse them now).
func (d *dirToolInstaller) SnapshotTools(_ context.Context, skill string) (func(context.Context) error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dir := filepath.Join(d.root, skill)
	was := map[string][]byte{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		was[e.Name()] = data
	}
	return func(context.Context) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.log = append(d.log, "restore "+skill)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if len(was) == 0 {
			return nil
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		for name, data := range was {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// installed lists the tools installed for skill.
func (d *dirToolInstaller) installed(skill string) []string {
	entries, _ := os.ReadDir(filepath.Join(d.root, skill))
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return out
}
