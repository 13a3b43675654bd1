// Command files is hermes' first-party file plugin: it reads, lists, searches, writes and edits
// files in the workspace the user granted (capability fs_write = ["{workspace}"]), which the
// plugin sees at /workspace. It cannot see or change anything else; installed with only an
// fs_read grant, write and edit fail and say so.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o files.wasm ./plugins/files
//
// The tools are plain Go in this file and write.go, so go test runs them natively against a temporary
// directory; the wasm exports live in exports.go.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

// guestWorkspace is where the granted workspace appears inside the plugin (abi.GuestWorkspace).
const guestWorkspace = "/workspace"

// root is the directory paths are resolved in: the workspace inside the sandbox, a temporary
// directory in tests.
var root = guestWorkspace

// Bounds on what one call returns.
const (
	defaultReadBytes  = 64 << 10
	maxReadBytes      = 512 << 10
	defaultEntries    = 500
	maxEntries        = 5000
	defaultResults    = 100
	maxResults        = 1000
	maxMatchText      = 300      // bytes of a matching line shown
	maxSearchFileSize = 8 << 20  // larger files are skipped by search
	maxSearchLine     = 1 << 20  // a longer line ends the search of its file
	sniffBytes        = 8 << 10  // bytes checked for NUL to detect binary files
	readBufferSize    = 64 << 10 // bufio buffer for read
	searchBufferSize  = 64 << 10 // initial bufio.Scanner buffer for search
	skipDir           = ".git"   // not descended into by recursive list and search
	outsideHint       = "give a path relative to the workspace or an absolute path under " + guestWorkspace
)

func init() {
	hermes.Tool("read", "Read a text file from the workspace. Returns up to max_bytes of content; "+
		"use offset and limit (in lines) to page through large files.", read)
	hermes.Tool("list", "List a directory of the workspace: each entry's name, type (file, dir, "+
		"symlink, other) and size in bytes.", list)
	hermes.Tool("search", "Search the text files under a workspace path for a regular expression "+
		"(RE2 syntax) or, with literal, plain text. Returns matching lines with file and line number. "+
		"Binary files and the .git directory are skipped.", search)
}

func main() {}

// resolve maps a path given by the model to a file-system path under root and the path
// relative to the workspace ("." for the workspace itself). It refuses paths outside it.
func resolve(p string) (fsPath, rel string, err error) {
	if strings.ContainsRune(p, 0) {
		return "", "", errors.New("path contains a NUL byte")
	}
	if p == "" {
		p = "."
	}
	clean := path.Clean(p)
	switch {
	case path.IsAbs(clean):
		switch {
		case clean == guestWorkspace:
			rel = "."
		case strings.HasPrefix(clean, guestWorkspace+"/"):
			rel = clean[len(guestWorkspace)+1:]
		default:
			return "", "", fmt.Errorf("path %q is outside the workspace: %s", p, outsideHint)
		}
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return "", "", fmt.Errorf("path %q leads out of the workspace: %s", p, outsideHint)
	default:
		rel = clean
	}
	resolved, err := followLinks(rel)
	if err != nil {
		return "", "", err
	}
	return filepath.Join(root, filepath.FromSlash(resolved)), rel, nil
}

// followLinks resolves the symbolic links along rel (a clean workspace-relative path) and
// refuses a link whose target is absolute or leads out of the workspace. The sandbox already
// confines the plugin to its granted directories; this keeps the plugin from relying on that
// alone, and gives a clear error instead of a confusing one.
func followLinks(rel string) (string, error) {
	if rel == "." {
		return rel, nil
	}
	parts := strings.Split(rel, "/")
	done := "." // resolved prefix, free of links
	for hops := 0; len(parts) > 0; {
		next := joinRel(done, parts[0])
		parts = parts[1:]
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(next)))
		if err != nil {
			// Missing or unreadable: the caller's open reports it.
			return path.Join(append([]string{next}, parts...)...), nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", rel)
		}
		target, err := os.Readlink(filepath.Join(root, filepath.FromSlash(next)))
		if err != nil {
			return "", cleanErr(next, err)
		}
		target = filepath.ToSlash(target)
		if path.IsAbs(target) {
			return "", fmt.Errorf("%s is a symbolic link to an absolute path; only links that stay inside the workspace are followed", next)
		}
		joined := path.Join(done, target)
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return "", fmt.Errorf("%s is a symbolic link that leads out of the workspace", next)
		}
		done = "."
		if joined != "." {
			parts = append(strings.Split(joined, "/"), parts...)
		}
	}
	return done, nil
}

