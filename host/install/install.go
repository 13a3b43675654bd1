// Package install is how a plugin gets onto this machine: fetched from a directory, a .tar.gz
// or an OCI registry, verified in a fixed order, shown to the user, and recorded in the sealed
// lock with the grants they accepted. It also updates (with a capability diff), restores kept
// versions, and audits everything installed.
//
// Verification order, stopping at the first failure with a one-line reason:
//
//  1. the manifest is valid;
//  2. an archive has no path traversal, links or absurd sizes;
//  3. the module compiles;
//  4. its sha256 matches the manifest's and, from OCI, every blob its digest;
//  5. the signature (ed25519) is valid and made by a key the user trusted — or the user said
//     --allow-unsigned, and the plugin is marked unsigned everywhere;
//  6. every import is a host function of a capability the manifest declares.
package install

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/install/signing"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/store"
)

// Keys is where trusted signing keys are kept (store.DB).
type Keys interface {
	TrustedKeys(ctx context.Context) ([]store.TrustedKey, error)
}

// Installer installs, updates, restores and audits plugins. Safe for sequential use.
type Installer struct {
	reg      *registry.Registry
	keys     Keys
	cfg      config.Config
	paths    config.Paths
	progress io.Writer
	http     *http.Client // downloads of modules an Extism manifest names by URL; nil is the default
}

// WithHTTPClient returns in downloading modules named by URL with c (tests give one that
// trusts their server); redirects off HTTPS are refused whatever c says.
func (in *Installer) WithHTTPClient(c *http.Client) *Installer {
	in.http = c
	return in
}

// New returns an installer over reg, trusting the keys in keys.
func New(reg *registry.Registry, keys Keys, paths config.Paths, cfg config.Config) *Installer {
	return &Installer{reg: reg, keys: keys, paths: paths, cfg: cfg}
}

// WithProgress returns in reporting downloads and compilation to w (a terminal), or not at all
// when w is nil.
func (in *Installer) WithProgress(w io.Writer) *Installer {
	in.progress = w
	return in
}

// Registry credentials come from the environment only, never from a flag (which would land in
// shell history) and never from a plugin.
func (in *Installer) ociOptions() oci.Options {
	return oci.Options{Username: os.Getenv("HERMES_REGISTRY_USERNAME"), Password: os.Getenv("HERMES_REGISTRY_PASSWORD")}
}

// Options are the user's exceptions to the default policy.
type Options struct {
	// AllowUnsigned installs a plugin without a signature by a trusted key. A signature that is
	// present but does not verify is refused even so: that is tampering, not a missing vouch.
	AllowUnsigned bool
	// AllowDowngrade lets an update go to a lower version.
	AllowDowngrade bool
	// Version numbers an update from an Extism manifest, which has no version; "" keeps the
	// installed one (and an update to other bytes then asks for it).
	Version string
}

// Plan is a verified plugin about to be installed or updated, with what changes.
type Plan struct {
	Candidate *registry.Candidate
	Fetched   *Fetched
	// Current is the installed version being replaced; nil for a new install.
	Current *registry.Info
	// Added and Removed compare the capabilities, one grant a line (abi.Capabilities.Grants):
	// for a new install everything is added.
	Added, Removed []string
	// SignerChanged says the update is vouched for by someone else than the installed version.
	SignerChanged bool
}

// NeedsConsent reports whether the user must say yes: there is something new to grant, a new
// signer, or nothing vouches for it.
func (p *Plan) NeedsConsent() bool {
	return p.Current == nil || len(p.Added) > 0 || p.SignerChanged || (p.Candidate.Signer == "" && !p.Current.Unsigned)
}

// Name is the plugin's name.
func (p *Plan) Name() string { return p.Candidate.Manifest.Name }

