package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/install/signing"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/store"
)

// Severity of an audit finding. Notes are facts worth knowing that are not problems (an
// unsigned plugin the user chose to install); anything else makes `plugins audit` fail.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityNote    = "note"
)

// Finding is one thing an audit found.
type Finding struct {
	Plugin   string `json:"plugin"`
	Severity string `json:"severity"`
	Problem  string `json:"problem"`
	Fix      string `json:"fix,omitempty"`
}

// Report is the result of an audit.
type Report struct {
	Checked  []string  `json:"checked"`
	Findings []Finding `json:"findings"`
}

// Failed reports whether any finding is more than a note.
func (r *Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity != SeverityNote {
			return true
		}
	}
	return false
}

// Audit re-verifies installed plugins (all, or the one named) against their lock entries, from
// scratch: the seal, the manifest and module digest, the signature against the keys trusted
// today, the files of kept versions, and — when the registry is reachable — whether the OCI tag
// the plugin came from still points at the bytes that were installed. It also lists directories
// under plugins/ that have no lock entry (they are never loaded).
func (in *Installer) Audit(ctx context.Context, name string) (*Report, error) {
	var infos []registry.Info
	if name != "" {
		info, err := in.reg.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		infos = []registry.Info{info}
	} else {
		var err error
		if infos, err = in.reg.List(ctx); err != nil {
			return nil, err
		}
	}
	trusted, err := in.trustedKeys(ctx)
	if err != nil {
		return nil, err
	}
	report := &Report{Checked: []string{}, Findings: []Finding{}}
	for _, info := range infos {
		report.Checked = append(report.Checked, info.Name)
		report.Findings = append(report.Findings, in.auditPlugin(ctx, info, trusted)...)
	}
	if name == "" {
		unverified, err := in.Unverified(ctx)
		if err != nil {
			return nil, err
		}
		for _, dir := range unverified {
			report.Findings = append(report.Findings, Finding{Plugin: filepath.Base(dir), Severity: SeverityWarning,
				Problem: dir + " has no lock entry: it was not installed by hermes and is not loaded",
				Fix:     "remove it, or install it with: hermes plugins install " + dir})
		}
	}
	return report, nil
}

func (in *Installer) auditPlugin(ctx context.Context, info registry.Info, trusted []signing.TrustedKey) []Finding {
	var out []Finding
	add := func(severity, problem, fix string) {
		out = append(out, Finding{Plugin: info.Name, Severity: severity, Problem: problem, Fix: fix})
	}
	reinstall := fmt.Sprintf("hermes plugins reset %s --restore, or remove it and install it again from a source you trust", info.Name)
	if err := in.reg.Verify(ctx, info.Name); err != nil {
		add(SeverityError, err.Error(), reinstall)
		return out // nothing below means anything if the entry or the bytes are not the locked ones
	}
	rec, err := in.reg.Record(ctx, info.Name)
	if err != nil {
		add(SeverityError, err.Error(), "")
		return out
	}
	out = append(out, in.auditSignature(rec, trusted)...)
	if IsProjectSource(rec.Source) && !in.cfg.Plugins.ProjectLocal {
		add(SeverityNote, "project-local plugin: not loaded while plugins.project_local is off", "hermes config set plugins.project_local true")
	}
	if !info.Enabled {
		add(SeverityNote, "disabled", "hermes plugins enable "+info.Name)
	}
	out = append(out, in.auditSourceTag(ctx, rec)...)
	kept, err := in.reg.Versions(ctx, info.Name)
	if err != nil {
		add(SeverityError, err.Error(), "")
		return out
	}
	for _, k := range kept {
		if k.Dir == rec.Dir {
			continue
		}
		files, _, err := registry.ReadDir(k.Dir)
		switch {
		case err != nil:
			add(SeverityWarning, fmt.Sprintf("kept version %s cannot be read, so it cannot be restored: %v", k.Version, err), "")
		case sha256Hex(files.Wasm) != k.WasmSHA256 || !bytes.Equal(files.Manifest, k.Manifest):
			add(SeverityError, fmt.Sprintf("kept version %s: its files in %s changed since it was installed", k.Version, k.Dir), "delete that directory; it will not be restored")
		}
	}
	return out
}

