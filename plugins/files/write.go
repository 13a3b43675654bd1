package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sourcegraph/go-diff/diff"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

// maxFileBytes bounds a file that write creates or edit reads and writes back.
const maxFileBytes = 4 << 20

// maxListedMatches is how many places of an ambiguous match an error names.
const maxListedMatches = 5

func init() {
	hermes.Tool("write", "Create a file in the workspace, or replace its whole content. The new content "+
		"appears at once (written to a temporary file, then renamed over the old one); at most 4 MiB. "+
		"Only inside directories the plugin may write (fs_write). To change part of a file, use edit.", write)
	hermes.Tool("edit", "Change part of a workspace file: either replace old_text, which must occur exactly "+
		"once in the file, by new_text, or apply a unified diff (hunks with @@ headers; ---/+++ lines "+
		"are optional and ignored, path names the file). Refuses a text that occurs more than once or "+
		"not at all, and a diff whose lines no longer match the file, and says why: read the file "+
		"again and retry. Only inside directories the plugin may write (fs_write).", edit)
}

// --- write ---

type writeArgs struct {
	Path     string `json:"path" desc:"file to write, relative to the workspace (or absolute under /workspace)"`
	Content  string `json:"content" desc:"the file's whole new content (at most 4 MiB)"`
	MakeDirs bool   `json:"make_dirs,omitempty" desc:"create missing parent directories (default false)"`
}

type writeResult struct {
	Path    string `json:"path"`
	Bytes   int    `json:"bytes"`
	Created bool   `json:"created"` // false: an existing file was replaced
}

func write(a writeArgs) (writeResult, error) {
	if len(a.Content) > maxFileBytes {
		return writeResult{}, fmt.Errorf("content is %d bytes; write takes at most %d (4 MiB)", len(a.Content), maxFileBytes)
	}
	fsPath, rel, err := resolveFile(a.Path)
	if err != nil {
		return writeResult{}, err
	}
	created := false
	if _, err := os.Lstat(fsPath); errors.Is(err, fs.ErrNotExist) {
		created = true
		if a.MakeDirs {
			if err := os.MkdirAll(filepath.Dir(fsPath), 0o755); err != nil {
				return writeResult{}, writeErr(path.Dir(rel), err)
			}
		}
	}
	if err := atomicWrite(fsPath, rel, []byte(a.Content)); err != nil {
		return writeResult{}, err
	}
	return writeResult{Path: rel, Bytes: len(a.Content), Created: created}, nil
}

// resolveFile is resolve for a file to be written: not the workspace itself, not a directory,
// and the resolved path of a symbolic link that stays inside the workspace (the link itself is
// kept, its target is written).
func resolveFile(p string) (fsPath, rel string, err error) {
	if strings.TrimSpace(p) == "" {
		return "", "", errors.New("path is empty; name the file to write")
	}
	fsPath, rel, err = resolve(p)
	if err != nil {
		return "", "", err
	}
	if rel == "." {
		return "", "", fmt.Errorf("path %q is the workspace itself; name a file in it", p)
	}
	if fi, err := os.Stat(fsPath); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return "", "", fmt.Errorf("%s is a directory; name a file", rel)
		}
		return "", "", fmt.Errorf("%s is not a regular file; only regular files are written", rel)
	}
	return fsPath, rel, nil
}

// atomicWrite writes data to a temporary file next to fsPath and renames it over fsPath, so a
// reader sees the old content or the new, never a part; the temporary file is removed when
// anything fails.
func atomicWrite(fsPath, rel string, data []byte) error {
	dir, base := filepath.Split(fsPath)
	tmp, err := os.CreateTemp(dir, "."+base+".hermes-*.tmp")
	if err != nil {
		return writeErr(rel, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, fsPath)
	}
	if err != nil {
		os.Remove(name)
		return writeErr(rel, err)
	}
	return nil
}

