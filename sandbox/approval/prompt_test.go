package approval

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/sandbox/classify"
)

func testQuestion() Question {
	return Question{
		Command: "rm -rf ./build",
		Origin:  "the agent",
		Verdict: classify.Verdict{
			Class: classify.Dangerous,
			Shape: "rm -rf ./build",
			Findings: []classify.Finding{
				{Class: classify.Dangerous, Category: "delete", Reason: "deletes files recursively", Command: "rm -rf ./build"},
				{Class: classify.Dangerous, Category: "force", Reason: "does not ask before deleting", Command: "rm -rf ./build"},
			},
		},
	}
}

func TestFormatQuestion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		q       func() Question
		want    []string
		notWant []string
	}{
		{
			name: "command, origin and every reason",
			q:    testQuestion,
			want: []string{
				"  command:  rm -rf ./build\n",
				"  asked by: the agent\n",
				"  flagged:  deletes files recursively (delete)\n",
				"            does not ask before deleting (force)\n",
				"[o]nce / [s]ession / [a]lways / [d]eny: ",
			},
			notWant: []string{"always:   covers"},
		},
		{
			name: "shape shown when it differs from the command",
			q: func() Question {
				q := testQuestion()
				q.Command = "rm  -rf   ./build"
				return q
			},
			want: []string{"  command:  rm  -rf   ./build\n", "  always:   covers rm -rf ./build\n"},
		},
		{
			name: "multi-line command indented",
			q: func() Question {
				q := testQuestion()
				q.Command = "cd /tmp\nrm -rf ./build"
				return q
			},
			want: []string{"  command:  cd /tmp\n            rm -rf ./build\n"},
		},
		{
			name: "control characters cannot hide the command",
			q: func() Question {
				q := testQuestion()
				q.Command = "rm -rf ~/x\r\x1b[2Kecho harmless\u202e"
				q.Origin = "plugin\x1b[31m evil"
				return q
			},
			want:    []string{`rm -rf ~/x\x0d\x1b[2Kecho harmless\u{202e}`, `asked by: plugin\x1b[31m evil`},
			notWant: []string{"\r", "\x1b", "\u202e"},
		},
		{
			name: "empty origin",
			q: func() Question {
				q := testQuestion()
				q.Origin = ""
				return q
			},
			want: []string{"  asked by: (unknown)\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FormatQuestion(tc.q())
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("prompt lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("prompt contains %q:\n%s", w, got)
				}
			}
			if !strings.HasSuffix(got, "[o]nce / [s]ession / [a]lways / [d]eny: ") {
				t.Errorf("prompt does not end with the choices:\n%s", got)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestTerminalPrompterAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      io.Reader
		want    Decision
		wantErr bool
		wantOut string
	}{
		{name: "o", in: strings.NewReader("o\n"), want: Once, wantOut: "approved once"},
		{name: "once", in: strings.NewReader("once\n"), want: Once},
		{name: "ONCE with spaces and CR", in: strings.NewReader("  ONCE \r\n"), want: Once},
		{name: "s", in: strings.NewReader("s\n"), want: Session, wantOut: "approved for this session"},
		{name: "session", in: strings.NewReader("session\n"), want: Session},
		{name: "a", in: strings.NewReader("a\n"), want: Always, wantOut: "approved always"},
		{name: "always", in: strings.NewReader("always\n"), want: Always},
		{name: "answer without newline before EOF", in: strings.NewReader("o"), want: Once},
		{name: "d", in: strings.NewReader("d\n"), want: Deny, wantOut: "denied"},
		{name: "deny", in: strings.NewReader("deny\n"), want: Deny},
		{name: "Enter denies", in: strings.NewReader("\n"), want: Deny, wantOut: "no answer: denied"},
		{name: "spaces then Enter deny", in: strings.NewReader("   \n"), want: Deny, wantOut: "no answer: denied"},
		{name: "EOF denies", in: strings.NewReader(""), want: Deny, wantOut: "no answer: denied"},
		{name: "yes denies", in: strings.NewReader("yes\n"), want: Deny, wantOut: `"yes" is not one of o, s, a: denied`},
		{name: "y denies", in: strings.NewReader("y\n"), want: Deny, wantOut: "denied"},
		{name: "x denies", in: strings.NewReader("x\n"), want: Deny, wantOut: `"x" is not one of o, s, a: denied`},
		{name: "o with trailing words denies", in: strings.NewReader("o please\n"), want: Deny},
		{name: "a long line denies", in: strings.NewReader(strings.Repeat("a", 10000) + "\n"), want: Deny},
		{name: "only the first line counts", in: strings.NewReader("\na\n"), want: Deny},
		{name: "read error denies", in: errReader{errors.New("boom")}, want: Deny, wantErr: true, wantOut: "cannot read the answer (boom): denied"},
		{name: "no input denies", in: nil, want: Deny, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &TerminalPrompter{In: tc.in, Out: &out, Timeout: 5 * time.Second}
			got, err := p.Ask(context.Background(), testQuestion())
			if got != tc.want {
				t.Errorf("decision %v, want %v", got, tc.want)
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error: %v", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), "[o]nce / [s]ession / [a]lways / [d]eny: ") {
				t.Errorf("question not shown:\n%s", out.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
		})
	}
}

// The prompter reads only its answer line, so what follows stays for whoever reads next.
func TestTerminalPrompterReadsOneLine(t *testing.T) {
	in := strings.NewReader("s\nnext line\n")
	p := &TerminalPrompter{In: in, Out: io.Discard}
	if d, _ := p.Ask(context.Background(), testQuestion()); d != Session {
		t.Fatalf("decision %v", d)
	}
	rest, _ := io.ReadAll(in)
	if string(rest) != "next line\n" {
		t.Errorf("left %q unread, want %q", rest, "next line\n")
	}
}

func TestTerminalPrompterTimeout(t *testing.T) {
	osR, osW, err := os.Pipe() // pollable: the read deadline path
	if err != nil {
		t.Fatal(err)
	}
	defer osR.Close()
	defer osW.Close()
	ioR, ioW := io.Pipe() // no deadline: the background read path
	defer ioW.Close()

	for _, tc := range []struct {
		name string
		in   io.Reader
	}{
		{name: "io.Pipe that never writes", in: ioR},
		{name: "os.Pipe that never writes", in: osR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &TerminalPrompter{In: tc.in, Out: &out, Timeout: 100 * time.Millisecond}
			start := time.Now()
			d, err := p.Ask(context.Background(), testQuestion())
			if d != Deny || err == nil {
				t.Errorf("Ask = %v, %v; want Deny and an error", d, err)
			}
			if el := time.Since(start); el < 100*time.Millisecond || el > 3*time.Second {
				t.Errorf("took %v", el)
			}
			if !strings.Contains(out.String(), "no answer in 100ms: denied") {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}

	// After a timeout on the deadline path, the next question reads the next answer.
	p := &TerminalPrompter{In: osR, Out: io.Discard, Timeout: 5 * time.Second}
	go osW.Write([]byte("o\n"))
	if d, err := p.Ask(context.Background(), testQuestion()); d != Once || err != nil {
		t.Errorf("after a timeout: Ask = %v, %v; want Once", d, err)
	}
}

func TestTerminalPrompterCancel(t *testing.T) {
	osR, osW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer osR.Close()
	defer osW.Close()
	ioR, ioW := io.Pipe()
	defer ioW.Close()
	for _, tc := range []struct {
		name string
		in   io.Reader
	}{
		{name: "io.Pipe", in: ioR},
		{name: "os.Pipe", in: osR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			var out bytes.Buffer
			p := &TerminalPrompter{In: tc.in, Out: &out, Timeout: time.Minute}
			d, err := p.Ask(ctx, testQuestion())
			if d != Deny || !errors.Is(err, context.Canceled) {
				t.Errorf("Ask = %v, %v; want Deny, context.Canceled", d, err)
			}
			if !strings.Contains(out.String(), "cancelled: denied") {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
}

func TestDefaultPromptTimeout(t *testing.T) {
	// The documented default, and its message format.
	if DefaultPromptTimeout != 300*time.Second || DefaultPromptTimeout.String() != "5m0s" {
		t.Errorf("DefaultPromptTimeout = %v", DefaultPromptTimeout)
	}
}

func TestNoPrompt(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    NoPrompt
		want string
	}{
		{name: "with reason", p: NoPrompt{Reason: "CI=true"}, want: "no one to ask (CI=true)"},
		{name: "without reason", p: NoPrompt{}, want: "no one to ask"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.p.Ask(context.Background(), testQuestion())
			if d != Deny || !errors.Is(err, ErrNotAsked) || err.Error() != tc.want {
				t.Errorf("Ask = %v, %v; want Deny, %q", d, err, tc.want)
			}
		})
	}
}