func (in *Installer) auditSignature(rec store.PluginRecord, trusted []signing.TrustedKey) []Finding {
	finding := func(severity, problem, fix string) []Finding {
		return []Finding{{Plugin: rec.Name, Severity: severity, Problem: problem, Fix: fix}}
	}
	if len(rec.Signature) == 0 {
		return finding(SeverityNote, "unsigned: installed with --allow-unsigned", "")
	}
	if onDisk, err := os.ReadFile(filepath.Join(rec.Dir, signatureFile)); err != nil || !bytes.Equal(onDisk, rec.Signature) {
		return finding(SeverityError, "the signature kept with its files differs from the one recorded at install", "hermes plugins reset "+rec.Name+" --restore")
	}
	sig, err := signing.ParseSignature(rec.Signature)
	if err != nil {
		return finding(SeverityError, "recorded signature: "+err.Error(), "")
	}
	m, _, err := registry.ReadDir(rec.Dir)
	if err != nil {
		return finding(SeverityError, err.Error(), "")
	}
	_, err = signing.Verify(sig, signing.SubjectOf(m.Manifest, m.Wasm, rec.Name, rec.Version), trusted)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, signing.ErrUntrustedKey) && rec.Signer == "":
		return finding(SeverityNote, fmt.Sprintf("signed by key %s, which you have not trusted; installed with --allow-unsigned", signing.Fingerprint(sig.PublicKey)), "")
	case errors.Is(err, signing.ErrUntrustedKey):
		return finding(SeverityWarning, fmt.Sprintf("signed by %s, whose key (%s) is no longer trusted; it does not load", rec.Signer, rec.SignerKey),
			fmt.Sprintf("trust the key again, or: hermes plugins remove %s", rec.Name))
	}
	return finding(SeverityError, err.Error(), "hermes plugins reset "+rec.Name+" --restore")
}

// auditSourceTag asks the registry what the tag the plugin came from points at now. A tag
// named like the installed version that moved is a finding (that version now has other
// bytes); a tag like "latest" that moved only means an update may be waiting.
func (in *Installer) auditSourceTag(ctx context.Context, rec store.PluginRecord) []Finding {
	if !strings.HasPrefix(rec.Source, oci.Scheme) {
		return nil
	}
	ref, err := oci.ParseReference(rec.Source)
	if err != nil || ref.Tag == "" || ref.Digest == "" {
		return nil
	}
	pinned := ref.Digest
	ref.Digest = ""
	now, err := oci.Resolve(ctx, ref, in.ociOptions())
	if err != nil {
		return []Finding{{Plugin: rec.Name, Severity: SeverityNote, Problem: "could not check the registry: " + firstLine(err.Error())}}
	}
	if now == pinned {
		return nil
	}
	if strings.TrimPrefix(ref.Tag, "v") == rec.Version {
		return []Finding{{Plugin: rec.Name, Severity: SeverityError,
			Problem: fmt.Sprintf("%s now points to %s, but %s %s was installed from %s: the tag was moved to other bytes", ref, now, rec.Name, rec.Version, pinned),
			Fix:     "keep the installed version; ask the publisher why the tag moved"}}
	}
	return []Finding{{Plugin: rec.Name, Severity: SeverityNote, Problem: fmt.Sprintf("%s now points to %s: an update may be available", ref, now), Fix: "hermes plugins update " + rec.Name}}
}

// Unverified lists plugin directories with no lock entry: under plugins/ in the home, and the
// workspace's .hermes/plugins/ when project-local plugins are on. They are never loaded.
func (in *Installer) Unverified(ctx context.Context) ([]string, error) {
	infos, err := in.reg.List(ctx)
	if err != nil {
		return nil, err
	}
	locked := map[string]bool{}
	for _, info := range infos {
		locked[info.Name] = true
		if src, err := recordedSource(info.Source); err == nil && src.Kind == FromDir {
			locked[src.Path] = true
		}
	}
	var out []string
	entries, err := os.ReadDir(in.paths.Plugins)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", in.paths.Plugins, err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !locked[e.Name()] {
			out = append(out, filepath.Join(in.paths.Plugins, e.Name()))
		}
	}
	if in.cfg.Plugins.ProjectLocal {
		projectDir := projectPluginsDir(in.cfg.Workspace)
		entries, _ := os.ReadDir(projectDir)
		for _, e := range entries {
			dir := filepath.Join(projectDir, e.Name())
			if e.IsDir() && !locked[dir] {
				out = append(out, dir)
			}
		}
	}
	return out, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
