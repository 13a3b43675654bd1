package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/install/oci/ocitest"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// textstatsDir writes a copy of the C example plugin with another version and manifest tail
// (e.g. a [capabilities] table); a non-empty salt gives its module other bytes (a custom
// section), so one version can be published twice with different content.
func textstatsDir(t *testing.T, version, tail, salt string) string {
	t.Helper()
	module, err := os.ReadFile(filepath.Join(testplugins.Dir(t, "sdk/c/example"), "textstats.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if salt != "" {
		module = append(append(append(module, 0, byte(2+len(salt)), byte(len(salt))), salt...), 0)
	}
	dir := filepath.Join(t.TempDir(), "textstats")
	os.MkdirAll(dir, 0o755)
	m := "name = \"textstats\"\nversion = \"" + version + "\"\nabi = 1\ndescription = \"Count words\"\nwasm = \"textstats.wasm\"\n" + tail + "\n"
	os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(m), 0o644)
	os.WriteFile(filepath.Join(dir, "textstats.wasm"), module, 0o644)
	return dir
}

// TestThirdPartyPluginJourney walks the README's "Installing a third-party plugin" as a user
// and an author run it: keys, pack, sign, publish to a real OCI registry on 127.0.0.1, install
// by tag and by digest, a moved tag caught, update with a capability diff, rollback, audit.
func TestThirdPartyPluginJourney(t *testing.T) {
	registry, _ := ocitest.Start(t)
	author, user := newCLI(t), newCLI(t)
	keyFile := filepath.Join(t.TempDir(), "acme.key")

	out := author.mustRun(t, "keys", "generate", "--out", keyFile)
	var pub string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "Public key:"); ok {
			pub = strings.TrimSpace(rest)
		}
	}
	if !strings.HasPrefix(pub, "ed25519:") {
		t.Fatalf("keys generate printed no public key:\n%s", out)
	}
	author.wantExit(t, ExitUsage, "not replacing", "keys", "generate", "--out", keyFile)

	// Pack is reproducible; sign writes NAME-VERSION.tar.gz.sig.
	v1 := textstatsDir(t, "1.0.0", "", "")
	outDir := t.TempDir()
	tarball := strings.TrimSpace(author.mustRun(t, "plugins", "pack", v1, "--out", outDir))
	first, _ := os.ReadFile(tarball)
	author.mustRun(t, "plugins", "pack", v1, "--out", outDir)
	if again, _ := os.ReadFile(tarball); string(again) != string(first) || filepath.Base(tarball) != "textstats-1.0.0.tar.gz" {
		t.Fatalf("pack is not reproducible (or misnamed %s)", tarball)
	}
	author.mustRun(t, "plugins", "sign", tarball, "--key", keyFile)

	// Before the user trusts acme, a signed plugin is still refused.
	user.wantExit(t, ExitDenied, "hermes keys trust", "plugins", "install", tarball, "--yes")
	user.mustRun(t, "keys", "trust", pub, "--name", "acme")
	if list := user.mustRun(t, "keys", "list"); !strings.Contains(list, "acme") {
		t.Fatalf("keys list:\n%s", list)
	}
	out = user.mustRun(t, "plugins", "install", tarball, "--yes")
	for _, want := range []string{"Signer:  acme", "It asks for:", "Installed textstats 1.0.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	user.mustRun(t, "plugins", "remove", "textstats")

	// Publish to OCI; install by tag in one home and by digest in another.
	ref := "oci://" + registry + "/acme/textstats:1.0.0"
	out = author.mustRun(t, "plugins", "publish", v1, ref, "--key", keyFile)
	var pinned string
	for _, f := range strings.Fields(out) {
		if strings.Contains(f, "@sha256:") {
			pinned = f
		}
	}
	if pinned == "" {
		t.Fatalf("publish printed no pinned reference:\n%s", out)
	}
	user.mustRun(t, "plugins", "install", ref, "--yes")
	other := newCLI(t)
	other.mustRun(t, "keys", "trust", pub, "--name", "acme")
	other.mustRun(t, "plugins", "install", pinned, "--yes")
	if out := user.mustRun(t, "tools", "call", "textstats.count", `{"text":"a b c"}`); !strings.Contains(out, "3") {
		t.Fatalf("tools call after OCI install: %s", out)
	}
	user.mustRun(t, "plugins", "audit")

	// The tag is moved to other bytes: audit fails, update and install refuse, the
	// installed plugin keeps working.
	author.mustRun(t, "plugins", "publish", textstatsDir(t, "1.0.0", "", "moved"), ref, "--key", keyFile)
	out, _, code := user.run(t, "", "plugins", "audit")
	if code != ExitError || !strings.Contains(out, "tag was moved") {
		t.Fatalf("audit after the tag moved: exit %d\n%s", code, out)
	}
	user.wantExit(t, ExitBadPlugin, "other bytes", "plugins", "update", "textstats")
	user.mustRun(t, "tools", "call", "textstats.count", `{"text":"still fine"}`)

	// Update to 1.1.0 from a directory: only the new permission is listed; without a terminal
	// and without --yes nothing changes.
	v2 := textstatsDir(t, "1.1.0", "[capabilities]\nkv = true\nhttp = [\"api.example.com\"]", "v2")
	author.mustRun(t, "plugins", "sign", v2, "--key", keyFile)
	user.wantExit(t, ExitUsage, "--yes", "plugins", "update", "textstats", "--from", v2)
	out = user.mustRun(t, "plugins", "update", "textstats", "--from", v2, "--yes")
	for _, want := range []string{"New permissions it asks for:", "may send HTTP requests to api.example.com", "Updated textstats 1.0.0 -> 1.1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("update output lacks %q:\n%s", want, out)
		}
	}
	user.wantExit(t, ExitDenied, "not downgrading", "plugins", "update", "textstats", "--from", tarball)

	// Roll back, offline, to 1.0.0 and its grants.
	out = user.mustRun(t, "plugins", "reset", "textstats", "--restore")
	if !strings.Contains(out, "Restored textstats 1.0.0 (was 1.1.0)") || !strings.Contains(out, "no capabilities") {
		t.Fatalf("reset --restore:\n%s", out)
	}
	user.wantExit(t, ExitUsage, "--restore", "plugins", "reset", "textstats")

	// Disable, enable.
	user.mustRun(t, "plugins", "disable", "textstats")
	user.wantExit(t, ExitDenied, "disabled", "tools", "call", "textstats.count", `{"text":"x"}`)
	if out := user.mustRun(t, "tools", "list"); strings.Contains(out, "textstats.count") {
		t.Errorf("a disabled plugin's tools are listed:\n%s", out)
	}
	user.mustRun(t, "plugins", "enable", "textstats")
	user.mustRun(t, "tools", "call", "textstats.count", `{"text":"x"}`)

	// Tampering with the installed bytes is caught at load and by audit.
	var info struct {
		Dir    string `json:"dir"`
		Signer string `json:"signer"`
	}
	json.Unmarshal([]byte(user.mustRun(t, "plugins", "info", "textstats", "--json")), &info)
	module := filepath.Join(info.Dir, "textstats.wasm")
	orig, _ := os.ReadFile(module)
	os.WriteFile(module, append(append([]byte{}, orig...), 0, 3, 1, 'x', 0), 0o600)
	user.wantExit(t, ExitBadPlugin, "hermes plugins audit", "tools", "call", "textstats.count", `{"text":"x"}`)
	out, _, code = user.run(t, "", "plugins", "audit", "--json")
	var report struct {
		Findings []struct{ Severity, Problem string }
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != ExitError || len(report.Findings) == 0 {
		t.Fatalf("audit --json after tampering: exit %d, %v\n%s", code, err, out)
	}
	os.WriteFile(module, orig, 0o600)

	// A directory dropped into plugins/ is listed as unverified and never loaded.
	dropped := filepath.Join(user.home, "plugins", "dropped")
	os.MkdirAll(dropped, 0o700)
	if out := user.mustRun(t, "plugins", "list"); !strings.Contains(out, "UNVERIFIED") {
		t.Errorf("plugins list does not flag the dropped directory:\n%s", out)
	}
	user.wantExit(t, ExitNotFound, "no such plugin", "tools", "call", "dropped.x", `{}`)

	// Untrusting the signer stops what it signed from loading.
	user.mustRun(t, "keys", "untrust", "acme")
	user.wantExit(t, ExitDenied, "no longer trust", "tools", "call", "textstats.count", `{"text":"x"}`)
	user.wantExit(t, ExitNotFound, "no trusted key", "keys", "untrust", "acme")
}

