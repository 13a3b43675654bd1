package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const echoManifest = `name = "echo"
version = "1.0.0"
abi = 1
description = "Echoes its input"
wasm = "echo.wasm"
`

// echoWasm stands in for a module: the archive never looks inside it.
var echoWasm = []byte("\x00asm\x01\x00\x00\x00 a module's bytes")

// writePlugin makes a plugin directory from name → content.
func writePlugin(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func echoPlugin() map[string]string {
	return map[string]string{
		"plugin.toml": echoManifest,
		"echo.wasm":   string(echoWasm),
		"README.md":   "# echo\n",
		"LICENSE":     "MIT\n",
		"main.go":     "package main // not packed\n",
		"echo.sig":    "{} // not packed\n",
	}
}

func TestPackIsReproducible(t *testing.T) {
	dir := writePlugin(t, echoPlugin())
	name, first, err := Pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	if name != "echo-1.0.0.tar.gz" {
		t.Fatalf("name = %q, want echo-1.0.0.tar.gz", name)
	}
	_, second, err := Pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("packing the same directory twice gave different bytes")
	}

	// The same files elsewhere, with other modes and times, as on another machine.
	other := writePlugin(t, echoPlugin())
	for i, name := range []string{"plugin.toml", "echo.wasm", "README.md", "LICENSE"} {
		path := filepath.Join(other, name)
		if err := os.Chmod(path, 0o755); err != nil {
			t.Fatal(err)
		}
		stamp := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC).Add(time.Duration(i) * time.Hour)
		if err := os.Chtimes(path, stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}
	_, third, err := Pack(other)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, third) {
		t.Fatal("packing the same files with other modes and times gave different bytes")
	}
}

func TestPackHeaders(t *testing.T) {
	_, data, err := Pack(writePlugin(t, echoPlugin()))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || zr.OS != 255 || zr.Extra != nil {
		t.Fatalf("gzip header carries something of this machine: %+v", zr.Header)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Typeflag != tar.TypeReg || hdr.Mode != 0o644 || hdr.Uid != 0 || hdr.Gid != 0 ||
			hdr.Uname != "" || hdr.Gname != "" || !hdr.ModTime.Equal(time.Unix(0, 0)) ||
			len(hdr.PAXRecords) != 0 || hdr.Format != tar.FormatUSTAR {
			t.Fatalf("header of %s: %+v", hdr.Name, hdr)
		}
	}
	want := []string{"LICENSE", "README.md", "echo.wasm", "plugin.toml"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries %q, want %q (sorted; main.go and echo.sig left out)", names, want)
	}
}

// TestPackGolden pins the exact bytes. The tar digest depends only on this package; the .tar.gz
// digest also on Go's compress/flate. If only the second changes after a Go upgrade, flate
// changed its output: archives are then reproducible per Go release, and the digest is updated.
func TestPackGolden(t *testing.T) {
	_, data, err := Pack(writePlugin(t, echoPlugin()))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tarBytes, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	const (
		wantTar = "87b7e6bdfe9743dc34636a5936fd2b4785aa9ff28bbaea4efb5a458cf5c7a360"
		wantGz  = "af90e39e4435bc9715ba5937a9b941771710c3f0944518179e12341573442c8c"
	)
	if got := sha256Hex(tarBytes); got != wantTar {
		t.Errorf("tar sha256 = %s, want %s", got, wantTar)
	}
	if got := sha256Hex(data); got != wantGz {
		t.Errorf("tar.gz sha256 = %s, want %s", got, wantGz)
	}
}

