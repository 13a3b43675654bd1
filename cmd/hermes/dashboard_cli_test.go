package main

import (
	"bufio"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

func TestDashboardRefusesPublicAddress(t *testing.T) {
	c := newCLI(t)
	c.wantExit(t, ExitUsage, "refusing to serve the dashboard on 192.0.2.10", "dashboard", "--host", "192.0.2.10", "--port", "0")
	c.wantExit(t, ExitUsage, `refusing to serve the dashboard on every interface ("0.0.0.0")`, "dashboard", "--host", "0.0.0.0", "--port", "0")
	c.wantExit(t, ExitUsage, "--tls-cert and --tls-key go together", "dashboard", "--tls-cert", "x.pem")
}

// The built binary prints a login URL that logs in once.
func TestDashboardLoginURL(t *testing.T) {
	c := newCLI(t)
	cmd := c.cmd("", "dashboard", "--port", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	login, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	login = strings.TrimSpace(login)
	if !strings.HasPrefix(login, "http://127.0.0.1:") || !strings.Contains(login, "/login?token=") {
		t.Fatalf("login URL %q", login)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Errorf("after login: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	resp, err = http.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second use of the login URL: %d", resp.StatusCode)
	}
}
