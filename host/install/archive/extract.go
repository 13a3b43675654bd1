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
	"strings"

	"github.com/hermes-agent/hermes/abi/manifest"
)

// headerAllowance is how many decompressed bytes each entry may spend besides its content:
// its 512-byte header, padding to a 512-byte block, and any PAX or GNU long-name records. The
// tar reader reads those records itself, before Extract sees the entry, so they are bounded
// through the whole stream's budget (see streamBudget) rather than per entry.
const headerAllowance = 64 << 10

// Extract reads a plugin archive made by Pack, in memory, and returns its files. Nothing is
// written to disk. It refuses, with an *Error naming the entry and what was wrong with it, the
// first of, for each entry in turn:
//
//   - more than limits.MaxEntries entries (ErrTooManyEntries);
//   - an unsafe name: empty, absolute, with a drive letter, containing ".." or a backslash
//     (ErrUnsafePath);
//   - an entry that is not a regular file: a directory, link, device, FIFO or any other type
//     (ErrUnsupportedType) — the layout is flat, so directories are refused too;
//   - a name with a directory part, such as "./plugin.toml" (ErrUnexpectedLayout);
//   - a name seen before (ErrDuplicateEntry);
//   - a file other than plugin.toml, one .wasm module, README.md and LICENSE
//     (ErrUnexpectedLayout);
//   - a file above limits.MaxEntryBytes (plugin.toml above manifest.MaxBytes), or files adding
//     up to more than limits.MaxTotalBytes (ErrTooLarge), checked against each header and again
//     while reading, so that no more than the limit and one byte is ever decompressed on the
//     strength of a header;
//
// and then, for the archive as a whole:
//
//   - a decompressed stream longer than the files' budget plus 64 KiB per entry for headers,
//     which stops gzip bombs hidden in tar metadata or padding (ErrTooLarge) — checked all
//     along;
//   - a damaged, truncated or non-gzip stream, a bad tar header, or non-zero data after the
//     end of the tar archive (ErrCorrupt) — also found while reading entries;
//   - no plugin.toml, an invalid one, or a module other than the one it names, or one whose
//     digest differs from its sha256 (ErrUnexpectedLayout).
//
// Entry modes, owners and times are ignored: nothing is written with them.
//
// data is the whole archive; the caller bounds what it downloads (a valid archive is smaller
// than limits.MaxTotalBytes plus a few KiB, as modules barely compress).
func Extract(data []byte, limits Limits) (Files, error) {
	return extract(bytes.NewReader(data), limits)
}

// extract is Extract over a reader, so tests can count how much of a hostile stream was read.
func extract(compressed io.Reader, limits Limits) (Files, error) {
	limits, err := limits.withDefaults()
	if err != nil {
		return Files{}, err
	}
	zr, err := gzip.NewReader(compressed)
	if err != nil {
		return Files{}, corrupt("", "not a gzip stream", err)
	}
	defer zr.Close()
	stream := &budgetReader{r: zr, left: streamBudget(limits)}
	tr := tar.NewReader(stream)

	files := make(map[string][]byte)
	var (
		entries  int
		total    int64
		wasmName string
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Files{}, streamError(stream, "", "reading the next tar header", err)
		}
		name := hdr.Name
		entries++
		if entries > limits.MaxEntries {
			return Files{}, &Error{Entry: name, Kind: ErrTooManyEntries, Reason: fmt.Sprintf("more than %d entries", limits.MaxEntries)}
		}
		if reason := unsafeName(name); reason != "" {
			return Files{}, &Error{Entry: name, Kind: ErrUnsafePath, Reason: reason}
		}
		if hdr.Typeflag != tar.TypeReg {
			return Files{}, &Error{Entry: name, Kind: ErrUnsupportedType, Reason: describeType(hdr.Typeflag) + "; a plugin archive holds only regular files, in one flat directory"}
		}
		if strings.Contains(name, "/") {
			return Files{}, &Error{Entry: name, Kind: ErrUnexpectedLayout, Reason: `has a directory part; a plugin archive is flat, its names are plain file names like "plugin.toml" (make it with hermes plugins pack)`}
		}
		if _, seen := files[name]; seen {
			return Files{}, &Error{Entry: name, Kind: ErrDuplicateEntry, Reason: "appears twice"}
		}
		switch {
		case name == manifest.File || name == ReadmeFile || name == LicenseFile:
		case strings.HasSuffix(name, ".wasm"):
			if wasmName != "" {
				return Files{}, &Error{Entry: name, Kind: ErrUnexpectedLayout, Reason: fmt.Sprintf("a second module (the archive already has %q); a plugin has one", wasmName)}
			}
			wasmName = name
		default:
			return Files{}, &Error{Entry: name, Kind: ErrUnexpectedLayout, Reason: fmt.Sprintf("unexpected file; a plugin archive holds only %s, one .wasm module, %s and %s", manifest.File, ReadmeFile, LicenseFile)}
		}

		entryLimit := limits.MaxEntryBytes
		if name == manifest.File {
			entryLimit = min(entryLimit, manifest.MaxBytes)
		}
		content, err := readEntry(tr, stream, hdr, entryLimit, limits.MaxTotalBytes-total, limits.MaxTotalBytes)
		if err != nil {
			return Files{}, err
		}
		total += int64(len(content))
		files[name] = content
	}
	if err := checkTrailer(stream); err != nil {
		return Files{}, err
	}
	return checkLayout(files, wasmName)
}

// streamBudget bounds the whole decompressed tar stream: every file at its largest, plus
// headers and padding for every entry and the end-of-archive blocks. Without it, a stream of
// PAX records that never reaches a file entry would be decompressed for as long as it lasts.
func streamBudget(l Limits) int64 {
	return l.MaxTotalBytes + int64(l.MaxEntries+1)*headerAllowance
}