func TestPackLongModuleName(t *testing.T) {
	// Longer than USTAR's 100-byte name field: the writer falls back to a PAX record, which must
	// be just as reproducible.
	long := strings.Repeat("m", 120) + ".wasm"
	files := map[string]string{
		"plugin.toml": strings.Replace(echoManifest, `"echo.wasm"`, `"`+long+`"`, 1),
		long:          string(echoWasm),
	}
	_, first, err := Pack(writePlugin(t, files))
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := Pack(writePlugin(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("a long module name made packing irreproducible")
	}
	got, err := Extract(first, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Wasm(), echoWasm) {
		t.Fatalf("module = %q", got.Wasm())
	}
}

func TestPackRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string // a part of the error, after the directory
	}{
		{"no manifest", func(t *testing.T, dir string) { mustRemove(t, dir, "plugin.toml") },
			"no such file or directory (a plugin directory needs plugin.toml)"},
		{"bad manifest", func(t *testing.T, dir string) { mustWrite(t, dir, "plugin.toml", "name = 1") },
			"plugin.toml: "},
		{"manifest too large", func(t *testing.T, dir string) {
			mustWrite(t, dir, "plugin.toml", echoManifest+"#"+strings.Repeat("x", 64<<10))
		}, "plugin.toml is 65629 bytes, more than 65536"},
		{"no module", func(t *testing.T, dir string) { mustRemove(t, dir, "echo.wasm") },
			"no such file or directory (build the plugin first)"},
		{"module is a symlink", func(t *testing.T, dir string) {
			mustRemove(t, dir, "echo.wasm")
			mustWrite(t, dir, "elsewhere.wasm", string(echoWasm))
			mustSymlink(t, "elsewhere.wasm", filepath.Join(dir, "echo.wasm"))
		}, "echo.wasm is a symbolic link; pack only takes regular files, so replace it with the file it points to"},
		{"readme is a symlink", func(t *testing.T, dir string) {
			mustRemove(t, dir, "README.md")
			mustSymlink(t, "/etc/passwd", filepath.Join(dir, "README.md"))
		}, "README.md is a symbolic link"},
		{"dangling license symlink", func(t *testing.T, dir string) {
			mustRemove(t, dir, "LICENSE")
			mustSymlink(t, "nowhere", filepath.Join(dir, "LICENSE"))
		}, "LICENSE is a symbolic link"},
		{"manifest is a directory", func(t *testing.T, dir string) {
			mustRemove(t, dir, "plugin.toml")
			if err := os.Mkdir(filepath.Join(dir, "plugin.toml"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "plugin.toml is not a regular file (d---------); pack only takes regular files"},
		{"license is a directory", func(t *testing.T, dir string) {
			mustRemove(t, dir, "LICENSE")
			if err := os.Mkdir(filepath.Join(dir, "LICENSE"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "LICENSE is not a regular file"},
		{"sha256 mismatch", func(t *testing.T, dir string) {
			mustWrite(t, dir, "plugin.toml", echoManifest+`sha256 = "`+strings.Repeat("0", 64)+`"`+"\n")
		}, "plugin.toml: sha256: echo.wasm declares 0000000000000000000000000000000000000000000000000000000000000000 but the file's sha256 is " + sha256Hex(echoWasm) + " (update sha256 or rebuild)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePlugin(t, echoPlugin())
			tt.setup(t, dir)
			_, _, err := Pack(dir)
			if err == nil {
				t.Fatal("packed")
			}
			if !strings.HasPrefix(err.Error(), "pack "+dir+": ") || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line starting with the directory and containing %q", err, tt.want)
			}
		})
	}
}

func TestPackWithoutOptionalFiles(t *testing.T) {
	files := echoPlugin()
	delete(files, "README.md")
	delete(files, "LICENSE")
	_, data, err := Pack(writePlugin(t, files))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Extract(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if names := slices.Sorted(maps.Keys(got.ByName)); !slices.Equal(names, []string{"echo.wasm", "plugin.toml"}) {
		t.Fatalf("files %q", names)
	}
}

func TestExtractRoundTrip(t *testing.T) {
	files := echoPlugin()
	files["plugin.toml"] = echoManifest + `sha256 = "` + sha256Hex(echoWasm) + `"` + "\n"
	_, data, err := Pack(writePlugin(t, files))
	if err != nil {
		t.Fatal(err)
	}
	kept := bytes.Clone(data)
	got, err := Extract(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, kept) {
		t.Fatal("Extract modified its input")
	}
	if got.Manifest.Name != "echo" || got.Manifest.Version != "1.0.0" {
		t.Fatalf("manifest %+v", got.Manifest)
	}
	want := map[string][]byte{
		"plugin.toml": []byte(files["plugin.toml"]),
		"echo.wasm":   echoWasm,
		"README.md":   []byte("# echo\n"),
		"LICENSE":     []byte("MIT\n"),
	}
	if !maps.EqualFunc(got.ByName, want, bytes.Equal) {
		t.Fatalf("files %q, want %q", got.ByName, want)
	}
	if !bytes.Equal(got.ManifestBytes(), want["plugin.toml"]) || !bytes.Equal(got.Wasm(), echoWasm) {
		t.Fatal("ManifestBytes or Wasm returned the wrong file")
	}
}

// entry is one tar entry of a hand-made archive.
type entry struct {
	hdr  tar.Header
	body []byte
}

func file(name, body string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644}, body: []byte(body)}
}

func special(name string, typeflag byte, linkname string) entry {
	return entry{hdr: tar.Header{Typeflag: typeflag, Name: name, Linkname: linkname, Mode: 0o644}}
}

func valid() []entry {
	return []entry{file("plugin.toml", echoManifest), file("echo.wasm", string(echoWasm))}
}

// tarOf writes entries as an uncompressed tar stream, in the order given.
func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("write header %q: %v", hdr.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tgz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	return gz(t, tarOf(t, entries...))
}

func TestExtractRefusals(t *testing.T) {
	otherManifest := strings.Replace(echoManifest, `"echo.wasm"`, `"other.wasm"`, 1)
	pinnedManifest := echoManifest + `sha256 = "` + strings.Repeat("a", 64) + `"` + "\n"
	good := tgz(t, valid()...)
	tests := []struct {
		name   string
		data   func(t *testing.T) []byte
		limits Limits
		kind   error
		want   string
	}{
		{"parent directory", func(t *testing.T) []byte { return tgz(t, file("../echo.wasm", "x")) },
			Limits{}, ErrUnsafePath, `plugin archive: entry "../echo.wasm": contains ".."`},
		{"parent directory inside", func(t *testing.T) []byte { return tgz(t, file("a/../../b", "x")) },
			Limits{}, ErrUnsafePath, `plugin archive: entry "a/../../b": contains ".."`},
		{"bare parent directory", func(t *testing.T) []byte { return tgz(t, special("..", tar.TypeDir, "")) },
			Limits{}, ErrUnsafePath, `plugin archive: entry "..": contains ".."`},
		{"absolute path", func(t *testing.T) []byte { return tgz(t, file("/etc/cron.d/evil", "x")) },
			Limits{}, ErrUnsafePath, `plugin archive: entry "/etc/cron.d/evil": absolute path`},
		{"backslash", func(t *testing.T) []byte { return tgz(t, file(`..\..\evil.wasm`, "x")) },
			Limits{}, ErrUnsafePath, `plugin archive: entry "..\\..\\evil.wasm": contains a backslash, a path separator on Windows`},
		{"drive letter", func(t *testing.T) []byte { return tgz(t, file(`C:evil.wasm`, "x")) },
			Limits{}, ErrUnsafePath, `plugin archive: entry "C:evil.wasm": starts with a drive letter`},
		{"empty name", func(t *testing.T) []byte { return tgz(t, file("", "x")) },
			Limits{}, ErrUnsafePath, `plugin archive: an entry has an empty name`},
		{"symlink", func(t *testing.T) []byte {
			return tgz(t, special("plugin.toml", tar.TypeSymlink, "/home/me/.hermes/.env"))
		}, Limits{}, ErrUnsupportedType, `plugin archive: entry "plugin.toml": is a symbolic link; a plugin archive holds only regular files, in one flat directory`},
		{"hard link", func(t *testing.T) []byte {
			return tgz(t, file("README.md", "x"), special("LICENSE", tar.TypeLink, "README.md"))
		}, Limits{}, ErrUnsupportedType, `plugin archive: entry "LICENSE": is a hard link; a plugin archive holds only regular files, in one flat directory`},
		{"character device", func(t *testing.T) []byte { return tgz(t, special("echo.wasm", tar.TypeChar, "")) },
			Limits{}, ErrUnsupportedType, `plugin archive: entry "echo.wasm": is a device; a plugin archive holds only regular files, in one flat directory`},
		{"block device", func(t *testing.T) []byte { return tgz(t, special("echo.wasm", tar.TypeBlock, "")) },
			Limits{}, ErrUnsupportedType, `plugin archive: entry "echo.wasm": is a device; a plugin archive holds only regular files, in one flat directory`},
		{"fifo", func(t *testing.T) []byte { return tgz(t, special("echo.wasm", tar.TypeFifo, "")) },
			Limits{}, ErrUnsupportedType, `plugin archive: entry "echo.wasm": is a FIFO; a plugin archive holds only regular files, in one flat directory`},
		{"directory", func(t *testing.T) []byte { return tgz(t, special("docs/", tar.TypeDir, "")) },
			Limits{}, ErrUnsupportedType, `plugin archive: entry "docs/": is a directory; a plugin archive holds only regular files, in one flat directory`},
		{"pax global header", func(t *testing.T) []byte {
			return tgz(t, entry{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "global", PAXRecords: map[string]string{"comment": "x"}}})
		}, Limits{}, ErrUnsupportedType, `plugin archive: entry "global": is a PAX global header; a plugin archive holds only regular files, in one flat directory`},
		{"nested file", func(t *testing.T) []byte { return tgz(t, file("docs/README.md", "x")) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: entry "docs/README.md": has a directory part; a plugin archive is flat, its names are plain file names like "plugin.toml" (make it with hermes plugins pack)`},
		{"dot slash", func(t *testing.T) []byte { return tgz(t, file("./plugin.toml", echoManifest)) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: entry "./plugin.toml": has a directory part; a plugin archive is flat, its names are plain file names like "plugin.toml" (make it with hermes plugins pack)`},
		{"duplicate", func(t *testing.T) []byte {
			return tgz(t, append(valid(), file("plugin.toml", strings.Replace(echoManifest, "1.0.0", "6.6.6", 1)))...)
		}, Limits{}, ErrDuplicateEntry, `plugin archive: entry "plugin.toml": appears twice`},
		{"unexpected file", func(t *testing.T) []byte { return tgz(t, append(valid(), file("install.sh", "rm -rf ~"))...) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: entry "install.sh": unexpected file; a plugin archive holds only plugin.toml, one .wasm module, README.md and LICENSE`},
		{"second module", func(t *testing.T) []byte { return tgz(t, append(valid(), file("other.wasm", "x"))...) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: entry "other.wasm": a second module (the archive already has "echo.wasm"); a plugin has one`},
		{"too many entries", func(t *testing.T) []byte { return tgz(t, append(valid(), file("README.md", "x"))...) },
			Limits{MaxEntries: 2}, ErrTooManyEntries, `plugin archive: entry "README.md": more than 2 entries`},
		{"entry too large", func(t *testing.T) []byte { return tgz(t, file("echo.wasm", strings.Repeat("w", 101))) },
			Limits{MaxEntryBytes: 100}, ErrTooLarge, `plugin archive: entry "echo.wasm": 101 bytes or more, above the limit of 100 bytes for one file`},
		{"total too large", func(t *testing.T) []byte {
			return tgz(t, file("README.md", strings.Repeat("r", 60)), file("LICENSE", strings.Repeat("l", 60)))
		}, Limits{MaxEntryBytes: 100, MaxTotalBytes: 100}, ErrTooLarge, `plugin archive: entry "LICENSE": brings the files to more than the limit of 100 bytes for an archive`},
		{"manifest too large", func(t *testing.T) []byte {
			return tgz(t, file("plugin.toml", echoManifest+"#"+strings.Repeat("x", 64<<10)))
		}, Limits{}, ErrTooLarge, `plugin archive: entry "plugin.toml": 65629 bytes or more, above the limit of 65536 bytes for one file`},
		{"empty input", func(t *testing.T) []byte { return nil },
			Limits{}, ErrCorrupt, `plugin archive: not a gzip stream: EOF`},
		{"not gzip", func(t *testing.T) []byte { return tarOf(t, valid()...) },
			Limits{}, ErrCorrupt, `plugin archive: not a gzip stream: gzip: invalid header`},
		{"truncated gzip", func(t *testing.T) []byte { return good[:len(good)-12] },
			Limits{}, ErrCorrupt, `plugin archive: truncated while reading the end of the archive: unexpected EOF`},
		{"gzip checksum", func(t *testing.T) []byte {
			bad := bytes.Clone(good)
			bad[len(bad)-8] ^= 0xff // the CRC-32 of the trailer
			return bad
		}, Limits{}, ErrCorrupt, `plugin archive: damaged: failed reading the end of the archive: gzip: invalid checksum`},
		{"truncated tar", func(t *testing.T) []byte { return gz(t, tarOf(t, valid()...)[:1024+512+10]) },
			Limits{}, ErrCorrupt, `plugin archive: entry "echo.wasm": truncated while reading its content: unexpected EOF`},
		{"bad tar header", func(t *testing.T) []byte { return gz(t, bytes.Repeat([]byte("garbage!"), 128)) },
			Limits{}, ErrCorrupt, `plugin archive: damaged: failed reading the next tar header: archive/tar: invalid tar header`},
		{"data after the tar end", func(t *testing.T) []byte { return gz(t, append(tarOf(t, valid()...), "hidden payload"...)) },
			Limits{}, ErrCorrupt, `plugin archive: data after the end of the tar archive`},
		{"garbage after the gzip stream", func(t *testing.T) []byte { return append(bytes.Clone(good), "trailing garbage"...) },
			Limits{}, ErrCorrupt, `plugin archive: damaged: failed reading the end of the archive: gzip: invalid header`},
		{"no manifest", func(t *testing.T) []byte { return tgz(t, file("echo.wasm", "x")) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: no plugin.toml; this is not a plugin archive (make one with hermes plugins pack)`},
		{"invalid manifest", func(t *testing.T) []byte { return tgz(t, file("plugin.toml", "name = 1")) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: entry "plugin.toml": invalid manifest: plugin.toml: toml: line 1 (last key "name"): incompatible types: TOML value has type int64; destination has type string`},
		{"no module", func(t *testing.T) []byte { return tgz(t, file("plugin.toml", echoManifest)) },
			Limits{}, ErrUnexpectedLayout, `plugin archive: entry "plugin.toml": names module "echo.wasm", which the archive does not have`},
		{"other module", func(t *testing.T) []byte {
			return tgz(t, file("plugin.toml", otherManifest), file("echo.wasm", "x"))
		}, Limits{}, ErrUnexpectedLayout, `plugin archive: entry "echo.wasm": is not the module plugin.toml names ("other.wasm")`},
		{"module digest", func(t *testing.T) []byte {
			return tgz(t, file("plugin.toml", pinnedManifest), file("echo.wasm", string(echoWasm)))
		}, Limits{}, ErrUnexpectedLayout, `plugin archive: entry "echo.wasm": has sha256 ` + sha256Hex(echoWasm) + ` but plugin.toml declares ` + strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			kept := bytes.Clone(data)
			_, err := Extract(data, tt.limits)
			if err == nil {
				t.Fatal("extracted")
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got %s\nwant %s", err, tt.want)
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %q is not %v", err, tt.kind)
			}
			var archiveErr *Error
			if !errors.As(err, &archiveErr) {
				t.Fatalf("error %q is not an *Error", err)
			}
			if !bytes.Equal(data, kept) {
				t.Fatal("Extract modified its input")
			}
		})
	}
}

func TestExtractRefusesNegativeLimits(t *testing.T) {
	_, err := Extract(tgz(t, valid()...), Limits{MaxEntries: -1})
	want := "archive limits {MaxEntryBytes:0 MaxTotalBytes:0 MaxEntries:-1}: a limit cannot be negative (leave it zero for the default)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// countingReader counts the compressed bytes Extract took, to show it stopped early.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// zeroBomb returns a gzip stream of n MiB of zeros, made cheaply: one gzip member of 1 MiB of
// zeros, repeated. A gzip reader reads concatenated members as one stream, as an attacker's
// would.
func zeroBomb(t *testing.T, mib int) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(member.Bytes(), mib)
}

func TestExtractGzipBombs(t *testing.T) {
	limits := Limits{MaxEntryBytes: 1 << 20, MaxTotalBytes: 1 << 20, MaxEntries: 4}
	const bombMiB = 1 << 10 // a GiB of zeros

	t.Run("file larger than its header admits", func(t *testing.T) {
		// A header claiming a terabyte, then a gigabyte of zeros: refused on the header,
		// before any content is decompressed.
		var header bytes.Buffer
		tw := tar.NewWriter(&header)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "echo.wasm", Size: 1 << 40, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		// tw is left unfinished on purpose: the header is all the stream holds of tar.
		data := append(gz(t, header.Bytes()), zeroBomb(t, bombMiB)...)
		src := &countingReader{r: bytes.NewReader(data)}
		_, err := extract(src, limits)
		want := `plugin archive: entry "echo.wasm": 1099511627776 bytes or more, above the limit of 1048576 bytes for one file`
		if err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want %s", err, want)
		}
		if src.n > len(data)/100 {
			t.Fatalf("read %d of %d compressed bytes; should have stopped at the header", src.n, len(data))
		}
	})

	t.Run("zeros after the end of the archive", func(t *testing.T) {
		data := append(tgz(t, valid()...), zeroBomb(t, bombMiB)...)
		src := &countingReader{r: bytes.NewReader(data)}
		_, err := extract(src, limits)
		want := `plugin archive: the archive decompresses to more than 1376256 bytes`
		if err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want %s", err, want)
		}
		if src.n > len(data)/100 {
			t.Fatalf("read %d of %d compressed bytes; should have stopped at the budget", src.n, len(data))
		}
	})

	t.Run("PAX records", func(t *testing.T) {
		// Metadata the tar reader consumes itself, never seen as file content: three entries
		// of 200 KiB records each, against a budget of 64 KiB of files + 5 × 64 KiB.
		small := Limits{MaxEntryBytes: 64 << 10, MaxTotalBytes: 64 << 10, MaxEntries: 4}
		padded := func(e entry) entry {
			e.hdr.PAXRecords = map[string]string{"comment": strings.Repeat("z", 200<<10)}
			return e
		}
		data := tgz(t, padded(file("README.md", "x")), padded(file("LICENSE", "x")), padded(file("plugin.toml", echoManifest)))
		_, err := Extract(data, small)
		want := `plugin archive: the archive decompresses to more than 393216 bytes`
		if err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want %s", err, want)
		}
	})
}

