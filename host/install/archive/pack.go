package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hermes-agent/hermes/abi/manifest"
)

// packedMode is every entry's mode: the archive carries content, not the packer's umask or
// executable bits, so that it is identical wherever it is made.
const packedMode = 0o644

// compressionLevel is fixed because the level changes the bytes; best compression because a
// plugin is packed once and downloaded many times.
const compressionLevel = gzip.BestCompression

// epoch is every entry's modification time. time.Unix(0, 0) rather than the zero time.Time,
// which is before 1970 and would push the tar writer from USTAR to a PAX record.
var epoch = time.Unix(0, 0)

// Pack reads the plugin in dir and returns its archive's file name ("NAME-VERSION.tar.gz") and
// contents. The archive holds plugin.toml, the module it names, and README.md and LICENSE if
// present, sorted by name, each with mode 0644, owner 0:0 and no owner names, modified at the
// Unix epoch, in a gzip stream with no file name or time: packing the same files gives the same
// bytes on any machine (with the same Go release, whose compress/flate makes the bytes).
//
// Symbolic links and other non-regular files are refused rather than followed: what is packed
// is what is in the directory. A manifest whose sha256 does not match its module is refused,
// as installing that archive would be.
func Pack(dir string) (name string, data []byte, err error) {
	limits := DefaultLimits()
	manifestBytes, err := readRegular(dir, manifest.File, manifest.MaxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("pack %s: %w (a plugin directory needs %s)", dir, err, manifest.File)
	}
	if err != nil {
		return "", nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	m, err := manifest.Parse(manifestBytes)
	if err != nil {
		return "", nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	wasm, err := readRegular(dir, m.Wasm, limits.MaxEntryBytes)
	if err != nil {
		return "", nil, fmt.Errorf("pack %s: module: %w (build the plugin first)", dir, err)
	}
	if m.SHA256 != "" {
		sum := sha256.Sum256(wasm)
		if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
			return "", nil, fmt.Errorf("pack %s: plugin.toml: sha256: %s declares %s but the file's sha256 is %s (update sha256 or rebuild)", dir, m.Wasm, m.SHA256, got)
		}
	}
	files := map[string][]byte{manifest.File: manifestBytes, m.Wasm: wasm}
	for _, optional := range []string{ReadmeFile, LicenseFile} {
		content, err := readRegular(dir, optional, limits.MaxEntryBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("pack %s: %w", dir, err)
		}
		files[optional] = content
	}
	var total int64
	for _, content := range files {
		total += int64(len(content))
	}
	if total > limits.MaxTotalBytes {
		return "", nil, fmt.Errorf("pack %s: the files add up to %d bytes, more than the %d an archive may hold", dir, total, limits.MaxTotalBytes)
	}
	data, err = build(files)
	if err != nil {
		return "", nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return m.Name + "-" + m.Version + ".tar.gz", data, nil
}

// build writes files as a reproducible .tar.gz.
func build(files map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)

	var buf bytes.Buffer
	// NewWriterLevel leaves Header.Name empty, ModTime zero (written as 0, "no time") and OS
	// 255 ("unknown"), so nothing about this machine reaches the gzip header.
	zw, err := gzip.NewWriterLevel(&buf, compressionLevel)
	if err != nil {
		return nil, fmt.Errorf("start gzip stream: %w", err)
	}
	tw := tar.NewWriter(zw)
	for _, name := range names {
		content := files[name]
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Size:     int64(len(content)),
			Mode:     packedMode,
			ModTime:  epoch,
			// Uid, Gid, Uname and Gname stay zero and empty. Format stays unset: the writer
			// picks USTAR, or a PAX record for a name USTAR cannot hold — the same choice for
			// the same name everywhere.
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write tar header for %s: %w", name, err)
		}
		if _, err := tw.Write(content); err != nil {
			return nil, fmt.Errorf("write %s into the archive: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish tar stream: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finish gzip stream: %w", err)
	}
	return buf.Bytes(), nil
}

// readRegular reads dir/name, at most max bytes, refusing symbolic links and anything else
// that is not a regular file. It compares the file it opened with the one it checked, so a
// file swapped for a link in between is refused too. A missing file's error matches
// fs.ErrNotExist.
func readRegular(dir, name string, max int64) ([]byte, error) {
	path := filepath.Join(dir, name)
	checked, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if checked.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link; pack only takes regular files, so replace it with the file it points to", path)
	}
	if !checked.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s); pack only takes regular files", path, checked.Mode().Type())
	}
	if checked.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", path, checked.Size(), max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !os.SameFile(checked, opened) || opened.Size() != checked.Size() {
		return nil, fmt.Errorf("%s changed while it was being packed; pack again", path)
	}
	// One allocation of the right size: modules are megabytes.
	buf := make([]byte, opened.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// A file that grew after Stat would be packed cut short; refuse it rather than pack half.
	var probe [1]byte
	if n, _ := f.Read(probe[:]); n > 0 {
		return nil, fmt.Errorf("%s changed while it was being packed; pack again", path)
	}
	return buf, nil
}
