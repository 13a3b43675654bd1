package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/hermes-agent/hermes/sandbox"
)

// testImage is the small busybox image `make sandbox-image` builds.
func testImage() string {
	if img := os.Getenv("HERMES_SANDBOX_TEST_IMAGE"); img != "" {
		return img
	}
	return "hermes-sandbox-test:1"
}

// unavailable skips the test, or fails it under CI=true, where the Docker tests must run.
func unavailableSkip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and "+format, args...)
	}
	t.Skipf(format, args...)
}

var unsafeTask = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// uniqueTask is a task id no other test (or run) uses.
func uniqueTask(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(unsafeTask.ReplaceAllString(t.Name(), "-")) + "-" + hex.EncodeToString(b[:])
}

// testConfig is a Config for the test image, a fresh workspace and a unique task.
func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.Image = testImage()
	cfg.Workspace = t.TempDir()
	cfg.Home = t.TempDir()
	cfg.Profile = "hermes-test"
	cfg.Task = uniqueTask(t)
	return cfg
}

// newBackend opens a backend on cfg (testConfig when nil), removing its container at the end;
// it skips (or fails under CI) without a daemon or the test image.
func newBackend(t testing.TB, cfg *Config) *Backend {
	t.Helper()
	if cfg == nil {
		c := testConfig(t)
		cfg = &c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, *cfg)
	if errors.Is(err, ErrDaemonUnavailable) {
		unavailableSkip(t, "no Docker daemon: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Remove(ctx); err != nil {
			t.Errorf("remove: %v", err)
		}
		_ = b.Close()
	})
	if cfg.Image == testImage() {
		if _, err := b.cli.ImageInspect(ctx, cfg.Image); cerrdefs.IsNotFound(err) {
			unavailableSkip(t, "test image %s missing: run `make sandbox-image`", cfg.Image)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// run runs command with timeout (0: the default) and fails the test on an error.
func run(t testing.TB, b *Backend, command string, timeout time.Duration) sandbox.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := b.Run(ctx, sandbox.Request{Command: command, Timeout: timeout})
	if err != nil {
		t.Fatalf("run %q: %v", command, err)
	}
	return res
}

// mustSucceed runs command and fails the test unless it exits 0.
func mustSucceed(t testing.TB, b *Backend, command string) string {
	t.Helper()
	res := run(t, b, command, 0)
	if res.ExitCode != 0 {
		t.Fatalf("run %q: exit %d\n%s", command, res.ExitCode, res.Output)
	}
	return res.Output
}