// TestExtractEveryTruncation cuts a valid archive at every length: each is refused, none
// panics.
func TestExtractEveryTruncation(t *testing.T) {
	_, data, err := Pack(writePlugin(t, echoPlugin()))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := Extract(data[:n], Limits{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d of %d: error %v, want ErrCorrupt", n, len(data), err)
		}
	}
}

// TestExtractEveryBitFlip flips one bit at a time: the archive is either refused or, where
// the bit is in a gzip header field no checksum covers, read back unchanged.
func TestExtractEveryBitFlip(t *testing.T) {
	_, data, err := Pack(writePlugin(t, echoPlugin()))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Extract(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(data) * 8 {
		bad := bytes.Clone(data)
		bad[i/8] ^= 1 << (i % 8)
		got, err := Extract(bad, Limits{})
		if err == nil && !maps.EqualFunc(got.ByName, want.ByName, bytes.Equal) {
			t.Fatalf("flipping bit %d changed the files without an error", i)
		}
	}
}

func FuzzExtract(f *testing.F) {
	packed, err := build(map[string][]byte{"plugin.toml": []byte(echoManifest), "echo.wasm": echoWasm})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(packed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Extract(data, Limits{MaxEntryBytes: 1 << 20, MaxTotalBytes: 1 << 20, MaxEntries: 8})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if got.Manifest == nil || got.Wasm() == nil {
			t.Fatalf("accepted without a manifest and module: %+v", got)
		}
		for name := range got.ByName {
			if unsafeName(name) != "" || strings.Contains(name, "/") {
				t.Fatalf("accepted name %q", name)
			}
		}
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mustRemove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}