func TestInstallRefusesBadSourcesInOneLine(t *testing.T) {
	c := newCLI(t)
	broken := filepath.Join(t.TempDir(), "weather-1.0.0.tar.gz")
	os.WriteFile(broken, []byte("\x1f\x8b not really gzip"), 0o644)
	c.wantExit(t, ExitBadPlugin, broken, "plugins", "install", broken, "--yes", "--allow-unsigned")
	c.wantExit(t, ExitUsage, "oci://", "plugins", "install", "oci://", "--yes")
	os.WriteFile(broken+".txt", nil, 0o644)
	c.wantExit(t, ExitUsage, "neither a directory", "plugins", "install", broken+".txt", "--yes")
	registry, stop := ocitest.Start(t)
	stop()
	c.wantExit(t, ExitError, "is it running?", "plugins", "install", "oci://"+registry+"/acme/x:1.0.0", "--yes")
}

// TestProjectLocalPluginsAreOptIn: a repository's .hermes/plugins/ (the workspace is the
// current directory) brings nothing that runs until the user opts in, and then only through
// the same install.
func TestProjectLocalPluginsAreOptIn(t *testing.T) {
	c := newCLI(t)
	local := filepath.Join(c.workspace, ".hermes", "plugins", "textstats")
	os.MkdirAll(filepath.Dir(local), 0o755)
	if err := os.Rename(textstatsDir(t, "1.0.0", "", ""), local); err != nil {
		t.Fatal(err)
	}
	if out := c.mustRun(t, "plugins", "list"); strings.Contains(out, "textstats") {
		t.Errorf("a project plugin is listed before opting in:\n%s", out)
	}
	c.wantExit(t, ExitDenied, "plugins.project_local", "plugins", "install", local, "--yes", "--allow-unsigned")
	c.mustRun(t, "config", "set", "plugins.project_local", "true")
	if out := c.mustRun(t, "plugins", "list"); !strings.Contains(out, "UNVERIFIED") {
		t.Errorf("an opted-in but uninstalled project plugin is not flagged:\n%s", out)
	}
	c.mustRun(t, "plugins", "install", local, "--yes", "--allow-unsigned")
	c.mustRun(t, "tools", "call", "textstats.count", `{"text":"a"}`)
	c.mustRun(t, "config", "set", "plugins.project_local", "false")
	c.wantExit(t, ExitDenied, "project-local plugins are off", "tools", "call", "textstats.count", `{"text":"a"}`)
	if out := c.mustRun(t, "tools", "list"); strings.Contains(out, "textstats") {
		t.Errorf("tools of a project plugin are offered while project plugins are off:\n%s", out)
	}
}
