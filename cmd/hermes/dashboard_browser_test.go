package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// The dashboard as a user sees it: the built binary driven by a real headless Chromium
// (Debian's chromium package, which scripts/ensure-toolchains.sh installs for `make test`).
// One browser, one tab, the pages in sequence; every page is loaded to its load event before
// anything is read, so nothing waits on a timer. On failure a screenshot of every page the
// test saw is saved (see saveShots).
func TestDashboardInBrowser(t *testing.T) {
	chromium := findChromium(t)

	// A home with two plugins, one file read through `tools call` (activity), a key in .env and
	// an agent session whose user message is an XSS payload.
	const (
		xss       = `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'"> how many words in quokka?`
		keySecret = "sk-live-BROWSERSECRET-4321"
	)
	model := newScriptedModel(t, `{"text":"quokka"}`)
	c := agentCLI(t, model) // textstats, and OPENROUTER_API_KEY in .env
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "plugins/files"), "--yes", "--allow-unsigned")
	if err := os.WriteFile(filepath.Join(c.workspace, "note.txt"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, "tools", "call", "files.read", `{"path":"note.txt"}`)
	c.mustRun(t, "run", xss)
	skill := filepath.Join(t.TempDir(), "release-notes")
	if err := os.CopyFS(skill, os.DirFS(filepath.Join(testplugins.Root(), "testdata/skills/benign/release-notes"))); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, "skills", "install", skill)
	md, _ := os.ReadFile(filepath.Join(skill, "SKILL.md"))
	if err := os.WriteFile(filepath.Join(skill, "SKILL.md"), bytes.Replace(md, []byte("version: 1.0.0"), []byte("version: 1.1.0"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, "skills", "install", skill)

	dash := startDashboard(t, c)
	b := newBrowser(t, chromium)
	base := dash.base

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"log in with the printed URL", func(t *testing.T) {
			resp := b.open(t, "login", dash.login)
			if resp.Status != http.StatusOK || !strings.HasSuffix(resp.URL, "/") {
				t.Fatalf("after the login URL: %d at %s", resp.Status, resp.URL)
			}
			b.contains(t, "main", "Terminal backend", "Plugins", "2")
			if csp := fmt.Sprint(resp.Headers["Content-Security-Policy"]); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			// The session cookie is HttpOnly: the page's own script could not read it.
			if cookie := evalJS[string](t, b, `document.cookie`); cookie != "" {
				t.Errorf("document.cookie = %q: the session cookie is readable by script", cookie)
			}
			// The token is spent: a second opening is refused.
			if resp := b.open(t, "login again", dash.login); resp.Status != http.StatusUnauthorized {
				t.Errorf("second use of the login URL: %d", resp.Status)
			}
			b.contains(t, "main", "already used")
		}},
		{"see plugins and their grants", func(t *testing.T) {
			b.open(t, "plugins", base+"/plugins")
			b.contains(t, "table", "files", "textstats", "UNSIGNED", "enabled")
			b.click(t, "plugin files", `a[href="/plugins/files"]`)
			b.contains(t, "ul.grants", "may read and write files in your workspace")
			b.contains(t, "main", "files.read", "Kept versions")
			b.click(t, "plugin textstats", `a[href="/plugins/textstats"]`, base+"/plugins")
			b.contains(t, "ul.grants", "nothing: no files, no network, no secrets")
		}},
		{"disable and re-enable a plugin", func(t *testing.T) {
			b.open(t, "plugin files", base+"/plugins/files")
			b.click(t, "confirm disable", `a[href="/plugins/files/confirm/disable"]`)
			b.contains(t, "main", "Disable plugin files?")
			b.click(t, "disabled", `form.card button[type=submit]`)
			b.contains(t, "p.flash", "Disabled files.")
			b.contains(t, "table.kv", "disabled")
			if out := c.mustRun(t, "plugins", "list", "--json"); !strings.Contains(out, `"enabled": false`) {
				t.Errorf("the CLI does not see files disabled:\n%s", out)
			}
			b.click(t, "confirm enable", `a[href="/plugins/files/confirm/enable"]`)
			b.click(t, "enabled", `form.card button[type=submit]`)
			b.contains(t, "p.flash", "Enabled files.")
			b.contains(t, "table.kv", "enabled")
			if out := c.mustRun(t, "tools", "call", "files.read", `{"path":"note.txt"}`); !strings.Contains(out, "hi") {
				t.Errorf("files.read after re-enabling: %s", out)
			}
		}},
		{"set a key and see only its mask", func(t *testing.T) {
			b.open(t, "keys", base+"/keys")
			b.contains(t, "table", "OPENROUTER_API_KEY", "••••")
			b.fill(t, `input[name="name"]`, "OPENAI_API_KEY")
			b.fill(t, `input[name="value"]`, keySecret)
			b.click(t, "key set", `form.card button[type=submit]`)
			b.contains(t, "p.flash", "Set OPENAI_API_KEY.")
			b.contains(t, "table", "OPENAI_API_KEY", "••••4321")
			page := evalJS[string](t, b, `document.documentElement.outerHTML`)
			for _, secret := range []string{keySecret, "BROWSERSECRET", "sk-or-v1-redact-me-please"} {
				if strings.Contains(page, secret) {
					t.Errorf("the keys page holds a value (%s)", secret)
				}
			}
			if v := evalJS[string](t, b, `document.querySelector('input[name="value"]').value`); v != "" {
				t.Errorf("the value field was filled back in: %q", v)
			}
			if env, _ := os.ReadFile(filepath.Join(c.home, ".env")); !strings.Contains(string(env), "OPENAI_API_KEY="+keySecret) {
				t.Errorf(".env lacks the key:\n%s", env)
			}
		}},
		{"search sessions", func(t *testing.T) {
			b.open(t, "sessions", base+"/sessions")
			b.contains(t, "table", "cli")
			b.fill(t, `input[name="q"]`, "quokka")
			b.click(t, "search", `form.filters button[type=submit]`)
			b.contains(t, "ul.hits", "quokka")
			if marked := evalJS[string](t, b, `document.querySelector('ul.hits mark').textContent`); marked != "quokka" {
				t.Errorf("the matched term is marked as %q", marked)
			}
			if n := evalJS[int](t, b, `document.querySelectorAll('ul.hits script, ul.hits img').length`); n != 0 {
				t.Errorf("the snippet holds %d elements from the message", n)
			}
		}},
		{"a session message holding script is shown as text", func(t *testing.T) {
			b.click(t, "session", `ul.hits a`)
			b.contains(t, ".msg.user .text", `<script>document.title="pwned"</script>`, `onerror=`)
			if n := evalJS[int](t, b, `document.querySelectorAll('script, img').length`); n != 0 {
				t.Errorf("the transcript has %d script or img elements: the message was rendered as markup", n)
			}
			if title := evalJS[string](t, b, `document.title`); strings.Contains(title, "pwned") {
				t.Errorf("the payload ran: title %q", title)
			}
			// The tool call is folded away.
			if open := evalJS[bool](t, b, `(() => { const d = document.querySelector('details.call'); return d === null || d.open })()`); open {
				t.Error("the tool call is missing or not folded")
			}
		}},
		{"see a plugin's activity after tools call", func(t *testing.T) {
			b.open(t, "plugin files activity", base+"/plugins/files")
			b.contains(t, "main", "/workspace/note.txt")
			b.click(t, "activity", `a[href="/activity?plugin=files"]`)
			b.contains(t, "table", "files", "read", "fs", "/workspace/note.txt", "ok")
			// The per-day chart, an SVG drawn on the server, loads under the page's CSP.
			if w := evalJS[int](t, b, `document.querySelector('img.chart').naturalWidth`); w == 0 {
				t.Error("the activity chart did not load")
			}
		}},
		{"restore a kept skill version", func(t *testing.T) {
			b.open(t, "skills", base+"/skills")
			b.contains(t, "table", "release-notes", "1.1.0", "active")
			b.click(t, "confirm skill restore", `a[href^="/skills/release-notes/confirm/restore"]`)
			b.contains(t, "main", "Restore skill release-notes 1.0.0")
			b.click(t, "skill restored", `form.card button[type=submit]`)
			b.contains(t, "p.flash", "Restored skill release-notes 1.0.0 (verdict safe), in place of 1.1.0.")
			if out := c.mustRun(t, "skills", "list"); !strings.Contains(out, "release-notes  1.0.0") {
				t.Errorf("the CLI does not see 1.0.0 restored:\n%s", out)
			}
		}},
		{"a page on another origin posting a form is refused", func(t *testing.T) {
			// Even holding the session's CSRF token, a form on another origin is refused: the
			// page at 127.0.0.1:other is same-site (ports do not count), so the SameSite=Strict
			// cookie is sent, and http.CrossOriginProtection is what stops it.
			b.open(t, "keys for the token", base+"/keys")
			csrf := evalJS[string](t, b, `document.querySelector('input[name="csrf"]').value`)
			evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form method="post" action="%s/plugins/files/disable"><input type="hidden" name="csrf" value="%s"><button type="submit">Claim</button></form>`,
					html.EscapeString(base), html.EscapeString(csrf))
			}))
			defer evil.Close()
			if evil.URL[strings.LastIndex(evil.URL, ":"):] == base[strings.LastIndex(base, ":"):] {
				t.Fatal("the other origin has the dashboard's port")
			}
			b.open(t, "other origin", evil.URL)
			resp := b.click(t, "cross-origin post", `button[type=submit]`)
			if resp.Status != http.StatusForbidden {
				t.Errorf("cross-origin form post: %d, want 403", resp.Status)
			}
			b.contains(t, "body", "cross-origin request refused")
			b.open(t, "still enabled", base+"/plugins/files")
			b.contains(t, "table.kv", "enabled")
		}},
		{"a request with Host evil.example is refused", func(t *testing.T) {
			// DNS rebinding: the browser resolves evil.example to 127.0.0.1 (host-resolver-rules)
			// and sends its own name in Host.
			port := base[strings.LastIndex(base, ":")+1:]
			resp := b.open(t, "rebound name", "http://evil.example:"+port+"/")
			if resp.Status != http.StatusMisdirectedRequest {
				t.Errorf("GET through evil.example: %d, want 421", resp.Status)
			}
			b.contains(t, "body", "unexpected Host header")
			for _, host := range []string{"evil.example", "evil.example:" + port} {
				req, _ := http.NewRequest("GET", base+"/", nil)
				req.Host = host
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
				if r.StatusCode != http.StatusMisdirectedRequest {
					t.Errorf("Host: %s: %d, want 421", host, r.StatusCode)
				}
			}
		}},
		{"log out", func(t *testing.T) {
			b.open(t, "logout", base+"/logout")
			resp := b.click(t, "logged out", `form.card button[type=submit]`)
			if !strings.HasSuffix(resp.URL, "/login") {
				t.Errorf("after logging out: %s", resp.URL)
			}
			if resp := b.open(t, "keys after logout", base+"/keys"); !strings.HasSuffix(resp.URL, "/login") {
				t.Errorf("keys after logging out: %d at %s", resp.Status, resp.URL)
			}
		}},
		{"the log holds no key value", func(t *testing.T) {
			stderr := dash.stop(t)
			if !strings.Contains(stderr, "dashboard stopped") {
				t.Errorf("dashboard's stderr:\n%s", stderr)
			}
			for _, secret := range []string{keySecret, "sk-or-v1-redact-me-please"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("the dashboard logged a key's value:\n%s", stderr)
				}
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			break // the later steps build on this one
		}
	}
}

// findChromium finds Debian's chromium. Under CI=true a missing browser fails the test: `make
// test` installs it (scripts/ensure-toolchains.sh), so its absence is a broken set-up.
func findChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed, and CI=true: the browser tests must run (scripts/ensure-toolchains.sh installs Debian's chromium; run make test)")
		}
		t.Skip("chromium is not installed: skipping the dashboard's browser tests (apt-get install chromium, or make test)")
	}
	return path
}

type dashboardProc struct {
	cmd         *exec.Cmd
	login, base string
	stderr      *syncBuffer
	stopped     bool
}

// startDashboard runs `hermes dashboard --port 0` and reads the login URL it prints.
func startDashboard(t *testing.T, c *cliHome) *dashboardProc {
	t.Helper()
	d := &dashboardProc{cmd: c.cmd("", "dashboard", "--port", "0"), stderr: &syncBuffer{}}
	d.cmd.Stderr = d.stderr
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !d.stopped {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dashboard printed no login URL: %v\nstderr: %s", err, d.stderr)
	}
	d.login = strings.TrimSpace(line)
	u, err := url.Parse(d.login)
	if err != nil || u.Path != "/login" || u.Query().Get("token") == "" {
		t.Fatalf("login URL %q", d.login)
	}
	d.base = u.Scheme + "://" + u.Host
	return d
}

// stop interrupts the dashboard as Ctrl-C does and returns what it wrote on stderr.
func (d *dashboardProc) stop(t *testing.T) string {
	t.Helper()
	if err := d.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("dashboard after Ctrl-C: %v", err)
	}
	d.stopped = true
	return d.stderr.String()
}