// Prepare fetches and verifies a plugin that is not installed yet.
func (in *Installer) Prepare(ctx context.Context, src Source, opts Options) (*Plan, error) {
	if src.Project && !in.cfg.Plugins.ProjectLocal {
		return nil, &abi.Error{Code: abi.CodeDenied, Message: fmt.Sprintf("%s is a project-local plugin; they are off unless you opt in (run: hermes config set plugins.project_local true)", src.Path)}
	}
	f, err := in.Fetch(ctx, src)
	if err != nil {
		return nil, err
	}
	name := f.Manifest.Name
	if cur, err := in.reg.Get(ctx, name); err == nil {
		if movedTag(cur, f) {
			return nil, tagMovedError(cur, f)
		}
		if cur.SHA256 == sha256Hex(f.Files.Wasm) && cur.Version == f.Manifest.Version {
			return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf("%s %s is already installed", name, cur.Version), Err: ErrAlreadyInstalled}
		}
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf("%s %s is installed; to go to %s run: hermes plugins update %s --from %s", name, cur.Version, f.Manifest.Version, name, src), Err: ErrAlreadyInstalled}
	} else if abiCode(err) != abi.CodeNotFound {
		return nil, err
	}
	cand, err := in.verify(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	return &Plan{Candidate: cand, Fetched: f, Added: cand.Manifest.Capabilities.Grants()}, nil
}

// ErrAlreadyInstalled is wrapped when installing a plugin whose name is taken.
var ErrAlreadyInstalled = errors.New("plugin already installed")

// PlanUpdate fetches the plugin again — from its recorded source, or from `from` when given —
// verifies it, and compares it with what is installed. A downgrade is refused unless allowed;
// the same version with other bytes is always refused (a moved tag or a re-published version).
func (in *Installer) PlanUpdate(ctx context.Context, name, from string, opts Options) (*Plan, error) {
	cur, err := in.reg.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	var src Source
	if from != "" {
		src, err = ParseSource(from, in.cfg.Workspace)
	} else {
		src, err = recordedSource(cur.Source)
	}
	if err != nil {
		return nil, err
	}
	return in.planUpdateFrom(ctx, cur, src, opts, false)
}

// planUpdateFrom is PlanUpdate from a parsed source. With followSkill (a skill's tool, whose
// version is the skill's choice: an upgrade, or `skills reset --restore` to an older one) a
// lower version, or the same version with other bytes, is an update like any other.
func (in *Installer) planUpdateFrom(ctx context.Context, cur registry.Info, src Source, opts Options, followSkill bool) (*Plan, error) {
	name := cur.Name
	if src.Kind == FromExtism {
		src.Name = cmp.Or(src.Name, name) // the name it was installed under, not its file's
		src.Version = cmp.Or(opts.Version, src.Version, cur.Version)
	}
	if src.Project && !in.cfg.Plugins.ProjectLocal {
		return nil, &abi.Error{Code: abi.CodeDenied, Plugin: name, Message: "project-local plugins are off (run: hermes config set plugins.project_local true)"}
	}
	f, err := in.Fetch(ctx, src)
	if err != nil {
		return nil, err
	}
	if f.Manifest.Name != name {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf("%s holds plugin %q, not %q", src, f.Manifest.Name, name)}
	}
	digest := sha256Hex(f.Files.Wasm)
	switch c := compareVersions(f.Manifest.Version, cur.Version); {
	case c == 0 && digest == cur.SHA256 && (!followSkill || in.sameManifest(ctx, name, f.Files.Manifest)):
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf("%s %s is up to date", name, cur.Version), Err: ErrUpToDate}
	case followSkill:
	case c == 0 && src.Kind == FromExtism:
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf("%s names another module (sha256 %s, installed %s) but an Extism manifest has no version: give the new one (run: hermes plugins update %s --version VERSION, higher than %s)", src, short(digest), short(cur.SHA256), name, cur.Version)}
	case c == 0:
		return nil, tagMovedError(cur, f)
	case c < 0 && !opts.AllowDowngrade:
		return nil, &abi.Error{Code: abi.CodeDenied, Plugin: name, Message: fmt.Sprintf("%s offers %s, older than the installed %s; not downgrading (to go back, run: hermes plugins reset %s --restore, or update with --allow-downgrade)", src, f.Manifest.Version, cur.Version, name)}
	}
	cand, err := in.verify(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Candidate: cand, Fetched: f, Current: &cur}
	plan.Added, plan.Removed = diff(cur.Granted.Grants(), cand.Manifest.Capabilities.Grants())
	plan.SignerChanged = cur.Signer != "" && cand.Signer != "" && cur.Signer != cand.Signer
	return plan, nil
}

