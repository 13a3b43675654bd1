package install

import (
	"context"
	"crypto/ed25519"
	"errors"
	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/install/oci/ocitest"
	"github.com/hermes-agent/hermes/host/install/signing"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

type fixture struct {
	in    *Installer
	reg   *registry.Registry
	db    *store.DB
	paths config.Paths
	key   ed25519.PrivateKey
}

// newFixture is a real home with a real store and registry, and a signing key trusted as "acme".
func newFixture(t *testing.T, mutate func(*config.Config)) *fixture {
	t.Helper()
	h := registrytest.New(t, registrytest.Options{Mutate: mutate})
	reg, db, paths, cfg := h.Registry, h.DB, h.Paths, h.Config
	key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.TrustKey(context.Background(), "acme", signing.FormatPublicKey(key.Public().(ed25519.PublicKey))); err != nil {
		t.Fatal(err)
	}
	return &fixture{in: New(reg, db, paths, cfg), reg: reg, db: db, paths: paths, key: key}
}

// pluginDir writes a copy of the C example plugin (textstats) with the given version and
// manifest tail (e.g. a [capabilities] table), its module changed by extra custom-section bytes
// when salt is not empty, so the same version can be given other bytes.
func pluginDir(t *testing.T, version, tail, salt string) string {
	t.Helper()
	src := testplugins.Dir(t, "sdk/c/example")
	dir := filepath.Join(t.TempDir(), "textstats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	module, err := os.ReadFile(filepath.Join(src, "textstats.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if salt != "" {
		// A custom section (id 0) named salt with a one-byte payload: valid WebAssembly, other
		// bytes. (wazero refuses an empty payload at the end of a module.)
		module = append(module, 0, byte(2+len(salt)), byte(len(salt)))
		module = append(module, salt...)
		module = append(module, 0)
	}
	m := strings.Join([]string{`name = "textstats"`, `version = "` + version + `"`, `abi = 1`,
		`description = "Count the bytes, lines and words of a text"`, `wasm = "textstats.wasm"`, tail}, "\n")
	for name, data := range map[string][]byte{"plugin.toml": []byte(m), "textstats.wasm": module} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (f *fixture) sign(t *testing.T, target string) {
	t.Helper()
	if _, err := Sign(target, f.key); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) install(t *testing.T, source string, opts Options) (store.PluginRecord, error) {
	t.Helper()
	src, err := ParseSource(source, f.in.cfg.Workspace)
	if err != nil {
		return store.PluginRecord{}, err
	}
	plan, err := f.in.Prepare(context.Background(), src, opts)
	if err != nil {
		return store.PluginRecord{}, err
	}
	return f.in.Apply(context.Background(), plan)
}

func wantErr(t *testing.T, err error, code abi.Code, sentinel error, substrings ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error, got success", code)
	}
	if got := abi.CodeOf(err); code != "" && got != code {
		t.Fatalf("want code %s, got %q: %v", code, got, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("want %v, got %v", sentinel, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, s := range substrings {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestInstallFromDirectoryNeedsASignatureOrConsent(t *testing.T) {
	f := newFixture(t, nil)
	dir := pluginDir(t, "1.0.0", "", "")
	_, err := f.install(t, dir, Options{})
	wantErr(t, err, abi.CodeDenied, ErrUnsigned, "not signed", "--allow-unsigned")

	rec, err := f.install(t, dir, Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Signer != "" || len(rec.Signature) != 0 || rec.Source != "dir:"+dir {
		t.Errorf("lock entry = signer %q, source %q; want unsigned from dir:%s", rec.Signer, rec.Source, dir)
	}
	info, _ := f.reg.Get(context.Background(), "textstats")
	if !info.Unsigned {
		t.Error("info does not mark the plugin unsigned")
	}
	out, err := f.reg.Call(context.Background(), "textstats.echo", []byte(`{"text":"hi"}`))
	if err != nil || !strings.Contains(string(out), "hi") {
		t.Fatalf("call after install = %s, %v", out, err)
	}
	_, err = f.install(t, dir, Options{AllowUnsigned: true})
	wantErr(t, err, abi.CodeBadPlugin, ErrAlreadyInstalled, "already installed")
}

func TestInstallSignedTarball(t *testing.T) {
	f := newFixture(t, nil)
	tarball, err := PackTo(pluginDir(t, "1.2.0", "", ""), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(tarball) != "textstats-1.2.0.tar.gz" {
		t.Errorf("packed %s", tarball)
	}
	f.sign(t, tarball)
	rec, err := f.install(t, tarball, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Signer != "acme" || rec.SignerKey == "" || rec.Source != "file:"+tarball {
		t.Errorf("lock entry signer %q key %q source %q", rec.Signer, rec.SignerKey, rec.Source)
	}
	report, err := f.in.Audit(context.Background(), "")
	if err != nil || report.Failed() {
		t.Fatalf("audit of a clean install = %+v, %v", report, err)
	}
}

func TestSignatureRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("untrusted key", func(t *testing.T) {
		f := newFixture(t, nil)
		dir := pluginDir(t, "1.0.0", "", "")
		other, _ := signing.GenerateKey()
		if _, err := Sign(dir, other); err != nil {
			t.Fatal(err)
		}
		_, err := f.install(t, dir, Options{})
		wantErr(t, err, abi.CodeDenied, signing.ErrUntrustedKey, "hermes keys trust")
		// Allowed explicitly, it is marked unsigned but the key is remembered.
		rec, err := f.install(t, dir, Options{AllowUnsigned: true})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Signer != "" || rec.SignerKey != signing.Fingerprint(other.Public().(ed25519.PublicKey)) {
			t.Errorf("signer %q key %q", rec.Signer, rec.SignerKey)
		}
	})
	t.Run("module changed after signing", func(t *testing.T) {
		f := newFixture(t, nil)
		dir := pluginDir(t, "1.0.0", "", "")
		f.sign(t, dir)
		module := filepath.Join(dir, "textstats.wasm")
		data, _ := os.ReadFile(module)
		os.WriteFile(module, append(data, 0, 3, 1, 'x', 0), 0o644)
		// Refused even with --allow-unsigned: a signature that does not match is tampering.
		_, err := f.install(t, dir, Options{AllowUnsigned: true})
		wantErr(t, err, abi.CodeBadPlugin, signing.ErrSubjectMismatch, "wasm_sha256", "do not install")
	})
	t.Run("signature bytes altered", func(t *testing.T) {
		f := newFixture(t, nil)
		dir := pluginDir(t, "1.0.0", "", "")
		f.sign(t, dir)
		sigPath := filepath.Join(dir, "plugin.sig")
		sig, _ := os.ReadFile(sigPath)
		parsed, err := signing.ParseSignature(sig)
		if err != nil {
			t.Fatal(err)
		}
		parsed.Signature[0] ^= 1
		os.WriteFile(sigPath, parsed.Marshal(), 0o644)
		_, err = f.install(t, dir, Options{AllowUnsigned: true})
		wantErr(t, err, abi.CodeBadPlugin, signing.ErrBadSignature)
	})
	t.Run("signature is not a signature", func(t *testing.T) {
		f := newFixture(t, nil)
		dir := pluginDir(t, "1.0.0", "", "")
		os.WriteFile(filepath.Join(dir, "plugin.sig"), []byte("{not json"), 0o644)
		_, err := f.install(t, dir, Options{AllowUnsigned: true})
		wantErr(t, err, abi.CodeBadPlugin, nil, "signature")
	})
	t.Run("signature is checked before imports", func(t *testing.T) {
		f := newFixture(t, nil)
		// The ungranted fixture imports http_request without declaring http; unsigned, the
		// missing signature is what is reported.
		_, err := f.install(t, testplugins.Dir(t, "testdata/hostile/ungranted"), Options{})
		wantErr(t, err, abi.CodeDenied, ErrUnsigned)
		_, err = f.install(t, testplugins.Dir(t, "testdata/hostile/ungranted"), Options{AllowUnsigned: true})
		wantErr(t, err, abi.CodeDenied, wasm.ErrImport, "http_request")
	})
	_ = ctx
}

func TestTruncatedAndHostileArchives(t *testing.T) {
	f := newFixture(t, nil)
	tarball, err := PackTo(pluginDir(t, "1.0.0", "", ""), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(tarball)
	cut := filepath.Join(t.TempDir(), "textstats-1.0.0.tar.gz")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	_, err = f.install(t, cut, Options{AllowUnsigned: true})
	wantErr(t, err, abi.CodeBadPlugin, nil, cut)
	if infos, _ := f.reg.List(context.Background()); len(infos) != 0 {
		t.Errorf("a refused install left a lock entry: %+v", infos)
	}
}

func TestOCIInstallByTagAndDigestAndMovedTag(t *testing.T) {
	ctx := context.Background()
	host, _ := ocitest.Start(t)
	f := newFixture(t, nil)
	dir := pluginDir(t, "1.2.0", "", "")
	f.sign(t, dir)
	ref, _ := oci.ParseReference("oci://" + host + "/acme/textstats:1.2.0")
	digest, err := f.in.Publish(ctx, dir, ref, nil)
	if err != nil {
		t.Fatal(err)
	}

	rec, err := f.install(t, ref.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := ref.String() + "@" + digest; rec.Source != want || rec.Signer != "acme" {
		t.Errorf("source %q signer %q; want %q by acme", rec.Source, rec.Signer, want)
	}

	// By digest, into a second home.
	g := newFixture(t, nil)
	g.db.UntrustKey(ctx, "acme")
	g.db.TrustKey(ctx, "acme", signing.FormatPublicKey(f.key.Public().(ed25519.PublicKey)))
	byDigest := oci.Reference{Registry: ref.Registry, Repository: ref.Repository, Digest: digest}
	if _, err := g.install(t, byDigest.String(), Options{}); err != nil {
		t.Fatal(err)
	}

	// The publisher (or someone with the registry) moves 1.2.0 to other bytes.
	moved := pluginDir(t, "1.2.0", "", "moved")
	f.sign(t, moved)
	if _, err := f.in.Publish(ctx, moved, ref, nil); err != nil {
		t.Fatal(err)
	}
	report, err := f.in.Audit(ctx, "textstats")
	if err != nil {
		t.Fatal(err)
	}
	if !report.Failed() || !strings.Contains(report.Findings[len(report.Findings)-1].Problem, "tag was moved") {
		t.Errorf("audit after the tag moved: %+v", report.Findings)
	}
	_, err = f.in.PlanUpdate(ctx, "textstats", "", Options{})
	wantErr(t, err, abi.CodeBadPlugin, ErrTagMoved, "same version now has other bytes")
	_, err = f.install(t, ref.String(), Options{})
	wantErr(t, err, abi.CodeBadPlugin, ErrTagMoved)
	// What is installed still runs.
	if _, err := f.reg.Call(ctx, "textstats.echo", []byte(`{"text":"x"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateShowsCapabilityDiffAndRestoreRollsBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	v1 := pluginDir(t, "1.0.0", "[capabilities]\nkv = true\nhttp = [\"api.example.com\"]", "")
	f.sign(t, v1)
	if _, err := f.install(t, v1, Options{}); err != nil {
		t.Fatal(err)
	}
	v2 := pluginDir(t, "1.1.0", "[capabilities]\nkv = true\nexec = true", "v2")
	f.sign(t, v2)
	plan, err := f.in.PlanUpdate(ctx, "textstats", v2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Added) != 1 || !strings.Contains(plan.Added[0], "shell commands") ||
		len(plan.Removed) != 1 || !strings.Contains(plan.Removed[0], "api.example.com") || !plan.NeedsConsent() {
		t.Fatalf("diff: added %q removed %q consent %v", plan.Added, plan.Removed, plan.NeedsConsent())
	}
	rec, err := f.in.Apply(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.reg.Get(ctx, "textstats")
	if rec.Version != "1.1.0" || len(info.Granted.HTTP) != 0 || !info.Granted.Exec {
		t.Fatalf("after update: %s granted %+v", rec.Version, info.Granted)
	}

	// An update that only takes away asks nothing.
	v3 := pluginDir(t, "1.2.0", "[capabilities]\nkv = true", "v3")
	f.sign(t, v3)
	plan, err = f.in.PlanUpdate(ctx, "textstats", v3, Options{})
	if err != nil || plan.NeedsConsent() || len(plan.Removed) != 1 {
		t.Fatalf("v3 plan: %+v, %v", plan, err)
	}
	if _, err := f.in.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}

	// Downgrades are refused unless asked for.
	_, err = f.in.PlanUpdate(ctx, "textstats", v1, Options{})
	wantErr(t, err, abi.CodeDenied, nil, "not downgrading", "--restore")

	// Restore brings back 1.1.0 with its grants, offline: the source directories are gone.
	os.RemoveAll(filepath.Dir(v2))
	restored, prev, err := f.in.Restore(ctx, "textstats", "")
	if err != nil {
		t.Fatal(err)
	}
	info, _ = f.reg.Get(ctx, "textstats")
	if restored.Version != "1.1.0" || prev != "1.2.0" || !info.Granted.Exec {
		t.Fatalf("restored %s (from %s), granted %+v", restored.Version, prev, info.Granted)
	}
	restored, _, err = f.in.Restore(ctx, "textstats", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	info, _ = f.reg.Get(ctx, "textstats")
	if restored.Version != "1.0.0" || len(info.Granted.HTTP) != 1 || info.Granted.Exec {
		t.Fatalf("restored %s, granted %+v", restored.Version, info.Granted)
	}
	_, _, err = f.in.Restore(ctx, "textstats", "9.9.9")
	wantErr(t, err, abi.CodeNotFound, nil, "9.9.9", "kept")
	if _, err := f.reg.Call(ctx, "textstats.echo", []byte(`{"text":"x"}`)); err != nil {
		t.Fatal(err)
	}
	log, _ := f.db.AuditLog(ctx, "textstats", 0)
	var events []string
	for _, e := range log {
		events = append(events, e.Event)
	}
	if got := strings.Join(events, " "); got != "plugin.install plugin.update plugin.update plugin.restore plugin.restore" {
		t.Errorf("audit log: %s", got)
	}
}

func TestAuditFindsTampering(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	dir := pluginDir(t, "1.0.0", "", "")
	f.sign(t, dir)
	rec, err := f.install(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, want string) {
		t.Helper()
		report, err := f.in.Audit(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !report.Failed() {
			t.Fatalf("audit passed; want a finding about %q", want)
		}
		var all []string
		for _, fd := range report.Findings {
			all = append(all, fd.Problem)
		}
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("findings %q do not mention %q", all, want)
		}
	}

	t.Run("installed bytes", func(t *testing.T) {
		module := filepath.Join(rec.Dir, "textstats.wasm")
		orig, _ := os.ReadFile(module)
		os.WriteFile(module, append(append([]byte{}, orig...), 0, 3, 1, 'x', 0), 0o600)
		check(t, "sha256")
		_, err := f.reg.Call(ctx, "textstats.echo", []byte(`{}`))
		wantErr(t, err, abi.CodeBadPlugin, nil, "hermes plugins audit")
		os.WriteFile(module, orig, 0o600)
	})
	t.Run("lock entry", func(t *testing.T) {
		cur, _ := f.db.GetPlugin(ctx, "textstats")
		edited := cur
		edited.Granted = []byte(`{"env":["OPENROUTER_API_KEY"]}`)
		f.db.PutPlugin(ctx, edited)
		check(t, "lock entry was changed outside hermes")
		f.db.PutPlugin(ctx, cur)
	})
	t.Run("signer untrusted since", func(t *testing.T) {
		f.db.UntrustKey(ctx, "acme")
		check(t, "no longer trusted")
		_, err := f.reg.Call(ctx, "textstats.echo", []byte(`{}`))
		wantErr(t, err, abi.CodeDenied, registry.ErrSignerUntrusted, "no longer trust")
		f.db.TrustKey(ctx, "acme", signing.FormatPublicKey(f.key.Public().(ed25519.PublicKey)))
		if _, err := f.reg.Call(ctx, "textstats.echo", []byte(`{}`)); err != nil {
			t.Fatalf("after trusting the key again: %v", err)
		}
	})
	t.Run("directory dropped into plugins/", func(t *testing.T) {
		dropped := filepath.Join(f.paths.Plugins, "dropped")
		os.MkdirAll(dropped, 0o700)
		check(t, "no lock entry")
		if _, err := f.reg.Call(ctx, "dropped.echo", []byte(`{}`)); abi.CodeOf(err) != abi.CodeNotFound {
			t.Errorf("a dropped directory is callable: %v", err)
		}
		os.RemoveAll(dropped)
	})
	report, err := f.in.Audit(ctx, "")
	if err != nil || report.Failed() {
		t.Fatalf("audit after undoing every change = %+v, %v", report, err)
	}
}

func TestProjectLocalPluginsNeedOptIn(t *testing.T) {
	var ws string
	f := newFixture(t, func(c *config.Config) { ws = c.Workspace })
	local := filepath.Join(ws, ".hermes", "plugins", "textstats")
	os.MkdirAll(filepath.Dir(local), 0o755)
	if err := os.Rename(pluginDir(t, "1.0.0", "", ""), local); err != nil {
		t.Fatal(err)
	}
	_, err := f.install(t, local, Options{AllowUnsigned: true})
	wantErr(t, err, abi.CodeDenied, nil, "plugins.project_local")

	g := newFixture(t, func(c *config.Config) { c.Workspace = ws; c.Plugins.ProjectLocal = true })
	unverified, _ := g.in.Unverified(context.Background())
	if len(unverified) != 1 || unverified[0] != local {
		t.Errorf("unverified = %q, want the project plugin", unverified)
	}
	rec, err := g.install(t, local, Options{AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if !IsProjectSource(rec.Source) {
		t.Errorf("source %q not marked project-local", rec.Source)
	}
	if _, err := g.reg.Call(context.Background(), "textstats.echo", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0}, {"1.0.1", "1.0.0", 1}, {"1.10.0", "1.9.0", 1}, {"2.0.0", "10.0.0", -1},
		{"1.0.0-alpha", "1.0.0", -1}, {"1.0.0-alpha.1", "1.0.0-alpha", 1}, {"1.0.0-alpha.beta", "1.0.0-alpha.1", 1},
		{"1.0.0-rc.11", "1.0.0-rc.2", 1}, {"1.0.0+build.5", "1.0.0", 0},
	} {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSkillToolsGoThroughTheSameVerification(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	dir := pluginDir(t, "1.0.0", "[capabilities]\nkv = true", "")
	tools := SkillTools{In: f.in}
	// Unsigned is refused for a skill's tool too.
	err := tools.InstallTool(ctx, "wordsmith", dir)
	wantErr(t, err, abi.CodeDenied, ErrUnsigned)

	var asked []string
	tools = SkillTools{In: f.in, Options: Options{AllowUnsigned: true}, Consent: func(p *Plan) error {
		asked = append(asked, p.Added...)
		return nil
	}}
	if err := tools.InstallTool(ctx, "wordsmith", dir); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || !strings.Contains(asked[0], "key-value") {
		t.Errorf("consent was asked for %q", asked)
	}
	info, _ := f.reg.Get(ctx, "textstats")
	if !strings.HasPrefix(info.Source, "skill:wordsmith:") {
		t.Errorf("source %q", info.Source)
	}
	// Installing the same again is a no-op; another skill cannot take the name.
	if err := tools.InstallTool(ctx, "wordsmith", dir); err != nil {
		t.Fatal(err)
	}
	if err := tools.InstallTool(ctx, "other", dir); err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Errorf("another skill replaced the tool: %v", err)
	}
	_, err = f.in.PlanUpdate(ctx, "textstats", "", Options{})
	if err == nil || !strings.Contains(err.Error(), "updated with the skill") {
		t.Errorf("update of a skill tool: %v", err)
	}
	if err := tools.RemoveTools(ctx, "wordsmith"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Get(ctx, "textstats"); abi.CodeOf(err) != abi.CodeNotFound {
		t.Errorf("tool survives its skill: %v", err)
	}
}
