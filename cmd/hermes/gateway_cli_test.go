package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/agent/modeltest"
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
// (or, sent twice, cancels it) and leaves it in the store.
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

	proc := startGateway(t, c, profile, fake)
	next := func(wantChat string) string {
		t.Helper()
		chat, text := fake.next(t, proc.stderr)
		if chat != wantChat {
			t.Fatalf("the bot wrote %q to chat %s, want chat %s; stderr:\n%s", text, chat, wantChat, proc.stderr.String())
		}
		return text
	}

	// A stranger is dropped; the owner's turn runs its tool call in the container.
	fake.push("666", "run: echo pwned")
	fake.push("42", "run: echo from-the-container; test -f /.dockerenv && echo in-docker")
	if got := next("42"); !strings.Contains(got, "from-the-container") || !strings.Contains(got, "in-docker") {
		t.Fatalf("reply %q; stderr:\n%s", got, proc.stderr.String())
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

	// SIGTERM twice during a turn: the first stops receiving and waits for the turn, the
	// second cancels it; it says so, what was said is kept, and the exit is 0. The second
	// comes once the agent has the "holding " the model streamed (the gateway logs, at debug
	// level, when the model starts answering): before that, a cancelled turn has no reply to
	// keep. The first turn's line is before the line saying it ended.
	ended := proc.waitLog(t, `msg="gateway: turn"`, 0)
	fake.push("42", "hold first")
	waitModel(t, model, proc, "hold first")
	proc.waitLog(t, "gateway: the model is answering", ended+1)
	proc.sigterm(t)
	proc.cmd.Process.Signal(syscall.SIGTERM)
	if got := next("42"); !strings.HasPrefix(got, "Stopped: hermes is shutting down") {
		t.Fatalf("the turn cancelled by a second SIGTERM answered %q", got)
	}
	proc.wait(t, fake)

	// SIGTERM during a turn: the gateway stops receiving, lets the turn finish, says its
	// answer, saves it and exits 0.
	proc = startGateway(t, c, profile, fake)
	fake.push("42", "hold on")
	waitModel(t, model, proc, "hold on")
	proc.sigterm(t)
	model.releaseAll()
	if got := next("42"); got != "holding released" {
		t.Fatalf("the turn running at SIGTERM answered %q", got)
	}
	proc.wait(t, fake)
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
	var said []string
	for _, m := range ms {
		said = append(said, m.Role+": "+m.Content)
	}
	if err != nil || !strings.HasSuffix(strings.Join(said, "|"), "user: hold first|assistant: holding \n[interrupted]|user: hold on|assistant: holding released") {
		t.Fatalf("stored %q %v", said, err)
	}
	if _, err := os.Stat(filepath.Join(c.workspace, "pwned")); err == nil {
		t.Fatal("a stranger's command ran")
	}
}

// waitModel waits until the model receives a request whose last message starts with prefix
// (earlier ones are skipped), failing as soon as gateway run exits.
func waitModel(t *testing.T, model *promptModel, proc *gatewayProc, prefix string) {
	t.Helper()
	modeltest.WaitEnteredWhile(t, model.entered, prefix, proc.exited, func() string { return "gateway stderr:\n" + proc.stderr.String() })
}

// gatewayProc is a running `hermes gateway run`.
type gatewayProc struct {
	cmd                       *exec.Cmd
	stderr                    *syncBuffer
	running, draining, exited chan struct{}

	mu    sync.Mutex
	lines []string      // stderr's lines so far
	grew  chan struct{} // closed and replaced when a line is added
}

// waitLog waits until stderr has a line containing s at index from or later, and returns
// its index.
func (p *gatewayProc) waitLog(t *testing.T, s string, from int) int {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if strings.Contains(p.lines[i], s) {
				p.mu.Unlock()
				return i
			}
		}
		from = max(from, len(p.lines))
		grew := p.grew
		p.mu.Unlock()
		select {
		case <-grew:
		case <-p.exited:
			t.Fatalf("gateway run exited without logging %q: %s", s, p.stderr.String())
		case <-deadline:
			t.Fatalf("gateway run did not log %q: %s", s, p.stderr.String())
		}
	}
}

// startGateway runs `gateway run` for fake's platform and returns once it is running.
func startGateway(t *testing.T, c *cliHome, profile string, fake gatewayFake) *gatewayProc {
	t.Helper()
	p := &gatewayProc{
		cmd:    c.cmd("", append([]string{"--profile", profile, "--log-level", "debug", "gateway", "run"}, fake.args...)...),
		stderr: &syncBuffer{}, running: make(chan struct{}), draining: make(chan struct{}), exited: make(chan struct{}),
		grew: make(chan struct{}),
	}
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		var once, drainOnce bool
		for sc.Scan() {
			p.stderr.Write([]byte(sc.Text() + "\n"))
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.grew)
			p.grew = make(chan struct{})
			p.mu.Unlock()
			if !once && strings.Contains(sc.Text(), "gateway running on "+fake.platform) {
				once = true
				close(p.running)
			}
			if !drainOnce && strings.Contains(sc.Text(), "letting running turns finish") {
				drainOnce = true
				close(p.draining)
			}
		}
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.exited
	})
	select {
	case <-p.running:
	case <-p.exited:
		t.Fatalf("gateway run exited: %s", p.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("gateway run did not start: %s", p.stderr.String())
	}
	return p
}

// sigterm sends SIGTERM during a turn and waits until the gateway stops receiving.
func (p *gatewayProc) sigterm(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.draining:
	case <-p.exited:
		t.Fatalf("gateway run exited with a turn running: %s", p.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("gateway run did not start stopping: %s", p.stderr.String())
	}
}

// wait waits for the gateway to exit, which must be cleanly and without showing a token.
func (p *gatewayProc) wait(t *testing.T, fake gatewayFake) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("gateway run did not stop on SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.stderr.String(), "gateway stopped") {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
	}
	for _, secret := range append([]string{fake.token}, fake.secrets...) {
		if strings.Contains(p.stderr.String(), secret) {
			t.Fatalf("a token is in the log:\n%s", p.stderr.String())
		}
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
