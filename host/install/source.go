package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/install/archive"
	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/registry"
)

// Kind is where a plugin comes from.
type Kind int

const (
	FromDir     Kind = iota // a plugin directory (plugin.toml, the module, maybe plugin.sig)
	FromArchive             // a NAME-VERSION.tar.gz, its signature beside it as NAME-VERSION.tar.gz.sig
	FromOCI                 // an artifact in an OCI registry, signature inside it
	FromExtism              // an Extism manifest (JSON) naming one module: see ReadExtism
)

// Source is a parsed install source.
type Source struct {
	Kind    Kind
	Path    string        // absolute, for FromDir and FromArchive
	Ref     oci.Reference // for FromOCI
	Project bool          // a directory under the workspace's .hermes/plugins/
	Skill   string        // the skill whose tool this is (a directory inside the installed skill)
	// Name and Version name and number a plugin made from an Extism manifest (FromExtism),
	// which has neither; "" derives them (ExtismOptions).
	Name, Version string
}

// Recorded prefixes of Source in the lock.
const (
	prefixDir     = "dir:"
	prefixProject = registry.ProjectSourcePrefix
	prefixFile    = "file:"
	prefixSkill   = "skill:" // skill:<skill>:<dir>
	prefixExtism  = "extism:"
)

// String is the source as the lock records it.
func (s Source) String() string {
	switch s.Kind {
	case FromArchive:
		return prefixFile + s.Path
	case FromOCI:
		return s.Ref.String()
	case FromExtism:
		return prefixExtism + s.Path
	}
	switch {
	case s.Skill != "":
		return prefixSkill + s.Skill + ":" + s.Path
	case s.Project:
		return prefixProject + s.Path
	}
	return prefixDir + s.Path
}