// writeErr explains a failed write: a directory the plugin may only read is named as such.
func writeErr(rel string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	switch {
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EBADF), errors.Is(err, syscall.EPERM), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: not inside a directory the files plugin may write: grant it fs_write (hermes plugins update files, or reinstall it) or choose a path inside its fs_write grant", rel)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: the parent directory does not exist (set make_dirs to create it)", rel)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%s: no space left (disk or the plugin's write quota)", rel)
	}
	return fmt.Errorf("%s: %v", rel, err)
}

// --- edit ---

type editArgs struct {
	Path    string  `json:"path" desc:"file to change, relative to the workspace (or absolute under /workspace)"`
	OldText *string `json:"old_text,omitempty" desc:"exact text to replace; must occur exactly once in the file (include surrounding lines to make it unique)"`
	NewText *string `json:"new_text,omitempty" desc:"text that replaces old_text (empty deletes it)"`
	Diff    *string `json:"diff,omitempty" desc:"a unified diff of this one file to apply instead of old_text/new_text"`
}

type editResult struct {
	Path string `json:"path"`
	// Hunks is the number of diff hunks applied (1 for a text replacement).
	Hunks int `json:"hunks"`
	// Moved lists the hunks found at another line than their header said, as "hunk N: line A -> B".
	Moved []string `json:"moved,omitempty"`
	Bytes int      `json:"bytes"` // the file's new size
}

func edit(a editArgs) (editResult, error) {
	switch {
	case a.Diff != nil && (a.OldText != nil || a.NewText != nil):
		return editResult{}, errors.New("give either diff or old_text and new_text, not both")
	case a.Diff == nil && a.OldText == nil:
		return editResult{}, errors.New("give old_text and new_text, or a diff")
	case a.OldText != nil && a.NewText == nil:
		return editResult{}, errors.New("new_text is missing (give \"\" to delete old_text)")
	case a.OldText != nil && *a.OldText == "":
		return editResult{}, errors.New("old_text is empty; to write a whole file use write")
	}
	fsPath, rel, err := resolveFile(a.Path)
	if err != nil {
		return editResult{}, err
	}
	old, err := readForEdit(fsPath, rel)
	if err != nil {
		return editResult{}, err
	}
	var updated []byte
	res := editResult{Path: rel, Hunks: 1}
	if a.Diff != nil {
		updated, res.Hunks, res.Moved, err = applyDiff(old, *a.Diff, rel)
	} else {
		updated, err = replaceUnique(old, *a.OldText, *a.NewText, rel)
	}
	if err != nil {
		return editResult{}, err
	}
	if len(updated) > maxFileBytes {
		return editResult{}, fmt.Errorf("%s would be %d bytes after the edit; files are edited up to %d (4 MiB)", rel, len(updated), maxFileBytes)
	}
	if err := atomicWrite(fsPath, rel, updated); err != nil {
		return editResult{}, err
	}
	res.Bytes = len(updated)
	return res, nil
}

func readForEdit(fsPath, rel string) ([]byte, error) {
	f, err := os.Open(fsPath)
	if err != nil {
		return nil, cleanErr(rel, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, cleanErr(rel, err)
	} else if st.Size() > maxFileBytes {
		return nil, fmt.Errorf("%s is %d bytes; edit changes files up to %d (4 MiB)", rel, st.Size(), maxFileBytes)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileBytes+1)); err != nil {
		return nil, cleanErr(rel, err)
	}
	if buf.Len() > maxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes; edit changes files up to 4 MiB", rel, maxFileBytes)
	}
	if isBinary(buf.Bytes()[:min(buf.Len(), sniffBytes)]) {
		return nil, fmt.Errorf("%s is a binary file; edit changes text files only", rel)
	}
	return buf.Bytes(), nil
}

