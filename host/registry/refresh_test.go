package registry

import (
	"context"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/install/signing"
	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/store"
)

// otherProcess opens the fixture's state database a second time, as another hermes process
// (`hermes plugins disable X` in another terminal) would.
func (f *fixture) otherProcess(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(f.paths.StateDB)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func toolNames(tb testing.TB, r *Registry) []string {
	tb.Helper()
	tools, err := r.Tools(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	return names
}

// TestCallSeesAnotherProcessChangeTheLock: a plugin loaded in a long-running registry is
// refused from the next call on once another process disables or removes it, and runs again
// once it is enabled again — without restarting anything.
func TestCallSeesAnotherProcessChangeTheLock(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	count := func() ([]byte, error) { return f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a b c"}`)) }
	if out, err := count(); err != nil || !strings.Contains(string(out), `"words":3`) {
		t.Fatalf("call: %s %v", out, err)
	}
	other := f.otherProcess(t)

	if err := other.SetPluginEnabled(ctx, "textstats", false); err != nil {
		t.Fatal(err)
	}
	_, err := count()
	wantCode(t, err, abi.CodeDenied, "disabled", "hermes plugins enable textstats")
	if names := toolNames(t, f.reg); len(names) != 0 {
		t.Errorf("a disabled plugin's tools are still listed: %v", names)
	}

	if err := other.SetPluginEnabled(ctx, "textstats", true); err != nil {
		t.Fatal(err)
	}
	if _, err := count(); err != nil {
		t.Fatalf("call after enable elsewhere: %v", err)
	}

	if err := other.RemovePlugin(ctx, "textstats", ""); err != nil {
		t.Fatal(err)
	}
	_, err = count()
	wantCode(t, err, abi.CodeNotFound, "no such plugin")
}

// TestCallSeesSignerUntrustedElsewhere: untrusting a key in another process stops the plugins
// it signed in a registry that had them loaded.
func TestCallSeesSignerUntrustedElsewhere(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	key, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if err := f.db.TrustKey(ctx, "acme", signing.FormatPublicKey(pub)); err != nil {
		t.Fatal(err)
	}
	c, err := f.reg.Inspect(ctx, testplugins.Dir(t, "sdk/c/example"))
	if err != nil {
		t.Fatal(err)
	}
	c.Signer, c.SignerKey = "acme", signing.Fingerprint(pub) // as the installer records a verified signature
	if _, err := f.reg.Add(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a"}`)); err != nil {
		t.Fatal(err)
	}
	if err := f.otherProcess(t).UntrustKey(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	_, err = f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a"}`))
	wantCode(t, err, abi.CodeDenied, "no longer trust")
}

// TestTamperedModuleRefusedAfterLockChange: a module whose file was changed on disk after it
// was loaded is refused once the lock changes (any change: here another plugin is disabled),
// as a new process would refuse it.
func TestTamperedModuleRefusedAfterLockChange(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	f.add(t, testplugins.Dir(t, "testdata/echo"))
	if _, err := f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a"}`)); err != nil {
		t.Fatal(err)
	}
	wasmPath := f.installedFile(t, "textstats", "textstats.wasm")
	b, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(wasmPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.otherProcess(t).SetPluginEnabled(ctx, "echo", false); err != nil {
		t.Fatal(err)
	}
	_, err = f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a"}`))
	wantCode(t, err, abi.CodeBadPlugin, "sha256")
}

// TestRefreshLetsRunningCallsFinish: a call running when another process disables its plugin
// ends as it would have (here at its timeout), and Refresh does not wait for it.
func TestRefreshLetsRunningCallsFinish(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Plugins.Limits.Timeout = abi.Duration(3 * time.Second) })
	ctx := context.Background()
	f.add(t, testplugins.Dir(t, "testdata/hostile/loop"))
	if _, err := f.reg.Plugin(ctx, "hostile-loop"); err != nil {
		t.Fatal(err)
	}
	before, err := f.reg.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := f.reg.Call(ctx, "hostile-loop.spin", []byte(`{}`))
		ended <- err
	}()
	time.Sleep(500 * time.Millisecond) // the call is spinning
	if err := f.otherProcess(t).SetPluginEnabled(ctx, "hostile-loop", false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	after, err := f.reg.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("lock version %d after a change, was %d", after, before)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Refresh waited %v for the running call", d)
	}
	select {
	case err := <-ended:
		wantCode(t, err, abi.CodeLimitExceeded)
	case <-time.After(2 * time.Minute):
		t.Fatal("the running call never ended")
	}
	_, err = f.reg.Call(ctx, "hostile-loop.spin", []byte(`{}`))
	wantCode(t, err, abi.CodeDenied, "disabled")
}

// TestRefreshIsOneQueryWhenNothingChanged: with no change, Refresh returns the same version
// and keeps the loaded plugin.
func TestRefreshIsOneQueryWhenNothingChanged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	p1, err := f.reg.Plugin(ctx, "textstats")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := f.reg.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A change to another part of the lock keeps a plugin whose entry and files are unchanged.
	if err := f.otherProcess(t).TrustKey(ctx, "someone", "ed25519:"+strings.Repeat("A", 43)+"="); err != nil {
		t.Fatal(err)
	}
	v2, err := f.reg.Refresh(ctx)
	if err != nil || v2 <= v1 {
		t.Fatalf("refresh after a change: %d (was %d), %v", v2, v1, err)
	}
	if v3, err := f.reg.Refresh(ctx); err != nil || v3 != v2 {
		t.Fatalf("refresh without a change: %d (was %d), %v", v3, v2, err)
	}
	p2, err := f.reg.Plugin(ctx, "textstats")
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("an unchanged plugin was compiled again after an unrelated lock change")
	}
}

// BenchmarkRefreshUnchanged is what every call pays to notice a lock change: one read of the
// counter row.
func BenchmarkRefreshUnchanged(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	if _, err := f.reg.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.reg.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
