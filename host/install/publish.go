package install

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/install/archive"
	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/install/signing"
	"github.com/hermes-agent/hermes/host/registry"
)

// PackTo packs the plugin in dir into outDir/NAME-VERSION.tar.gz (written atomically) and
// returns its path.
func PackTo(dir, outDir string) (string, error) {
	name, data, err := archive.Pack(dir)
	if err != nil {
		return "", err
	}
	path := filepath.Join(outDir, name)
	if err := config.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// Sign signs a packed NAME-VERSION.tar.gz (writing NAME-VERSION.tar.gz.sig beside it) or a
// plugin directory (writing plugin.sig into it), and returns the signature's path.
func Sign(target string, key ed25519.PrivateKey) (string, error) {
	info, err := os.Stat(target)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", target, err)
	}
	var (
		files   registry.Files
		m       *manifest.Manifest
		sigPath string
	)
	if info.IsDir() {
		if files, m, err = registry.ReadDir(target); err != nil {
			return "", err
		}
		sigPath = filepath.Join(target, signatureFile)
	} else {
		data, err := readBounded(target, maxArchiveBytes)
		if err != nil {
			return "", fmt.Errorf("sign %s: %w", target, err)
		}
		f := &Fetched{}
		if err := f.unpack(data, target); err != nil {
			return "", err
		}
		files, m, sigPath = f.Files, f.Manifest, target+sigSuffix
	}
	sig, err := signing.Sign(key, signing.SubjectOf(files.Manifest, files.Wasm, m.Name, m.Version))
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", target, err)
	}
	if err := config.WriteFileAtomic(sigPath, sig.Marshal(), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", sigPath, err)
	}
	return sigPath, nil
}

// Publish packs the plugin in dir and pushes it to ref, signed with key (nil: with the
// directory's plugin.sig if it has one, else unsigned). It returns the manifest digest.
func (in *Installer) Publish(ctx context.Context, dir string, ref oci.Reference, key ed25519.PrivateKey) (string, error) {
	archiveName, data, err := archive.Pack(dir)
	if err != nil {
		return "", err
	}
	f := &Fetched{}
	if err := f.unpack(data, archiveName); err != nil {
		return "", err
	}
	var sig []byte
	switch {
	case key != nil:
		s, err := signing.Sign(key, signing.SubjectOf(f.Files.Manifest, f.Files.Wasm, f.Manifest.Name, f.Manifest.Version))
		if err != nil {
			return "", fmt.Errorf("publish %s: %w", dir, err)
		}
		sig = s.Marshal()
	default:
		if sig, err = readOptional(filepath.Join(dir, signatureFile)); err != nil {
			return "", err
		}
	}
	opts := in.ociOptions()
	if in.progress != nil {
		bar := newBar(in.progress, "uploading to "+ref.String())
		opts.Progress = bar.update
		defer bar.done()
	}
	return oci.Push(ctx, ref, oci.Artifact{Name: f.Manifest.Name, Version: f.Manifest.Version, ArchiveName: archiveName, Archive: data, Signature: sig}, opts)
}