// replaceUnique replaces the one occurrence of old in data. Overlapping occurrences count:
// "aa" occurs twice in "aaa".
func replaceUnique(data []byte, old, repl, rel string) ([]byte, error) {
	var at []int
	for i := 0; i <= len(data)-len(old); {
		j := bytes.Index(data[i:], []byte(old))
		if j < 0 {
			break
		}
		at = append(at, i+j)
		i += j + 1
	}
	switch len(at) {
	case 0:
		return nil, fmt.Errorf("old_text does not occur in %s (stale: the file may have changed since it was read, or whitespace differs); read it again", rel)
	case 1:
		out := make([]byte, 0, len(data)-len(old)+len(repl))
		out = append(append(append(out, data[:at[0]]...), repl...), data[at[0]+len(old):]...)
		return out, nil
	}
	lines := make([]string, 0, maxListedMatches)
	for _, off := range at[:min(len(at), maxListedMatches)] {
		lines = append(lines, fmt.Sprint(bytes.Count(data[:off], []byte("\n"))+1))
	}
	more := ""
	if len(at) > maxListedMatches {
		more = ", …"
	}
	return nil, fmt.Errorf("old_text occurs %d times in %s (at lines %s%s), so which one to change is ambiguous; include more of the surrounding text to make it unique", len(at), rel, strings.Join(lines, ", "), more)
}

// applyDiff applies a unified diff of one file to data. Each hunk's original lines (context and
// removals) must match the file exactly: at the line its header names, or else at exactly one
// other place after the previous hunk (reported in moved). A hunk that matches nowhere is stale,
// one that matches at several places other than its own is ambiguous; either refuses the whole
// diff and nothing is written.
func applyDiff(data []byte, text, rel string) (out []byte, hunks int, moved []string, err error) {
	hs, err := parseHunks(text)
	if err != nil {
		return nil, 0, nil, err
	}
	lines := splitLines(data)
	next := 0  // the first line a hunk may touch: hunks apply in order
	delta := 0 // lines added minus removed by the hunks applied so far
	for i, h := range hs {
		n := i + 1
		orig, repl, err := hunkLines(h)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("diff hunk %d: %w", n, err)
		}
		want := int(h.OrigStartLine) - 1 // 0-based index of the first original line
		if h.OrigLines == 0 {
			want = int(h.OrigStartLine) // an insertion goes after line OrigStartLine
		}
		want += delta
		pos := -1
		if want >= next && matchAt(lines, want, orig) {
			pos = want
		} else if len(orig) == 0 {
			return nil, 0, nil, fmt.Errorf("diff hunk %d (%s) inserts after line %d, but %s has %d lines (stale: read it again)", n, header(h), h.OrigStartLine, rel, len(lines))
		} else {
			var found []int
			for p := next; p+len(orig) <= len(lines); p++ {
				if matchAt(lines, p, orig) {
					found = append(found, p)
				}
			}
			switch len(found) {
			case 0:
				return nil, 0, nil, fmt.Errorf("diff hunk %d (%s) does not match %s: %s (stale: the file may have changed since it was read); read it again and make a new diff", n, header(h), rel, mismatch(lines, want, orig))
			case 1:
				pos = found[0]
				moved = append(moved, fmt.Sprintf("hunk %d: line %d -> %d", n, want-delta+1, pos-delta+1))
			default:
				return nil, 0, nil, fmt.Errorf("diff hunk %d (%s) does not match at its line and its %d original lines occur %d times later in %s, so where it applies is ambiguous; add context lines or fix the line numbers", n, header(h), len(orig), len(found), rel)
			}
		}
		lines = append(lines[:pos], append(append([][]byte{}, repl...), lines[pos+len(orig):]...)...)
		next = pos + len(repl)
		delta += len(repl) - len(orig)
	}
	return bytes.Join(lines, nil), len(hs), moved, nil
}