// joinRel joins a workspace-relative directory and a slash-separated name below it.
func joinRel(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// cleanErr strips the sandbox's file-system path from an os error, keeping its cause.
func cleanErr(rel string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file or directory", rel)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied", rel)
	}
	return fmt.Errorf("%s: %v", rel, err)
}

func isBinary(prefix []byte) bool { return bytes.IndexByte(prefix, 0) >= 0 }

// --- read ---

type readArgs struct {
	Path     string `json:"path" desc:"file to read, relative to the workspace (or absolute under /workspace)"`
	Offset   int    `json:"offset,omitempty" desc:"first line to return, counting from 1 (default 1)"`
	Limit    int    `json:"limit,omitempty" desc:"maximum number of lines to return (default: as many as fit in max_bytes)"`
	MaxBytes int    `json:"max_bytes,omitempty" desc:"maximum bytes of content to return (default 65536, at most 524288)"`
}

type readResult struct {
	Path      string `json:"path"`
	Content   string `json:"content"`
	Truncated bool   `json:"truncated"`
	// NextOffset is the offset to pass to continue reading when Truncated.
	NextOffset int `json:"next_offset,omitempty"`
}

func read(a readArgs) (readResult, error) {
	if a.Offset < 0 || a.Limit < 0 || a.MaxBytes < 0 {
		return readResult{}, errors.New("offset, limit and max_bytes must not be negative")
	}
	offset := max(a.Offset, 1)
	maxBytes := a.MaxBytes
	if maxBytes == 0 {
		maxBytes = defaultReadBytes
	}
	maxBytes = min(maxBytes, maxReadBytes)

	fsPath, rel, err := resolve(a.Path)
	if err != nil {
		return readResult{}, err
	}
	f, err := os.Open(fsPath)
	if err != nil {
		return readResult{}, cleanErr(rel, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return readResult{}, cleanErr(rel, err)
	} else if st.IsDir() {
		return readResult{}, fmt.Errorf("%s is a directory; use the list tool", rel)
	}

	r := bufio.NewReaderSize(f, readBufferSize)
	if head, err := r.Peek(sniffBytes); err != nil && err != io.EOF {
		return readResult{}, cleanErr(rel, err)
	} else if isBinary(head) {
		return readResult{}, fmt.Errorf("%s is a binary file; read returns text only", rel)
	}

	// Skip to the first requested line.
	for line := 1; line < offset; {
		_, err := r.ReadSlice('\n')
		switch err {
		case nil:
			line++
		case bufio.ErrBufferFull: // the same long line continues
		case io.EOF:
			return readResult{Path: rel}, nil // the file has fewer lines than offset
		default:
			return readResult{}, cleanErr(rel, err)
		}
	}

	res := readResult{Path: rel}
	var buf []byte
	lines := 0
	for {
		if a.Limit > 0 && lines == a.Limit {
			if _, err := r.Peek(1); err == nil {
				res.Truncated, res.NextOffset = true, offset+lines
			}
			break
		}
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxBytes {
			buf = append(buf, cutUTF8(chunk, maxBytes-len(buf))...)
			res.Truncated, res.NextOffset = true, offset+lines
			break
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return readResult{}, cleanErr(rel, err)
		}
		lines++
	}
	res.Content = string(buf)
	return res, nil
}

// cutUTF8 returns at most n bytes of b, not splitting a UTF-8 sequence.
func cutUTF8(b []byte, n int) []byte {
	if n >= len(b) {
		return b
	}
	if n <= 0 {
		return nil
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	if !utf8.RuneStart(b[cut]) {
		cut = n // not UTF-8 anyway
	}
	return b[:cut]
}

// --- list ---

type listArgs struct {
	Path       string `json:"path,omitempty" desc:"directory to list, relative to the workspace (default: the workspace)"`
	Recursive  bool   `json:"recursive,omitempty" desc:"also list the contents of subdirectories (.git is not descended into)"`
	MaxEntries int    `json:"max_entries,omitempty" desc:"maximum number of entries (default 500, at most 5000)"`
}

type entry struct {
	Name string `json:"name"` // relative to the listed directory, '/'-separated
	Type string `json:"type"` // file, dir, symlink or other
	Size int64  `json:"size"`
}

type listResult struct {
	Path      string  `json:"path"`
	Entries   []entry `json:"entries"`
	Truncated bool    `json:"truncated"`
}

func entryType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsRegular():
		return "file"
	}
	return "other"
}

