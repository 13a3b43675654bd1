package skills

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

func TestLoadTarGz(t *testing.T) {
	md := skillMD("packed", "1.0.0", "Body.")
	t.Run("a top-level directory is the root", func(t *testing.T) {
		path := writeTarGz(t, []tarEntry{
			{name: "packed/", typeflag: tar.TypeDir},
			{name: "packed/SKILL.md", body: md},
			{name: "packed/references/a.md", body: "ref"},
			{name: "__MACOSX/packed/._SKILL.md", body: "resource fork"},
			{name: "packed/._a.md", body: "resource fork"},
		})
		files, top, err := loadTarGz(path, "x.tar.gz")
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 2 || files[0].Path != "SKILL.md" || files[1].Path != "references/a.md" || top != "packed" {
			t.Fatalf("files %v", paths(files))
		}
	})

	tests := []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"traversal", []tarEntry{{name: "SKILL.md", body: md}, {name: "../evil.sh", body: "x"}},
			`x.tar.gz: path "../evil.sh" has an empty, . or .. element; entries must stay inside the skill`},
		{"absolute", []tarEntry{{name: "/etc/cron.d/x", body: "x"}},
			`x.tar.gz: path "/etc/cron.d/x" is absolute or uses backslashes; entries must be relative`},
		{"backslash", []tarEntry{{name: `a\..\b`, body: "x"}},
			`x.tar.gz: path "a\\..\\b" is absolute or uses backslashes; entries must be relative`},
		{"symlink", []tarEntry{{name: "SKILL.md", body: md}, {name: "key", typeflag: tar.TypeSymlink, link: "/home/u/.ssh/id_rsa"}},
			`x.tar.gz: key is a link (to "/home/u/.ssh/id_rsa"); skills may not contain links`},
		{"hard link", []tarEntry{{name: "SKILL.md", body: md}, {name: "h", typeflag: tar.TypeLink, link: "SKILL.md"}},
			`x.tar.gz: h is a link (to "SKILL.md"); skills may not contain links`},
		{"device", []tarEntry{{name: "dev", typeflag: tar.TypeChar}},
			`x.tar.gz: dev is not a regular file or directory (tar type '3')`},
		{"huge entry", []tarEntry{{name: "SKILL.md", body: md}, {name: "big", size: MaxFileBytes + 1}},
			"x.tar.gz: big is 16777217 bytes, more than the 16 MiB a skill file may have"},
		{"case collision", []tarEntry{{name: "SKILL.md", body: md}, {name: "skill.md", body: md}},
			`x.tar.gz: "SKILL.md" and "skill.md" differ only in case (or repeat); rename one`},
		{"duplicate", []tarEntry{{name: "SKILL.md", body: md}, {name: "SKILL.md", body: md}},
			`x.tar.gz: "SKILL.md" and "SKILL.md" differ only in case (or repeat); rename one`},
		{"no SKILL.md", []tarEntry{{name: "README.md", body: "x"}},
			"x.tar.gz has no SKILL.md at its top level; a skill is a directory with a SKILL.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := loadTarGz(writeTarGz(t, tt.entries), "x.tar.gz")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant    %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid")
			}
		})
	}

	t.Run("too many files", func(t *testing.T) {
		entries := []tarEntry{{name: "SKILL.md", body: md}}
		for i := range MaxFiles {
			entries = append(entries, tarEntry{name: "f/" + strings.Repeat("a", 1+i%50) + string(rune('a'+i%26)) + itoa(i), body: "x"})
		}
		_, _, err := loadTarGz(writeTarGz(t, entries), "x.tar.gz")
		if err == nil || !strings.Contains(err.Error(), "more than 1000 files") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("not gzip", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.tar.gz")
		os.WriteFile(p, []byte("plain text"), 0o600)
		if _, _, err := loadTarGz(p, "x.tar.gz"); err == nil || !strings.HasPrefix(err.Error(), "x.tar.gz is not a gzip-compressed tar archive") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestLoadDir(t *testing.T) {
	dir := writeSkill(t, map[string]string{"SKILL.md": skillMD("d", "1", "x"), "references/r.md": "r", ".git/config": "[core]"})
	files, err := loadDir(dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(files); strings.Join(got, ",") != "SKILL.md,references/r.md" {
		t.Fatalf("files %v (.git must be skipped)", got)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "references", "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	_, err = loadDir(dir, "src")
	if err == nil || err.Error() != "src: references/link is a symbolic link; skills may not contain links (copy the file instead)" {
		t.Fatalf("error = %v", err)
	}
}

func TestFetch(t *testing.T) {
	dir := writeSkill(t, map[string]string{"SKILL.md": skillMD("d", "1", "x")})
	if _, label, name, err := fetch(dir); err != nil || label != "dir:"+dir || name != filepath.Base(dir) {
		t.Fatalf("fetch dir: %q %v", label, err)
	}
	for _, tt := range []struct{ source, want string }{
		{filepath.Join(dir, "missing"), "does not exist; give a skill directory or a .tar.gz"},
		{filepath.Join(dir, "SKILL.md"), "is a file; give the skill's directory"},
	} {
		_, _, _, err := fetch(tt.source)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("fetch %s: %v", tt.source, err)
		}
	}
}

func TestContentHash(t *testing.T) {
	a := []scan.File{{Path: "SKILL.md", Data: []byte("x")}, {Path: "b", Data: []byte("y")}}
	b := []scan.File{{Path: "SKILL.md", Data: []byte("x")}, {Path: "b", Data: []byte("z")}}
	c := []scan.File{{Path: "SKILL.md", Data: []byte("x")}, {Path: "c", Data: []byte("y")}}
	ha, hb, hc := contentHash(a), contentHash(b), contentHash(c)
	if len(ha) != 64 || ha == hb || ha == hc || ha != contentHash(a) {
		t.Fatalf("hashes %s %s %s", ha, hb, hc)
	}
	if got := versionDir("", ha); got != "unversioned-"+ha[:12] {
		t.Errorf("versionDir = %s", got)
	}
}

func paths(files []scan.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
