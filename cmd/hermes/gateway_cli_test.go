package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/gateway/telegram/telegramtest"
)

const gatewayTestToken = "424242:CLI-test-token-secret"

// nextSent waits for the next message the bot sent.
func nextSent(t *testing.T, fake *telegramtest.Server, stderr *syncBuffer) telegramtest.Sent {
	t.Helper()
	select {
	case s := <-fake.Sent:
		return s
	case <-time.After(2 * time.Minute):
		t.Fatalf("the bot sent nothing; gateway stderr:\n%s", stderr.String())
		return telegramtest.Sent{}
	}
}

// TestGatewayRunEndToEnd runs the built binary's `gateway run` against a fake Telegram Bot API
// and the scripted model, with commands in the docker backend.
func TestGatewayRunEndToEnd(t *testing.T) {
	image := os.Getenv("HERMES_SANDBOX_TEST_IMAGE")
	if image == "" {
		image = "hermes-sandbox-test:1"
	}
	fake := telegramtest.New(gatewayTestToken)
	t.Cleanup(fake.Close)
	model := newPromptModel(t)
	c := sandboxCLI(t, "[terminal.docker]\nimage = \""+image+"\"\n")
	profile := fmt.Sprintf("gwtest%d", time.Now().UnixNano())
	os.MkdirAll(filepath.Join(c.home, "profiles", profile), 0o700)
	os.Rename(filepath.Join(c.home, "config.toml"), filepath.Join(c.home, "profiles", profile, "config.toml"))
	t.Cleanup(func() { removeContainer(t, image, filepath.Join(c.home, "profiles", profile), profile, c.workspace) })
	hermes := func(args ...string) string { return c.mustRun(t, append([]string{"--profile", profile}, args...)...) }
	for _, kv := range [][2]string{
		{"model.base_url", model.URL + "/v1"}, {"model.name", "scripted"},
		{"gateway.telegram.api_url", fake.URL}, {"TELEGRAM_BOT_TOKEN", gatewayTestToken}, {"TELEGRAM_ALLOWED_USERS", "42"},
	} {
		hermes("config", "set", kv[0], kv[1])
	}
	c.wantExit(t, ExitUsage, "hermes config set gateway.allow_local_backend true", "--profile", profile, "gateway", "run", "--backend", "local")

	cmd := c.cmd("", "--profile", profile, "--log-level", "info", "gateway", "run")
	stderr := &syncBuffer{}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running, exited := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := false
		for sc.Scan() {
			stderr.Write([]byte(sc.Text() + "\n"))
			if !once && strings.Contains(sc.Text(), "gateway running on telegram") {
				once = true
				close(running)
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	select {
	case <-running:
	case <-exited:
		t.Fatalf("gateway run exited: %s", stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("gateway run did not start: %s", stderr.String())
	}

	// A stranger is dropped; the owner's turn runs its tool call in the container.
	fake.Push(telegramtest.Message{ChatID: 666, UserID: 666, Text: "run: echo pwned"})
	fake.Push(telegramtest.Message{ChatID: 42, UserID: 42, Text: "run: echo from-the-container; test -f /.dockerenv && echo in-docker"})
	got := nextSent(t, fake, stderr)
	if got.ChatID != 42 || !strings.Contains(got.Text, "from-the-container") || !strings.Contains(got.Text, "in-docker") {
		t.Fatalf("reply %+v; stderr:\n%s", got, stderr.String())
	}
	status := hermes("gateway", "status")
	if !strings.Contains(status, "connected since") || !strings.Contains(status, "666") {
		t.Fatalf("status:\n%s", status)
	}

	// Pairing by the binary's code.
	code := strings.TrimSpace(hermes("gateway", "pair", "telegram"))
	fake.Push(telegramtest.Message{ChatID: 777001, UserID: 777001, Text: "/start " + code})
	if got := nextSent(t, fake, stderr); got.ChatID != 777001 || !strings.HasPrefix(got.Text, "Paired") {
		t.Fatalf("pairing reply %+v", got)
	}
	if list := hermes("gateway", "list"); !strings.Contains(list, "777001") || !strings.Contains(list, "pairing") || !strings.Contains(list, "TELEGRAM_ALLOWED_USERS") {
		t.Fatalf("list:\n%s", list)
	}
	hermes("gateway", "revoke", "telegram", "777001")
	c.wantExit(t, ExitNotFound, "no grant for telegram user 777001", "--profile", profile, "gateway", "revoke", "telegram", "777001")

	if out := hermes("sessions", "list", "--source", "telegram"); strings.Count(out, "telegram") != 1 {
		t.Fatalf("telegram sessions:\n%s", out)
	}
	if out := hermes("sessions", "list"); strings.Contains(out, "telegram") {
		t.Fatalf("CLI sessions list shows telegram's:\n%s", out)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("gateway run did not stop on SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(stderr.String(), "gateway stopped") {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), gatewayTestToken) || strings.Contains(stderr.String(), "CLI-test-token") {
		t.Fatalf("the token is in the log:\n%s", stderr.String())
	}
	if status := hermes("gateway", "status"); !strings.Contains(status, "stopped since") {
		t.Fatalf("status after stop:\n%s", status)
	}
	if _, err := os.Stat(filepath.Join(c.workspace, "pwned")); err == nil {
		t.Fatal("a stranger's command ran")
	}
}