// ParseSource reads what the user typed after `hermes plugins install`: oci://…, a directory,
// or a .tar.gz file. workspace locates project-local plugins.
func ParseSource(arg, workspace string) (Source, error) {
	if strings.HasPrefix(arg, oci.Scheme) {
		ref, err := oci.ParseReference(arg)
		if err != nil {
			return Source{}, err
		}
		return Source{Kind: FromOCI, Ref: ref}, nil
	}
	for _, p := range []string{prefixDir, prefixProject, prefixFile, prefixExtism} {
		arg = strings.TrimPrefix(arg, p) // a source copied from `plugins info`
	}
	abs, err := filepath.Abs(arg)
	if err != nil {
		return Source{}, fmt.Errorf("plugin source %s: %w", arg, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return Source{}, fmt.Errorf("plugin source %s: %w (give a plugin directory, a NAME-VERSION.tar.gz or oci://HOST/REPO:TAG)", arg, err)
	}
	switch {
	case info.IsDir():
		return Source{Kind: FromDir, Path: abs, Project: isProjectLocal(abs, workspace)}, nil
	case info.Mode().IsRegular() && (strings.HasSuffix(abs, ".tar.gz") || strings.HasSuffix(abs, ".tgz")):
		return Source{Kind: FromArchive, Path: abs}, nil
	case info.Mode().IsRegular() && IsExtismManifest(abs):
		return Source{Kind: FromExtism, Path: abs}, nil
	}
	return Source{}, fmt.Errorf("plugin source %s: neither a directory, a .tar.gz nor an Extism manifest .json (give a plugin directory, a NAME-VERSION.tar.gz, a MANIFEST.json or oci://HOST/REPO:TAG)", arg)
}

// isProjectLocal reports whether dir is inside the workspace's .hermes/plugins/.
func isProjectLocal(dir, workspace string) bool {
	rel, err := filepath.Rel(projectPluginsDir(workspace), dir)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// projectPluginsDir is the workspace's .hermes/plugins/; the workspace is the current directory
// when none is configured, as for plugins' {workspace}.
func projectPluginsDir(workspace string) string {
	if workspace == "" {
		workspace, _ = os.Getwd()
	}
	ws, err := filepath.Abs(workspace)
	if err != nil {
		ws = workspace
	}
	return filepath.Join(ws, ".hermes", "plugins")
}

// IsProjectSource reports whether a recorded source is a project-local plugin.
func IsProjectSource(recorded string) bool { return strings.HasPrefix(recorded, prefixProject) }

// Fetched is a plugin's bytes as they came, not yet verified beyond what reading them took.
type Fetched struct {
	Source    Source
	Recorded  string // what the lock will record: for OCI, pinned to the manifest digest
	Files     registry.Files
	Manifest  *manifest.Manifest
	Signature []byte // nil when none came with it
	Digest    string // OCI manifest digest, "sha256:…"
}

// maxArchiveBytes bounds a .tar.gz read from disk; Extract bounds what it expands to.
const maxArchiveBytes = 256 << 20

// sigSuffix is appended to an archive's path for its signature; inside a directory the
// signature is plugin.sig.
const sigSuffix = ".sig"

// Fetch reads a plugin from src: the manifest is parsed and an archive unpacked safely (no path
// traversal, links, or absurd sizes), and for OCI every blob is checked against its digest.
func (in *Installer) Fetch(ctx context.Context, src Source) (*Fetched, error) {
	f := &Fetched{Source: src, Recorded: src.String()}
	switch src.Kind {
	case FromDir:
		files, m, err := registry.ReadDir(src.Path)
		if err != nil {
			return nil, err
		}
		f.Files, f.Manifest = files, m
		if f.Signature, err = readOptional(filepath.Join(src.Path, signatureFile)); err != nil {
			return nil, err
		}
		return f, nil
	case FromArchive:
		data, err := readBounded(src.Path, maxArchiveBytes)
		if err != nil {
			return nil, &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: %v", src.Path, err), Err: err}
		}
		if err := f.unpack(data, src.Path); err != nil {
			return nil, err
		}
		if f.Signature, err = readOptional(src.Path + sigSuffix); err != nil {
			return nil, err
		}
		return f, nil
	case FromOCI:
		opts := in.ociOptions()
		if in.progress != nil {
			bar := newBar(in.progress, "downloading "+src.Ref.String())
			opts.Progress = bar.update
			defer bar.done()
		}
		pulled, err := oci.Pull(ctx, src.Ref, opts)
		if err != nil {
			return nil, err
		}
		if err := f.unpack(pulled.Archive, src.Ref.String()); err != nil {
			return nil, err
		}
		if f.Manifest.Name != pulled.Name || f.Manifest.Version != pulled.Version {
			return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: f.Manifest.Name, Message: fmt.Sprintf("%s: the artifact says %s %s but its plugin.toml says %s %s; refusing a mislabelled artifact", src.Ref, pulled.Name, pulled.Version, f.Manifest.Name, f.Manifest.Version)}
		}
		f.Signature, f.Digest = pulled.Signature, pulled.Digest
		pinned := src.Ref
		pinned.Digest = pulled.Digest
		f.Recorded = pinned.String()
		return f, nil
	case FromExtism:
		// No signature: an Extism manifest has none, and the plugin.toml is made here.
		p, err := ReadExtism(ctx, src.Path, ExtismOptions{Name: src.Name, Version: src.Version, HTTPClient: in.http})
		if err != nil {
			return nil, err
		}
		f.Files, f.Manifest = registry.Files{Manifest: p.TOML, Wasm: p.Wasm}, p.Manifest
		return f, nil
	}
	return nil, fmt.Errorf("fetch: unknown source kind %d", src.Kind)
}

func (f *Fetched) unpack(data []byte, what string) error {
	files, err := archive.Extract(data, archive.Limits{MaxEntryBytes: registry.MaxWasmBytes})
	if err != nil {
		return &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: %v", what, err), Err: err}
	}
	f.Manifest = files.Manifest
	f.Files = registry.Files{Manifest: files.ManifestBytes(), Wasm: files.Wasm()}
	return nil
}

// signatureFile is a plugin directory's signature, as `hermes plugins sign DIR` writes it.
const signatureFile = "plugin.sig"

// maxSignatureBytes bounds a signature document.
const maxSignatureBytes = 64 << 10

// readOptional reads a small file that may be absent (nil, nil).
func readOptional(path string) ([]byte, error) {
	data, err := readBounded(path, maxSignatureBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("signature %s: %v", path, err), Err: err}
	}
	return data, nil
}

// readBounded reads a regular file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(file, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return data, nil
}
