// Package archive packs a plugin directory into a reproducible .tar.gz and reads one back,
// refusing anything a hostile archive could use to escape, exhaust memory or confuse the
// installer.
//
// A plugin archive is flat: it holds plugin.toml, the module the manifest names (its `wasm`
// key), and README.md and LICENSE when the plugin directory has them — those exact,
// case-sensitive names and nothing else. Other files of the directory (sources, build output,
// signatures) are not packed: the archive carries only what hermes installs, and a signature
// covers the manifest's and module's digests, so it travels next to the archive rather than in
// it.
package archive

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hermes-agent/hermes/abi/manifest"
)

// Optional files packed when present. Fixed names, so that two people packing the same plugin
// get the same archive, and so that Extract can refuse everything else.
const (
	ReadmeFile  = "README.md"
	LicenseFile = "LICENSE"
)

// Limits bound what Extract accepts. A zero field means its default (DefaultLimits); a
// negative field is an error.
type Limits struct {
	// MaxEntryBytes bounds one file. Default 128 MiB: the largest module the registry loads
	// (registry.MaxWasmBytes).
	MaxEntryBytes int64
	// MaxTotalBytes bounds the files' sizes added up. Default 256 MiB: a largest module plus
	// its manifest and documents, with room to spare.
	MaxTotalBytes int64
	// MaxEntries bounds the number of entries. Default 64. A valid archive has at most four;
	// the bound is a second line of defence should the set of packed files grow.
	MaxEntries int
}

// DefaultLimits returns the limits Extract applies to the fields a caller left zero.
func DefaultLimits() Limits {
	return Limits{
		MaxEntryBytes: 128 << 20,
		MaxTotalBytes: 256 << 20,
		MaxEntries:    64,
	}
}

// withDefaults fills zero fields and refuses negative ones.
func (l Limits) withDefaults() (Limits, error) {
	d := DefaultLimits()
	if l.MaxEntryBytes < 0 || l.MaxTotalBytes < 0 || l.MaxEntries < 0 {
		return l, fmt.Errorf("archive limits %+v: a limit cannot be negative (leave it zero for the default)", l)
	}
	if l.MaxEntryBytes == 0 {
		l.MaxEntryBytes = d.MaxEntryBytes
	}
	if l.MaxTotalBytes == 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l, nil
}

// Files is a plugin read out of an archive.
type Files struct {
	// Manifest is plugin.toml, parsed and validated.
	Manifest *manifest.Manifest
	// ByName holds every file by its name: plugin.toml, the module (Manifest.Wasm), and
	// README.md / LICENSE when the archive has them.
	ByName map[string][]byte
}

// ManifestBytes returns plugin.toml as it was in the archive: what a signature's
// manifest_sha256 covers.
func (f Files) ManifestBytes() []byte { return f.ByName[manifest.File] }

// Wasm returns the module.
func (f Files) Wasm() []byte {
	if f.Manifest == nil {
		return nil
	}
	return f.ByName[f.Manifest.Wasm]
}

// Kinds of refusal, for errors.Is. Every error Extract returns is an *Error wrapping one of
// these.
var (
	ErrUnsafePath       = errors.New("unsafe path")
	ErrUnsupportedType  = errors.New("not a regular file")
	ErrDuplicateEntry   = errors.New("duplicate entry")
	ErrTooManyEntries   = errors.New("too many entries")
	ErrTooLarge         = errors.New("too large")
	ErrUnexpectedLayout = errors.New("not a plugin archive layout")
	ErrCorrupt          = errors.New("corrupt archive")
)

// Error is a refused archive. Its text is one line: the entry, then what was wrong with it.
type Error struct {
	Entry  string // the offending entry's name; empty for the archive as a whole (or a nameless entry)
	Kind   error  // one of the Err* values above
	Reason string // what was wrong, in words
	Err    error  // the underlying error (gzip, tar, manifest), if any
}

func (e *Error) Error() string {
	msg := e.Reason
	if e.Err != nil {
		msg += ": " + firstLine(e.Err.Error())
	}
	if e.Entry == "" {
		return "plugin archive: " + msg
	}
	return fmt.Sprintf("plugin archive: entry %q: %s", e.Entry, msg)
}

// Unwrap lets errors.Is match both the kind and the underlying error.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
