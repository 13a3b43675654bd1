//go:build unix

package approval

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// helperEnv makes the test binary act as a tiny program that asks one question on its terminal
// (stdin and stdout) and prints the decision; see TestPromptThroughPTY.
const helperEnv = "HERMES_APPROVAL_PTY_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(promptHelper())
	}
	os.Exit(m.Run())
}

func promptHelper() int {
	timeout, err := time.ParseDuration(os.Getenv(helperEnv + "_TIMEOUT"))
	if err != nil {
		timeout = 10 * time.Second
	}
	fmt.Printf("INTERACTIVE=%v\n", Interactive(os.Stdin, os.Stdout))
	p := &TerminalPrompter{In: os.Stdin, Out: os.Stdout, Timeout: timeout}
	d, err := p.Ask(context.Background(), testQuestion())
	fmt.Printf("DECISION=%s ERR=%v\n", d, err)
	if os.Getenv(helperEnv+"_TWICE") == "1" {
		p.Timeout = 10 * time.Second
		d, err := p.Ask(context.Background(), testQuestion())
		fmt.Printf("SECOND=%s ERR=%v\n", d, err)
	}
	return 0
}

// syncBuffer collects what the terminal shows.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) waitFor(t *testing.T, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q; it showed:\n%s", s, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPromptThroughPTY(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ci        string
		timeout   string
		typed     string // "" types nothing
		second    string // typed at a second question, asked after the first is answered
		wantInter bool
		want      string
		wantShown string
	}{
		{name: "a is always", typed: "a\r", wantInter: true, want: "DECISION=always ERR=<nil>", wantShown: "approved always"},
		{name: "o is once", typed: "o\r", wantInter: true, want: "DECISION=once ERR=<nil>"},
		{name: "session spelled out", typed: "session\r", wantInter: true, want: "DECISION=session ERR=<nil>"},
		{name: "Enter denies", typed: "\r", wantInter: true, want: "DECISION=deny ERR=<nil>", wantShown: "no answer: denied"},
		{name: "d denies", typed: "d\r", wantInter: true, want: "DECISION=deny ERR=<nil>", wantShown: "denied"},
		{name: "yes denies", typed: "yes\r", wantInter: true, want: "DECISION=deny ERR=<nil>", wantShown: `"yes" is not one of o, s, a: denied`},
		{name: "Ctrl-D denies", typed: "\x04", wantInter: true, want: "DECISION=deny ERR=<nil>", wantShown: "no answer: denied"},
		{name: "silence times out", timeout: "300ms", wantInter: true, want: "DECISION=deny ERR=no answer in 300ms", wantShown: "no answer in 300ms: denied"},
		{name: "what is typed after a timeout answers the next question", timeout: "300ms", second: "o\r",
			wantInter: true, want: "SECOND=once ERR=<nil>", wantShown: "no answer in 300ms: denied"},
		{name: "CI is not interactive", ci: "true", typed: "d\r", wantInter: false, want: "DECISION=deny"},
		{name: "CI=1 is not interactive", ci: "1", typed: "d\r", wantInter: false, want: "DECISION=deny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			twice := ""
			if tc.second != "" {
				twice = "1"
			}
			cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", helperEnv+"=1", helperEnv+"_TIMEOUT="+tc.timeout, helperEnv+"_TWICE="+twice, "CI="+tc.ci)
			ptmx, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer ptmx.Close()
			var screen syncBuffer
			copied := make(chan struct{})
			go func() {
				io.Copy(&screen, ptmx) // ends with EIO when the helper exits
				close(copied)
			}()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					cmd.Wait()
				}
			}()

			screen.waitFor(t, "[o]nce / [s]ession / [a]lways / [d]eny: ", 30*time.Second)
			for _, s := range []string{"command:  rm -rf ./build", "asked by: the agent",
				"deletes files recursively (delete)", "does not ask before deleting (force)"} {
				if !strings.Contains(screen.String(), s) {
					t.Errorf("terminal lacks %q:\n%s", s, screen.String())
				}
			}
			if tc.typed != "" {
				if _, err := ptmx.Write([]byte(tc.typed)); err != nil {
					t.Fatal(err)
				}
			}
			screen.waitFor(t, "DECISION=", 10*time.Second)
			if tc.second != "" {
				deadline := time.Now().Add(10 * time.Second)
				for strings.Count(screen.String(), "[d]eny: ") < 2 {
					if time.Now().After(deadline) {
						t.Fatalf("no second question:\n%s", screen.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
				if _, err := ptmx.Write([]byte(tc.second)); err != nil {
					t.Fatal(err)
				}
				screen.waitFor(t, "SECOND=", 10*time.Second)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper: %v", err)
			}
			select {
			case <-copied:
			case <-time.After(5 * time.Second):
			}
			shown := screen.String()
			if want := fmt.Sprintf("INTERACTIVE=%v", tc.wantInter); !strings.Contains(shown, want) {
				t.Errorf("terminal lacks %q:\n%s", want, shown)
			}
			if !strings.Contains(shown, tc.want) {
				t.Errorf("terminal lacks %q:\n%s", tc.want, shown)
			}
			if !strings.Contains(shown, tc.wantShown) {
				t.Errorf("terminal lacks %q:\n%s", tc.wantShown, shown)
			}
		})
	}
}