// readEntry reads one file, refusing it by its header before reading anything when the header
// already says it is too large, and again while reading should more data arrive than either
// limit allows.
func readEntry(tr *tar.Reader, stream *budgetReader, hdr *tar.Header, entryLimit, totalLeft, totalLimit int64) ([]byte, error) {
	name := hdr.Name
	tooLarge := func(size int64) error {
		if size > entryLimit {
			return &Error{Entry: name, Kind: ErrTooLarge, Reason: fmt.Sprintf("%d bytes or more, above the limit of %d bytes for one file", size, entryLimit)}
		}
		return &Error{Entry: name, Kind: ErrTooLarge, Reason: fmt.Sprintf("brings the files to more than the limit of %d bytes for an archive", totalLimit)}
	}
	if hdr.Size < 0 {
		return nil, corrupt(name, fmt.Sprintf("header gives a negative size (%d)", hdr.Size), nil)
	}
	budget := min(entryLimit, totalLeft)
	if hdr.Size > budget {
		return nil, tooLarge(hdr.Size)
	}
	// The size was checked against the limits just above, so one allocation of it is bounded.
	content := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, content); err != nil {
		return nil, streamError(stream, name, "reading its content", err)
	}
	// The tar reader stops at the header's size; this makes sure of it, reading one byte past
	// and no more.
	var probe [1]byte
	n, err := io.ReadFull(tr, probe[:])
	if n > 0 {
		return nil, tooLarge(hdr.Size + 1)
	}
	if err != nil && err != io.EOF {
		return nil, streamError(stream, name, "reading its content", err)
	}
	return content, nil
}

// checkTrailer reads what follows the tar end-of-archive marker. Tar writers pad with zeros;
// anything else is data no one would see installed, so the archive is refused. Reading to the
// end also makes gzip check its CRC and length, which is how a damaged stream is caught.
func checkTrailer(stream *budgetReader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := stream.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return corrupt("", "data after the end of the tar archive", nil)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return streamError(stream, "", "reading the end of the archive", err)
		}
	}
}

// checkLayout checks the files make a plugin: a valid plugin.toml naming the module present.
func checkLayout(files map[string][]byte, wasmName string) (Files, error) {
	manifestBytes, ok := files[manifest.File]
	if !ok {
		return Files{}, &Error{Kind: ErrUnexpectedLayout, Reason: fmt.Sprintf("no %s; this is not a plugin archive (make one with hermes plugins pack)", manifest.File)}
	}
	m, err := manifest.Parse(manifestBytes)
	if err != nil {
		return Files{}, &Error{Entry: manifest.File, Kind: ErrUnexpectedLayout, Reason: "invalid manifest", Err: err}
	}
	switch {
	case wasmName == "":
		return Files{}, &Error{Entry: manifest.File, Kind: ErrUnexpectedLayout, Reason: fmt.Sprintf("names module %q, which the archive does not have", m.Wasm)}
	case wasmName != m.Wasm:
		return Files{}, &Error{Entry: wasmName, Kind: ErrUnexpectedLayout, Reason: fmt.Sprintf("is not the module plugin.toml names (%q)", m.Wasm)}
	}
	if m.SHA256 != "" {
		sum := sha256.Sum256(files[wasmName])
		if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
			return Files{}, &Error{Entry: wasmName, Kind: ErrUnexpectedLayout, Reason: fmt.Sprintf("has sha256 %s but plugin.toml declares %s", got, m.SHA256)}
		}
	}
	return Files{Manifest: m, ByName: files}, nil
}

// unsafeName says what is wrong with a name that could point outside a destination directory,
// or "" when it cannot.
func unsafeName(name string) string {
	switch {
	case name == "":
		return "an entry has an empty name"
	case strings.Contains(name, `\`):
		return `contains a backslash, a path separator on Windows`
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	case len(name) >= 2 && name[1] == ':':
		return "starts with a drive letter"
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return `contains ".."`
		}
	}
	return ""
}

func describeType(flag byte) string {
	switch flag {
	case tar.TypeDir:
		return "is a directory"
	case tar.TypeSymlink:
		return "is a symbolic link"
	case tar.TypeLink:
		return "is a hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "is a device"
	case tar.TypeFifo:
		return "is a FIFO"
	case tar.TypeXGlobalHeader:
		return "is a PAX global header"
	default:
		return fmt.Sprintf("has entry type %q", flag)
	}
}

func corrupt(entry, reason string, err error) error {
	return &Error{Entry: entry, Kind: ErrCorrupt, Reason: reason, Err: err}
}

// streamError turns a read failure into an *Error: the stream budget running out is
// ErrTooLarge, anything else is a damaged or truncated archive.
func streamError(stream *budgetReader, entry, doing string, err error) error {
	if stream.exceeded {
		return &Error{Entry: entry, Kind: ErrTooLarge, Reason: fmt.Sprintf("the archive decompresses to more than %d bytes", stream.limit())}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt(entry, "truncated while "+doing, err)
	}
	return corrupt(entry, "damaged: failed "+doing, err)
}

// budgetReader fails once more than left bytes have been asked of it, having handed over at
// most left — the last line against a stream that decompresses forever.
type budgetReader struct {
	r        io.Reader
	left     int64
	read     int64
	exceeded bool
}

var errBudget = errors.New("decompressed stream budget exhausted")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a stream that ends exactly at the budget from one that goes on.
		var probe [1]byte
		n, err := b.r.Read(probe[:])
		if n > 0 {
			b.exceeded = true
			return 0, errBudget
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	b.read += int64(n)
	return n, err
}

func (b *budgetReader) limit() int64 { return b.read + b.left }
