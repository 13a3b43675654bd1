package scan

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// readSkill loads a corpus skill once, so the benchmark measures scanning only.
func readSkill(b *testing.B, dir string) []File {
	b.Helper()
	root := filepath.Join("..", "..", "..", "testdata", "skills", dir)
	var files []File
	err := fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join(root, p))
		files = append(files, File{Path: p, Data: data})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// BenchmarkScanTypicalSkill scans realistic skills: a SKILL.md with code blocks, references,
// templates and a script (the time `hermes skills install` adds for scanning).
func BenchmarkScanTypicalSkill(b *testing.B) {
	for _, dir := range []string{"benign/weather-brief", "benign/git-commit-helper", "malicious/persistence-cron-rc"} {
		files := readSkill(b, dir)
		size := 0
		for _, f := range files {
			size += len(f.Data)
		}
		b.Run(filepath.Base(dir), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				Scan(files, Options{DeclaredEnv: []string{"WEATHER_API_KEY"}})
			}
		})
	}
}
