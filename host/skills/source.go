package skills

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

// Limits on what a skill may be. A skill is instructions and small supporting files; these
// bound the memory and disk a hostile source can make hermes use.
const (
	MaxFiles      = 1000
	MaxFileBytes  = 16 << 20 // a WebAssembly tool can be a few MiB
	MaxTotalBytes = 64 << 20
	MaxDepth      = 16
	MaxPathLen    = 512
)

// vcsDirs are version-control metadata, never part of a skill: skipped, not installed.
var vcsDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// collector gathers a skill's files within the limits.
type collector struct {
	source string
	files  []scan.File
	total  int64
	names  map[string]string // lower-case path → path, so two names one case-insensitive disk would merge are refused
}

func newCollector(source string) *collector {
	return &collector{source: source, names: map[string]string{}}
}

// checkName refuses paths that could escape the skill or confuse a file system or a reader.
func (c *collector) checkName(p string) error {
	switch {
	case p == "" || p == ".":
		return invalidf("%s: an entry has an empty name", c.source)
	case len(p) > MaxPathLen:
		return invalidf("%s: path %.60q… is longer than %d bytes", c.source, p, MaxPathLen)
	case strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || filepath.VolumeName(p) != "":
		return invalidf("%s: path %q is absolute or uses backslashes; entries must be relative", c.source, p)
	case strings.IndexFunc(p, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0:
		return invalidf("%s: path %q contains control characters", c.source, p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return invalidf("%s: path %q has an empty, . or .. element; entries must stay inside the skill", c.source, p)
		}
	}
	if strings.Count(p, "/") >= MaxDepth {
		return invalidf("%s: path %q is nested more than %d directories deep", c.source, p, MaxDepth)
	}
	return nil
}

func (c *collector) add(p string, size int64, r io.Reader) error {
	if err := c.checkName(p); err != nil {
		return err
	}
	if len(c.files) >= MaxFiles {
		return invalidf("%s has more than %d files; a skill is instructions and small supporting files", c.source, MaxFiles)
	}
	if prev, ok := c.names[strings.ToLower(p)]; ok {
		return invalidf("%s: %q and %q differ only in case (or repeat); rename one", c.source, prev, p)
	}
	if size > MaxFileBytes {
		return invalidf("%s: %s is %d bytes, more than the %d MiB a skill file may have", c.source, p, size, MaxFileBytes>>20)
	}
	if c.total+size > MaxTotalBytes {
		return invalidf("%s is larger than %d MiB in all", c.source, MaxTotalBytes>>20)
	}
	// Read one byte more than declared: a reader that lies about its size is caught.
	data, err := io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", p, c.source, err)
	}
	if int64(len(data)) != size {
		return invalidf("%s: %s is not the size it claims (%d bytes); the source changed while being read or is corrupt", c.source, p, size)
	}
	c.names[strings.ToLower(p)] = p
	c.total += size
	c.files = append(c.files, scan.File{Path: p, Data: data})
	return nil
}

// done sorts the files and checks there is a SKILL.md at the root.
func (c *collector) done() ([]scan.File, error) {
	slices.SortFunc(c.files, func(a, b scan.File) int { return strings.Compare(a.Path, b.Path) })
	if fileData(c.files, "SKILL.md") == nil {
		return nil, invalidf("%s has no SKILL.md at its top level; a skill is a directory with a SKILL.md", c.source)
	}
	return c.files, nil
}