// sameManifest reports whether the installed plugin name has exactly this plugin.toml.
func (in *Installer) sameManifest(ctx context.Context, name string, data []byte) bool {
	rec, err := in.reg.Record(ctx, name)
	return err == nil && string(rec.Manifest) == string(data)
}

// ErrUpToDate is wrapped when an update finds the installed version.
var ErrUpToDate = errors.New("up to date")

// Apply installs the plan: the user has agreed to it (or nothing new was asked). Capabilities
// the new version no longer declares are revoked with the old version.
func (in *Installer) Apply(ctx context.Context, p *Plan) (store.PluginRecord, error) {
	event, detail := "plugin.install", p.Fetched.Recorded
	if p.Current != nil {
		event = "plugin.update"
		detail = fmt.Sprintf("%s -> %s from %s", p.Current.Version, p.Candidate.Manifest.Version, p.Fetched.Recorded)
		for _, g := range p.Added {
			detail += "; granted: " + g
		}
		for _, g := range p.Removed {
			detail += "; revoked: " + g
		}
	}
	if p.Candidate.Signer == "" {
		detail += "; unsigned (--allow-unsigned)"
	}
	return in.reg.Install(ctx, p.Candidate, event, detail)
}

// verify runs steps 3–6 of the order in the package comment on fetched bytes (1 and 2 happened
// while fetching).
func (in *Installer) verify(ctx context.Context, f *Fetched, opts Options) (*registry.Candidate, error) {
	var bar *bar
	if in.progress != nil {
		bar = newBar(in.progress, fmt.Sprintf("compiling %s (%s)", f.Manifest.Wasm, humanBytes(int64(len(f.Files.Wasm)))))
	}
	cand, err := in.reg.InspectFiles(ctx, f.Files)
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return nil, err
	}
	cand.Source = f.Recorded
	if f.Source.Kind == FromDir {
		cand.Dir = f.Source.Path
	}
	if err := in.checkSignature(ctx, f, cand, opts); err != nil {
		return nil, err
	}
	if cand.ImportErr != nil {
		return nil, cand.ImportErr
	}
	return cand, nil
}

func (in *Installer) checkSignature(ctx context.Context, f *Fetched, cand *registry.Candidate, opts Options) error {
	m := cand.Manifest
	if len(f.Signature) == 0 {
		if !opts.AllowUnsigned {
			return &abi.Error{Code: abi.CodeDenied, Plugin: m.Name, Message: fmt.Sprintf("%s %s is not signed; nothing vouches for these bytes. Install it only if you trust %s: re-run with --allow-unsigned (it stays marked unsigned)", m.Name, m.Version, f.Source), Err: ErrUnsigned}
		}
		return nil
	}
	sig, err := signing.ParseSignature(f.Signature)
	if err != nil {
		return &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: "signature: " + err.Error(), Err: err}
	}
	trusted, err := in.trustedKeys(ctx)
	if err != nil {
		return err
	}
	subject := signing.SubjectOf(f.Files.Manifest, f.Files.Wasm, m.Name, m.Version)
	signer, err := signing.Verify(sig, subject, trusted)
	switch {
	case err == nil:
		cand.Signer, cand.SignerKey = signer.Name, signing.Fingerprint(signer.Key)
	case errors.Is(err, signing.ErrUntrustedKey) && opts.AllowUnsigned:
		cand.SignerKey = signing.Fingerprint(sig.PublicKey)
	case errors.Is(err, signing.ErrUntrustedKey):
		return &abi.Error{Code: abi.CodeDenied, Plugin: m.Name, Message: err.Error(), Err: err}
	default:
		return &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: err.Error() + " (the plugin or its signature was altered; do not install it)", Err: err}
	}
	cand.Signature = f.Signature
	return nil
}