// browser is one headless Chromium with one tab, and a screenshot of every page it loaded.
type browser struct {
	ctx   context.Context
	mu    sync.Mutex
	shots []shot
}

type shot struct {
	name string
	png  []byte
}

func newBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.WindowSize(1280, 900),
		// A DNS-rebinding attacker's name that resolves to this machine, for the Host check.
		chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox on: the setuid/namespace sandbox
		// is meant to confine a renderer from the user that runs it, and root cannot be
		// confined that way. CI and the dev machines run tests as root, so the sandbox is off
		// here; the browser only ever loads the test's own pages on 127.0.0.1.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			b.saveShots(t)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// open navigates to u and waits for the page's load event.
func (b *browser) open(t *testing.T, name, u string) *network.Response {
	t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	b.shoot(t, name)
	return resp
}

// click clicks the first element matching sel, which must be on the page (it is loaded, so
// nothing is waited for), and waits for the page it leads to. With from, it first opens that.
func (b *browser) click(t *testing.T, name, sel string, from ...string) *network.Response {
	t.Helper()
	for _, u := range from {
		b.open(t, "before "+name, u)
	}
	b.mustHave(t, sel)
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	b.shoot(t, name)
	return resp
}

// fill types text into the field sel.
func (b *browser) fill(t *testing.T, sel, text string) {
	t.Helper()
	b.mustHave(t, sel)
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

func (b *browser) mustHave(t *testing.T, sel string) {
	t.Helper()
	js, _ := json.Marshal(sel)
	if !evalJS[bool](t, b, "document.querySelector("+string(js)+") !== null") {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		t.Fatalf("%s has no %s:\n%s", loc, sel, evalJS[string](t, b, "document.body.innerText"))
	}
}

// contains checks that the text shown in the first element matching sel holds each of wants.
func (b *browser) contains(t *testing.T, sel string, wants ...string) {
	t.Helper()
	js, _ := json.Marshal(sel)
	text := evalJS[string](t, b, "(document.querySelector("+string(js)+") || {innerText: ''}).innerText")
	for _, w := range wants {
		if !strings.Contains(text, w) {
			loc, _ := chromedp.Run(b.ctx, chromedp.Location())
			t.Errorf("%s: %s does not show %q:\n%s", loc, sel, w, text)
		}
	}
}

func evalJS[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) shoot(t *testing.T, name string) {
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot of %s: %v", name, err)
		return
	}
	b.mu.Lock()
	b.shots = append(b.shots, shot{name, png})
	b.mu.Unlock()
}

// saveShots writes the screenshots into the test's artifact folder (kept under -outputdir
// with go test -artifacts, as make test runs it), or else into a temporary folder that is
// kept, and logs where.
func (b *browser) saveShots(t *testing.T) {
	dir := ""
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		dir = t.ArtifactDir()
	} else {
		d, err := os.MkdirTemp("", "hermes-dashboard-screenshots-")
		if err != nil {
			t.Logf("screenshots not saved: %v", err)
			return
		}
		dir = d
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range b.shots {
		name := fmt.Sprintf("%02d-%s.png", i+1, strings.ReplaceAll(s.name, " ", "-"))
		if err := os.WriteFile(filepath.Join(dir, name), s.png, 0o644); err != nil {
			t.Logf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("screenshots of the %d pages this test saw: %s", len(b.shots), dir)
}

// The browser driver is a test dependency only: the shipped binary does not link it.
func TestBinaryHasNoBrowserDriver(t *testing.T) {
	info, err := buildinfo.ReadFile(hermesBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range info.Deps {
		if strings.HasPrefix(dep.Path, "github.com/chromedp/") {
			t.Errorf("the hermes binary links %s %s", dep.Path, dep.Version)
		}
	}
}