func fileData(files []scan.File, p string) []byte {
	i, ok := slices.BinarySearchFunc(files, p, func(f scan.File, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return nil
	}
	if files[i].Data == nil {
		return []byte{}
	}
	return files[i].Data
}

// loadDir reads a skill directory. Symbolic links and special files are refused rather than
// followed: a link could make the skill include any file of the machine. Reading goes through
// os.Root, so nothing outside dir is opened even if the tree changes meanwhile.
func loadDir(dir, label string) ([]scan.File, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open skill directory %s: %w", dir, err)
	}
	defer root.Close()
	c := newCollector(label)
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read skill directory %s: %w", dir, err)
		}
		if p == "." {
			return nil
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			return invalidf("%s: %s is a symbolic link; skills may not contain links (copy the file instead)", label, p)
		case d.IsDir():
			if vcsDirs[d.Name()] {
				return fs.SkipDir
			}
			return c.checkName(p)
		case !t.IsRegular():
			return invalidf("%s: %s is not a regular file (%s); skills hold only files and directories", label, p, t.Type())
		}
		f, err := root.Open(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(dir, p), err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(dir, p), err)
		}
		if !fi.Mode().IsRegular() {
			return invalidf("%s: %s is not a regular file; skills hold only files and directories", label, p)
		}
		return c.add(p, fi.Size(), f)
	})
	if err != nil {
		return nil, err
	}
	return c.done()
}

// loadFS reads the skill in directory dir of fsys (bundled skills).
func loadFS(fsys fs.FS, dir, label string) ([]scan.File, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("open bundled skill %s: %w", dir, err)
	}
	c := newCollector(label)
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if d.IsDir() {
			return c.checkName(p)
		}
		if !d.Type().IsRegular() {
			return invalidf("%s: %s is not a regular file", label, p)
		}
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			return fmt.Errorf("read bundled skill file %s/%s: %w", dir, p, err)
		}
		return c.add(p, int64(len(data)), strings.NewReader(string(data)))
	})
	if err != nil {
		return nil, err
	}
	return c.done()
}

// loadTarGz reads a gzip-compressed tar archive of a skill, in memory. Only regular files and
// directories are accepted: links, devices and the like are refused, as are names that leave
// the skill, and archives larger than the limits (counted on the decompressed bytes actually
// read, whatever the headers claim). A single top-level directory holding SKILL.md is taken as
// the skill's root, as `tar czf skill.tar.gz my-skill/` makes. macOS resource forks
// (__MACOSX/, ._name) are skipped.
//
// It returns the files and the top-level directory it stripped, if any.
func loadTarGz(file, label string) ([]scan.File, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", fmt.Errorf("open skill archive: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, "", invalidf("%s is not a regular file", label)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", invalidf("%s is not a gzip-compressed tar archive: %v", label, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	c := newCollector(label)
	var skipped int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", invalidf("%s is not a valid tar.gz archive: %v", label, err)
		}
		if entries > 4*MaxFiles {
			return nil, "", invalidf("%s has more than %d entries", label, 4*MaxFiles)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		name = strings.TrimSuffix(name, "/")
		base := path.Base(name)
		if hdr.Size < 0 || hdr.Size > MaxFileBytes {
			return nil, "", invalidf("%s: %s is %d bytes, more than the %d MiB a skill file may have", label, hdr.Name, hdr.Size, MaxFileBytes>>20)
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeDir:
			if name == "" {
				continue
			}
			if err := c.checkName(name); err != nil {
				return nil, "", err
			}
			continue
		case tar.TypeReg, tar.TypeRegA:
			if strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(base, "._") {
				// Skipping still reads the entry; count it against the total.
				if skipped += hdr.Size; c.total+skipped > MaxTotalBytes {
					return nil, "", invalidf("%s is larger than %d MiB in all", label, MaxTotalBytes>>20)
				}
				continue
			}
			if err := c.add(name, hdr.Size, tr); err != nil {
				return nil, "", err
			}
		case tar.TypeSymlink, tar.TypeLink:
			return nil, "", invalidf("%s: %s is a link (to %q); skills may not contain links", label, hdr.Name, hdr.Linkname)
		default:
			return nil, "", invalidf("%s: %s is not a regular file or directory (tar type %q)", label, hdr.Name, hdr.Typeflag)
		}
	}
	top := stripTopDir(c)
	files, err := c.done()
	return files, top, err
}