// parseHunks reads the hunks of a diff of one file, with or without ---/+++ (and git) headers.
func parseHunks(text string) ([]*diff.Hunk, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("diff is empty")
	}
	body := []byte(text)
	if !bytes.HasSuffix(body, []byte("\n")) {
		body = append(body, '\n')
	}
	var hs []*diff.Hunk
	if bytes.HasPrefix(body, []byte("@@")) {
		var err error
		if hs, err = diff.ParseHunks(body); err != nil {
			return nil, fmt.Errorf("diff is not a unified diff: %v", err)
		}
	} else {
		fds, err := diff.ParseMultiFileDiff(body)
		if err != nil {
			return nil, fmt.Errorf("diff is not a unified diff: %v", err)
		}
		if len(fds) == 0 {
			return nil, errors.New("diff is not a unified diff: it has no @@ -a,b +c,d @@ hunks")
		}
		if len(fds) != 1 {
			return nil, fmt.Errorf("diff changes %d files; edit applies the diff of one file (the one path names)", len(fds))
		}
		hs = fds[0].Hunks
	}
	if len(hs) == 0 {
		return nil, errors.New("diff has no hunks (@@ -a,b +c,d @@ lines)")
	}
	return hs, nil
}

// hunkLines splits a hunk's body into the original lines and their replacement, each with its
// line ending, checking the counts its header gives.
func hunkLines(h *diff.Hunk) (orig, repl [][]byte, err error) {
	body := h.Body
	for off := 0; off < len(body); {
		end := bytes.IndexByte(body[off:], '\n')
		line := body[off:]
		if end >= 0 {
			line = body[off : off+end+1]
		}
		lineEnd := off + len(line)
		text := line[1:]
		switch line[0] {
		case ' ':
			orig, repl = append(orig, text), append(repl, text)
		case '-':
			if h.OrigNoNewlineAt > 0 && int(h.OrigNoNewlineAt) == lineEnd {
				text = bytes.TrimSuffix(text, []byte("\n"))
			}
			orig = append(orig, text)
		case '+':
			repl = append(repl, text)
		default:
			return nil, nil, fmt.Errorf("line %q starts with neither ' ', '-' nor '+'", strings.TrimRight(string(line), "\n"))
		}
		off = lineEnd
	}
	if len(orig) != int(h.OrigLines) || len(repl) != int(h.NewLines) {
		return nil, nil, fmt.Errorf("header %s counts %d original and %d new lines, but its body has %d and %d", header(h), h.OrigLines, h.NewLines, len(orig), len(repl))
	}
	return orig, repl, nil
}

func header(h *diff.Hunk) string {
	return fmt.Sprintf("@@ -%d,%d +%d,%d @@", h.OrigStartLine, h.OrigLines, h.NewStartLine, h.NewLines)
}

// splitLines splits data after each newline; the last line may have none.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines, data = append(lines, data[:i+1]), data[i+1:]
	}
	return lines
}

func matchAt(lines [][]byte, pos int, want [][]byte) bool {
	if pos < 0 || pos+len(want) > len(lines) {
		return false
	}
	for i, w := range want {
		if !bytes.Equal(lines[pos+i], w) {
			return false
		}
	}
	return true
}

// mismatch says where the hunk's lines first differ from the file at pos.
func mismatch(lines [][]byte, pos int, want [][]byte) string {
	for i, w := range want {
		if pos+i >= len(lines) || pos+i < 0 {
			return fmt.Sprintf("the file has %d lines; the hunk needs line %d", len(lines), pos+i+1)
		}
		if !bytes.Equal(lines[pos+i], w) {
			return fmt.Sprintf("line %d is %s, the diff expects %s", pos+i+1, quoteLine(lines[pos+i]), quoteLine(w))
		}
	}
	return "its lines occur nowhere after the previous hunk"
}

func quoteLine(b []byte) string {
	s := string(b)
	if len(s) > 120 {
		s = string(cutUTF8(b, 120)) + "…"
	}
	return fmt.Sprintf("%q", s)
}
