package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/gateway/discord/discordtest"
	"github.com/hermes-agent/hermes/host/gateway/slack/slacktest"
	"github.com/hermes-agent/hermes/host/gateway/telegram/telegramtest"
	"github.com/hermes-agent/hermes/store"
)

// gatewayFake is one platform's fake service as the end-to-end test drives it.
type gatewayFake struct {
	platform string
	token    string      // the bot token, which must never show
	secrets  []string    // other secrets that must never show
	args     []string    // gateway run's flags
	settings [][2]string // what `config set` points the gateway at the fake with
	// push delivers a direct message from user (its chat has the user's id).
	push func(user, text string)
	// next is the next message the bot sent: its chat and text.
	next func(t *testing.T, stderr *syncBuffer) (string, string)
}

func telegramFake(t *testing.T) gatewayFake {
	const token = "424242:CLI-test-token-secret"
	fake := telegramtest.New(token)
	t.Cleanup(fake.Close)
	return gatewayFake{
		platform: "telegram", token: token,
		settings: [][2]string{{"gateway.telegram.api_url", fake.URL}, {"TELEGRAM_BOT_TOKEN", token}, {"TELEGRAM_ALLOWED_USERS", "42"}},
		push: func(user, text string) {
			id, _ := strconv.ParseInt(user, 10, 64)
			fake.Push(telegramtest.Message{ChatID: id, UserID: id, Text: text})
		},
		next: func(t *testing.T, stderr *syncBuffer) (string, string) {
			t.Helper()
			select {
			case s := <-fake.Sent:
				return strconv.FormatInt(s.ChatID, 10), s.Text
			case <-time.After(2 * time.Minute):
				t.Fatalf("the bot sent nothing; gateway stderr:\n%s", stderr.String())
				return "", ""
			}
		},
	}
}

func discordFake(t *testing.T) gatewayFake {
	const token = "MTIzNDU2.CLI-discord-token.secret"
	fake := discordtest.New(token)
	t.Cleanup(fake.Close)
	return gatewayFake{
		platform: "discord", token: token, args: []string{"--platform", "discord"},
		settings: [][2]string{{"gateway.discord.api_url", fake.URL}, {"DISCORD_BOT_TOKEN", token}, {"DISCORD_ALLOWED_USERS", "42"}},
		push: func(user, text string) {
			fake.Push(discordtest.Message{ChannelID: user, UserID: user, Content: text})
		},
		next: func(t *testing.T, stderr *syncBuffer) (string, string) {
			t.Helper()
			select {
			case s := <-fake.Sent:
				return s.ChannelID, s.Content
			case why := <-fake.Rejected:
				t.Fatalf("the fake refused a request: %s; gateway stderr:\n%s", why, stderr.String())
			case <-time.After(2 * time.Minute):
				t.Fatalf("the bot sent nothing; gateway stderr:\n%s", stderr.String())
			}
			return "", ""
		},
	}
}

func slackFake(t *testing.T) gatewayFake {
	const bot, app = "xoxb-4242-CLI-slack-bot-secret", "xapp-1-A0001-CLI-slack-app-secret"
	fake := slacktest.New(bot, app)
	t.Cleanup(fake.Close)
	unescape := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	return gatewayFake{
		platform: "slack", token: bot, secrets: []string{app}, args: []string{"--platform", "slack"},
		settings: [][2]string{{"gateway.slack.api_url", fake.APIURL}, {"SLACK_BOT_TOKEN", bot}, {"SLACK_APP_TOKEN", app}, {"SLACK_ALLOWED_USERS", "42"}},
		push: func(user, text string) {
			fake.Push(slacktest.Message{Channel: "D" + user, User: user, Text: text})
		},
		next: func(t *testing.T, stderr *syncBuffer) (string, string) {
			t.Helper()
			select {
			case s := <-fake.Sent:
				return strings.TrimPrefix(s.Channel, "D"), unescape.Replace(s.Text)
			case method := <-fake.BadToken:
				t.Fatalf("the fake refused a token for %s; gateway stderr:\n%s", method, stderr.String())
			case <-time.After(2 * time.Minute):
				t.Fatalf("the bot sent nothing; gateway stderr:\n%s", stderr.String())
			}
			return "", ""
		},
	}
}

// TestGatewayRunEndToEnd runs the built binary's `gateway run` against each platform's fake
// and the scripted model, with commands in the docker backend: a stranger dropped, a tool call
// in the container, pairing by the binary's code, and SIGTERM during a turn, which finishes it
// and leaves it in the store.
func TestGatewayRunEndToEnd(t *testing.T) {
	for _, newFake := range []func(*testing.T) gatewayFake{telegramFake, discordFake, slackFake} {
		fake := newFake(t)
		t.Run(fake.platform, func(t *testing.T) { testGatewayRun(t, fake) })
	}
}