// ErrUnsigned is wrapped when a plugin has no signature and --allow-unsigned was not given.
var ErrUnsigned = errors.New("plugin is not signed")

func (in *Installer) trustedKeys(ctx context.Context) ([]signing.TrustedKey, error) {
	keys, err := in.keys.TrustedKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]signing.TrustedKey, 0, len(keys))
	for _, k := range keys {
		pub, err := signing.ParsePublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s is damaged: %w (run: hermes keys untrust %s, then trust it again)", k.Name, err, k.Name)
		}
		out = append(out, signing.TrustedKey{Name: k.Name, Key: pub})
	}
	return out, nil
}

// diff returns the lines of next not in prev, and of prev not in next.
func diff(prev, next []string) (added, removed []string) {
	for _, g := range next {
		if !slices.Contains(prev, g) {
			added = append(added, g)
		}
	}
	for _, g := range prev {
		if !slices.Contains(next, g) {
			removed = append(removed, g)
		}
	}
	return added, removed
}

// movedTag reports a fetch by the same OCI repository and version as the installed plugin that
// found other bytes: the tag was moved, or the registry serves something else.
func movedTag(cur registry.Info, f *Fetched) bool {
	if f.Source.Kind != FromOCI || cur.Version != f.Manifest.Version {
		return false
	}
	return cur.SHA256 != sha256Hex(f.Files.Wasm)
}

func tagMovedError(cur registry.Info, f *Fetched) error {
	return &abi.Error{Code: abi.CodeBadPlugin, Plugin: cur.Name, Message: fmt.Sprintf(
		"%s offers %s %s with module sha256 %s, but the %s you installed has %s: the same version now has other bytes (a moved tag or a tampered registry); keeping the installed one (run: hermes plugins audit %s)",
		f.Recorded, cur.Name, f.Manifest.Version, short(sha256Hex(f.Files.Wasm)), cur.Version, short(cur.SHA256), cur.Name), Err: ErrTagMoved}
}

// ErrTagMoved is wrapped when the same version comes with other bytes.
var ErrTagMoved = errors.New("same version, different bytes")

// recordedSource turns a lock's source back into a Source to fetch again. An OCI source is
// followed by its tag (an update wants what the tag points to now), or its digest if it has no tag.
func recordedSource(recorded string) (Source, error) {
	switch {
	case strings.HasPrefix(recorded, oci.Scheme):
		ref, err := oci.ParseReference(recorded)
		if err != nil {
			return Source{}, err
		}
		if ref.Tag != "" {
			ref.Digest = ""
		}
		return Source{Kind: FromOCI, Ref: ref}, nil
	case strings.HasPrefix(recorded, prefixExtism):
		return Source{Kind: FromExtism, Path: strings.TrimPrefix(recorded, prefixExtism)}, nil
	case strings.HasPrefix(recorded, prefixFile):
		return Source{Kind: FromArchive, Path: strings.TrimPrefix(recorded, prefixFile)}, nil
	case strings.HasPrefix(recorded, prefixProject):
		return Source{Kind: FromDir, Path: strings.TrimPrefix(recorded, prefixProject), Project: true}, nil
	case strings.HasPrefix(recorded, prefixSkill):
		skill, _, _ := strings.Cut(strings.TrimPrefix(recorded, prefixSkill), ":")
		return Source{}, fmt.Errorf("this is a tool of skill %s: it is updated with the skill (run: hermes skills install SOURCE)", skill)
	case strings.HasPrefix(recorded, prefixDir):
		return Source{Kind: FromDir, Path: strings.TrimPrefix(recorded, prefixDir)}, nil
	}
	return Source{}, fmt.Errorf("no recorded source to update from (run: hermes plugins update NAME --from SOURCE)")
}

func abiCode(err error) abi.Code {
	var ae *abi.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