func list(a listArgs) (listResult, error) {
	if a.MaxEntries < 0 {
		return listResult{}, errors.New("max_entries must not be negative")
	}
	limit := a.MaxEntries
	if limit == 0 {
		limit = defaultEntries
	}
	limit = min(limit, maxEntries)

	fsPath, rel, err := resolve(a.Path)
	if err != nil {
		return listResult{}, err
	}
	st, err := os.Stat(fsPath)
	if err != nil {
		return listResult{}, cleanErr(rel, err)
	}
	res := listResult{Path: rel, Entries: []entry{}}
	if !st.IsDir() {
		res.Entries = append(res.Entries, entry{Name: path.Base(rel), Type: entryType(st.Mode()), Size: st.Size()})
		return res, nil
	}

	add := func(name string, d fs.DirEntry) bool {
		if len(res.Entries) == limit {
			res.Truncated = true
			return false
		}
		e := entry{Name: name, Type: entryType(d.Type())}
		if info, err := d.Info(); err == nil {
			e.Type = entryType(info.Mode())
			if info.Mode().IsRegular() || info.Mode()&fs.ModeSymlink != 0 {
				e.Size = info.Size()
			}
		}
		res.Entries = append(res.Entries, e)
		return true
	}

	if !a.Recursive {
		des, err := os.ReadDir(fsPath)
		if err != nil {
			return listResult{}, cleanErr(rel, err)
		}
		for _, d := range des {
			if !add(d.Name(), d) {
				break
			}
		}
		return res, nil
	}

	err = filepath.WalkDir(fsPath, func(p string, d fs.DirEntry, err error) error {
		if p == fsPath {
			return err // the directory itself: fail only if it cannot be read
		}
		name, rerr := filepath.Rel(fsPath, p)
		if rerr != nil {
			return rerr
		}
		name = filepath.ToSlash(name)
		if err != nil && d == nil {
			return nil // vanished or unreadable: leave it out
		}
		if !add(name, d) {
			return fs.SkipAll
		}
		if d.IsDir() && (d.Name() == skipDir || err != nil) {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return listResult{}, cleanErr(rel, err)
	}
	return res, nil
}

// --- search ---

type searchArgs struct {
	Pattern    string `json:"pattern" desc:"regular expression (Go RE2 syntax), or plain text when literal is true"`
	Path       string `json:"path,omitempty" desc:"file or directory to search, relative to the workspace (default: the whole workspace)"`
	Literal    bool   `json:"literal,omitempty" desc:"treat pattern as plain text, not a regular expression"`
	IgnoreCase bool   `json:"ignore_case,omitempty" desc:"match without regard to case"`
	Glob       string `json:"glob,omitempty" desc:"only search files whose name matches this glob, e.g. *.go"`
	MaxResults int    `json:"max_results,omitempty" desc:"maximum number of matching lines (default 100, at most 1000)"`
}

type match struct {
	File string `json:"file"` // relative to the workspace
	Line int    `json:"line"` // counting from 1
	Text string `json:"text"` // the line, cut to about 300 bytes around the match
}

type searchResult struct {
	Matches       []match `json:"matches"`
	Truncated     bool    `json:"truncated"`
	FilesSearched int     `json:"files_searched"`
	FilesSkipped  int     `json:"files_skipped,omitempty"` // binary, too large or unreadable
}

func search(a searchArgs) (searchResult, error) {
	if a.Pattern == "" {
		return searchResult{}, errors.New("pattern is empty")
	}
	if a.MaxResults < 0 {
		return searchResult{}, errors.New("max_results must not be negative")
	}
	limit := a.MaxResults
	if limit == 0 {
		limit = defaultResults
	}
	limit = min(limit, maxResults)
	expr := a.Pattern
	if a.Literal {
		expr = regexp.QuoteMeta(expr)
	}
	if a.IgnoreCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return searchResult{}, fmt.Errorf("invalid regular expression: %v (set literal to true to search for plain text)", err)
	}
	if a.Glob != "" {
		if _, err := path.Match(a.Glob, ""); err != nil {
			return searchResult{}, fmt.Errorf("invalid glob %q: %v", a.Glob, err)
		}
	}

	fsPath, rel, err := resolve(a.Path)
	if err != nil {
		return searchResult{}, err
	}
	if _, err := os.Stat(fsPath); err != nil {
		return searchResult{}, cleanErr(rel, err)
	}
	res := searchResult{Matches: []match{}}
	err = filepath.WalkDir(fsPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == fsPath {
				return err
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if d.Name() == skipDir && p != fsPath {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks and devices are not followed
		}
		if a.Glob != "" {
			if ok, _ := path.Match(a.Glob, d.Name()); !ok {
				return nil
			}
		}
		fileRel := rel
		if p != fsPath {
			sub, err := filepath.Rel(fsPath, p)
			if err != nil {
				return err
			}
			fileRel = joinRel(rel, filepath.ToSlash(sub))
		}
		if !searchFile(p, fileRel, re, limit, &res) {
			res.Truncated = true
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return searchResult{}, cleanErr(rel, err)
	}
	return res, nil
}

// searchFile appends the matches in one file to res; it returns false once res holds limit
// matches and more were found.
func searchFile(fsPath, rel string, re *regexp.Regexp, limit int, res *searchResult) bool {
	f, err := os.Open(fsPath)
	if err != nil {
		res.FilesSkipped++
		return true
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() > maxSearchFileSize {
		res.FilesSkipped++
		return true
	}
	r := bufio.NewReaderSize(f, sniffBytes)
	if head, _ := r.Peek(sniffBytes); isBinary(head) {
		res.FilesSkipped++
		return true
	}
	res.FilesSearched++
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, searchBufferSize), maxSearchLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		loc := re.FindIndex(line)
		if loc == nil {
			continue
		}
		if len(res.Matches) == limit {
			return false
		}
		res.Matches = append(res.Matches, match{File: rel, Line: n, Text: excerpt(line, loc[0])})
	}
	return true // a read error or an overlong line ends this file's search quietly
}

// excerpt returns line, or about maxMatchText bytes of it around the match at start.
func excerpt(line []byte, start int) string {
	line = bytes.TrimRight(line, "\r")
	if len(line) <= maxMatchText {
		return string(line)
	}
	from := max(0, start-maxMatchText/3)
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	text := cutUTF8(line[from:], maxMatchText)
	s := string(text)
	if from > 0 {
		s = "…" + s
	}
	if from+len(text) < len(line) {
		s += "…"
	}
	return s
}
