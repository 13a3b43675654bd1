// Command guest is a test fixture for package fsguard: a GOOS=wasip1 program that performs the
// file operations named by its arguments and reports each result as one JSON line on stdout.
//
// Each argument is an operation and its operands separated by "|", for example "read|/workspace/a"
// or "rename|/workspace/a|/workspace/b".
package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

type result struct {
	Op   string   `json:"op"`
	Args []string `json:"args"`
	OK   bool     `json:"ok"`
	Out  string   `json:"out,omitempty"`
	Err  string   `json:"err,omitempty"`
}

func main() {
	enc := json.NewEncoder(os.Stdout)
	for _, arg := range os.Args[1:] {
		f := strings.Split(arg, "|")
		out, err := run(f[0], f[1:])
		r := result{Op: f[0], Args: f[1:], OK: err == nil, Out: out}
		if err != nil {
			r.Err = err.Error()
		}
		enc.Encode(r)
	}
}

func run(op string, a []string) (string, error) {
	switch op {
	case "read":
		b, err := os.ReadFile(a[0])
		return string(b), err
	case "readdir":
		entries, err := os.ReadDir(a[0])
		var names []string
		for _, e := range entries {
			names = append(names, e.Name()+":"+e.Type().String())
		}
		return strings.Join(names, ","), err
	case "walk":
		var paths []string
		err := filepath.WalkDir(a[0], func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			paths = append(paths, p)
			return nil
		})
		return strings.Join(paths, ","), err
	case "stat", "lstat":
		stat := os.Stat
		if op == "lstat" {
			stat = os.Lstat
		}
		fi, err := stat(a[0])
		if err != nil {
			return "", err
		}
		return fi.Mode().String(), nil
	case "write":
		return "", os.WriteFile(a[0], []byte(a[1]), 0o644)
	case "append":
		f, err := os.OpenFile(a[0], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return "", err
		}
		_, err = f.WriteString(a[1])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return "", err
	case "mkdirall":
		return "", os.MkdirAll(a[0], 0o755)
	case "rename":
		return "", os.Rename(a[0], a[1])
	case "remove":
		return "", os.Remove(a[0])
	case "symlink":
		return "", os.Symlink(a[0], a[1])
	case "link":
		return "", os.Link(a[0], a[1])
	case "openat3":
		// Hand the path to WASI as is, relative to the first preopen (fd 3), bypassing the
		// lexical cleaning Go's os package does.
		fd, err := syscall.Openat(3, a[0], syscall.O_RDONLY, 0)
		if err != nil {
			return "", err
		}
		defer syscall.Close(fd)
		buf := make([]byte, 4096)
		n, err := syscall.Read(fd, buf)
		return string(buf[:max(n, 0)]), err
	}
	return "", os.ErrInvalid
}