func testGatewayRun(t *testing.T, fake gatewayFake) {
	platform := fake.platform
	image := os.Getenv("HERMES_SANDBOX_TEST_IMAGE")
	if image == "" {
		image = "hermes-sandbox-test:1"
	}
	model := newPromptModel(t)
	c := sandboxCLI(t, "[terminal.docker]\nimage = \""+image+"\"\n")
	profile := fmt.Sprintf("gwtest%d", time.Now().UnixNano())
	profileHome := filepath.Join(c.home, "profiles", profile)
	os.MkdirAll(profileHome, 0o700)
	os.Rename(filepath.Join(c.home, "config.toml"), filepath.Join(profileHome, "config.toml"))
	t.Cleanup(func() { removeContainer(t, image, profileHome, profile, c.workspace) })
	hermes := func(args ...string) string { return c.mustRun(t, append([]string{"--profile", profile}, args...)...) }
	for _, kv := range append([][2]string{{"model.base_url", model.URL + "/v1"}, {"model.name", "scripted"}}, fake.settings...) {
		hermes("config", "set", kv[0], kv[1])
	}
	c.wantExit(t, ExitUsage, "hermes config set gateway.allow_local_backend true", "--profile", profile, "gateway", "run", "--backend", "local")

	cmd := c.cmd("", append([]string{"--profile", profile, "--log-level", "info", "gateway", "run"}, fake.args...)...)
	stderr := &syncBuffer{}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running, draining, exited := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		var once, drainOnce bool
		for sc.Scan() {
			stderr.Write([]byte(sc.Text() + "\n"))
			if !once && strings.Contains(sc.Text(), "gateway running on "+platform) {
				once = true
				close(running)
			}
			if !drainOnce && strings.Contains(sc.Text(), "letting running turns finish") {
				drainOnce = true
				close(draining)
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
	next := func(wantChat string) string {
		t.Helper()
		chat, text := fake.next(t, stderr)
		if chat != wantChat {
			t.Fatalf("the bot wrote %q to chat %s, want chat %s; stderr:\n%s", text, chat, wantChat, stderr.String())
		}
		return text
	}

	// A stranger is dropped; the owner's turn runs its tool call in the container.
	fake.push("666", "run: echo pwned")
	fake.push("42", "run: echo from-the-container; test -f /.dockerenv && echo in-docker")
	if got := next("42"); !strings.Contains(got, "from-the-container") || !strings.Contains(got, "in-docker") {
		t.Fatalf("reply %q; stderr:\n%s", got, stderr.String())
	}
	status := hermes("gateway", "status")
	if !strings.Contains(status, "connected since") || !strings.Contains(status, "666") {
		t.Fatalf("status:\n%s", status)
	}

	// Pairing by the binary's code.
	code := strings.TrimSpace(hermes("gateway", "pair", platform))
	fake.push("777001", "/start "+code)
	if got := next("777001"); !strings.HasPrefix(got, "Paired") {
		t.Fatalf("pairing reply %q", got)
	}
	allowedVar := strings.ToUpper(platform) + "_ALLOWED_USERS"
	if list := hermes("gateway", "list"); !strings.Contains(list, "777001") || !strings.Contains(list, "pairing") || !strings.Contains(list, allowedVar) {
		t.Fatalf("list:\n%s", list)
	}
	hermes("gateway", "revoke", platform, "777001")
	c.wantExit(t, ExitNotFound, "no grant for "+platform+" user 777001", "--profile", profile, "gateway", "revoke", platform, "777001")

	if out := hermes("sessions", "list", "--source", platform); strings.Count(out, platform) != 1 {
		t.Fatalf("%s sessions:\n%s", platform, out)
	}
	if out := hermes("sessions", "list"); strings.Contains(out, platform) {
		t.Fatalf("CLI sessions list shows %s's:\n%s", platform, out)
	}

	// SIGTERM during a turn: the gateway stops receiving, lets the turn finish, says its
	// answer, saves it and exits 0.
	fake.push("42", "hold on")
	model.waitEntered(t, "hold on")
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-draining:
	case <-exited:
		t.Fatalf("gateway run exited with a turn running: %s", stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("gateway run did not start stopping: %s", stderr.String())
	}
	model.releaseAll()
	if got := next("42"); got != "holding released" {
		t.Fatalf("the turn running at SIGTERM answered %q", got)
	}
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("gateway run did not stop on SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(stderr.String(), "gateway stopped") {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	for _, secret := range append([]string{fake.token}, fake.secrets...) {
		if strings.Contains(stderr.String(), secret) {
			t.Fatalf("a token is in the log:\n%s", stderr.String())
		}
	}
	if status := hermes("gateway", "status"); !strings.Contains(status, "stopped since") {
		t.Fatalf("status after stop:\n%s", status)
	}
	db, err := store.Open(filepath.Join(profileHome, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ss, err := db.ListSessions(context.Background(), store.SessionFilter{Source: platform})
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions %+v %v", ss, err)
	}
	ms, err := db.Messages(context.Background(), ss[0].ID, store.SessionFilter{Source: platform})
	if err != nil || len(ms) < 2 || ms[len(ms)-2].Content != "hold on" || ms[len(ms)-1].Content != "holding released" {
		t.Fatalf("stored %+v %v", ms, err)
	}
	if _, err := os.Stat(filepath.Join(c.workspace, "pwned")); err == nil {
		t.Fatal("a stranger's command ran")
	}
}

// Slack needs both tokens: status says which is missing and run refuses with the command that
// sets it.
func TestGatewaySlackNeedsAppToken(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "config", "set", "SLACK_BOT_TOKEN", "xoxb-only-the-bot-token")
	if status := c.mustRun(t, "gateway", "status"); !strings.Contains(status, "no (SLACK_APP_TOKEN unset)") {
		t.Fatalf("status:\n%s", status)
	}
	c.wantExit(t, ExitUsage, "hermes config set SLACK_APP_TOKEN", "gateway", "run", "--platform", "slack")
}