// stripTopDir makes a single top-level directory holding SKILL.md the root, and returns its
// name ("" when there is none).
func stripTopDir(c *collector) string {
	if len(c.files) == 0 {
		return ""
	}
	for _, f := range c.files {
		if f.Path == "SKILL.md" {
			return ""
		}
	}
	top, _, ok := strings.Cut(c.files[0].Path, "/")
	if !ok {
		return ""
	}
	for _, f := range c.files {
		if !strings.HasPrefix(f.Path, top+"/") {
			return ""
		}
	}
	for i := range c.files {
		c.files[i].Path = strings.TrimPrefix(c.files[i].Path, top+"/")
	}
	return top
}

// contentHash is the skill's digest: SHA-256 over "hermes-skill-v1\n" and one line
// "<sha256 of file> <size> <path>\n" per file in path order. It depends on the files' names
// and contents only, not on timestamps, permissions or archive order.
func contentHash(files []scan.File) string {
	h := sha256.New()
	io.WriteString(h, "hermes-skill-v1\n")
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(h, "%x %d %s\n", sum, len(f.Data), f.Path)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// versionDir names a version's directory under the skill's: <version>-<first 12 of digest>.
func versionDir(version, digest string) string {
	if version == "" {
		version = "unversioned"
	}
	return version + "-" + digest[:12]
}

// writeFiles writes files under dir (which must not exist) with owner-only permissions and no
// execute bits: a skill's scripts are data to hermes, never run on the host.
func writeFiles(dir string, files []scan.File) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = out.Write(f.Data)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fetch reads a source: a skill directory or a .tar.gz / .tgz archive of one. It returns the
// files, the source as recorded in the lock, and the name of the skill's directory (the
// archive's top-level directory, else its name without the extension).
func fetch(source string) ([]scan.File, string, string, error) {
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, "", "", fmt.Errorf("resolve skill source %s: %w", source, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", "", &kindError{msg: fmt.Sprintf("skill source %s does not exist; give a skill directory or a .tar.gz", source), kind: ErrInvalid, err: err}
		}
		return nil, "", "", fmt.Errorf("skill source %s: %w", source, err)
	}
	lower := strings.ToLower(abs)
	switch {
	case fi.IsDir():
		files, err := loadDir(abs, abs)
		return files, "dir:" + abs, filepath.Base(abs), err
	case fi.Mode().IsRegular() && (strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".tgz")):
		files, top, err := loadTarGz(abs, abs)
		return files, "file:" + abs, archiveDir(top, filepath.Base(abs)), err
	case fi.Mode().IsRegular() && path.Base(filepath.ToSlash(lower)) == "skill.md":
		return nil, "", "", invalidf("%s is a file; give the skill's directory (%s)", source, filepath.Dir(abs))
	}
	return nil, "", "", invalidf("skill source %s is neither a directory nor a .tar.gz archive", source)
}

// archiveDir names the skill directory of an archive: its top-level directory, else the
// archive's file name without .tar.gz or .tgz.
func archiveDir(top, file string) string {
	if top != "" {
		return top
	}
	for _, ext := range []string{".tar.gz", ".tgz"} {
		if len(file) > len(ext) && strings.EqualFold(file[len(file)-len(ext):], ext) {
			return file[:len(file)-len(ext)]
		}
	}
	return file
}

// ReadDir reads an installed (or staged) skill directory the way an install does: no
// symbolic links or special files, nothing outside dir, sorted by path, a SKILL.md required.
func ReadDir(dir string) ([]scan.File, error) { return loadDir(dir, dir) }

// FileData returns the content of the file at slash path p in files read by [ReadDir], or nil.
func FileData(files []scan.File, p string) []byte { return fileData(files, p) }

// ToolDirs returns the skill's tool directories (tools/<tool>) in files.
func ToolDirs(files []scan.File) []string { return toolDirs(files) }
