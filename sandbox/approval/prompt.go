package approval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultPromptTimeout is how long a TerminalPrompter waits for an answer.
const DefaultPromptTimeout = 300 * time.Second

// maxAnswer bounds how much of an answer line is kept; longer lines are unknown answers.
const maxAnswer = 64

// TerminalPrompter asks on a terminal. It shows the command, who asks and why it was flagged,
// then reads one line: "o"/"once", "s"/"session" and "a"/"always" (any case) are the only
// yeses. Enter, EOF, any other answer ("y" and "yes" included: the choice must be explicit), a
// read error, a cancelled context and the timeout all deny, and the prompt says so.
//
// In is read a byte at a time, so nothing after the answer line is consumed. When In is an
// *os.File (os.Stdin, a tty), the timeout and cancellation stop the reading itself: with a read
// deadline where the runtime supports one, else by polling the descriptor before each byte, so
// what is typed after a timeout stays for whoever reads next. Any other reader is read in the
// background; after a timeout that read goes on, and the next line it gets is discarded —
// never taken as the answer to a later question.
type TerminalPrompter struct {
	In      io.Reader
	Out     io.Writer
	Timeout time.Duration // 0: DefaultPromptTimeout
}

// Ask shows q and reads the answer.
func (p *TerminalPrompter) Ask(ctx context.Context, q Question) (Decision, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultPromptTimeout
	}
	out := p.Out
	if out == nil {
		out = io.Discard
	}
	if _, err := io.WriteString(out, FormatQuestion(q)); err != nil {
		return Deny, fmt.Errorf("cannot show the question: %w", err)
	}
	if p.In == nil {
		fmt.Fprintln(out, "\nnothing to read an answer from: denied")
		return Deny, errors.New("nothing to read an answer from")
	}
	line, err := readLine(ctx, p.In, timeout)
	switch {
	case errors.Is(err, errTimeout):
		fmt.Fprintf(out, "\nno answer in %s: denied\n", timeout)
		return Deny, fmt.Errorf("no answer in %s", timeout)
	case ctx.Err() != nil:
		fmt.Fprintln(out, "\ncancelled: denied")
		return Deny, ctx.Err()
	case errors.Is(err, io.EOF) && strings.TrimSpace(line) == "":
		fmt.Fprintln(out, "\nno answer: denied")
		return Deny, nil
	case err != nil && !errors.Is(err, io.EOF):
		fmt.Fprintf(out, "\ncannot read the answer (%v): denied\n", err)
		return Deny, fmt.Errorf("cannot read the answer: %w", err)
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	d, ok := parseAnswer(answer)
	switch {
	case answer == "":
		fmt.Fprintln(out, "no answer: denied")
	case !ok:
		fmt.Fprintf(out, "%q is not one of o, s, a: denied\n", sanitize(answer))
	case d == Deny:
		fmt.Fprintln(out, "denied")
	case d == Once:
		fmt.Fprintln(out, "approved once")
	case d == Session:
		fmt.Fprintln(out, "approved for this session")
	case d == Always:
		fmt.Fprintln(out, "approved always, in this profile (see: hermes approvals list; undo: hermes approvals revoke ID)")
	}
	return d, nil
}

func parseAnswer(a string) (Decision, bool) {
	switch a {
	case "o", "once":
		return Once, true
	case "s", "session":
		return Session, true
	case "a", "always":
		return Always, true
	case "d", "deny", "n", "no":
		return Deny, true
	}
	return Deny, false
}

// FormatQuestion is the text a TerminalPrompter shows, ending with the choice line (no newline
// after it). Control and invisible characters in the command are shown escaped, so a command
// cannot disguise itself on the terminal.
func FormatQuestion(q Question) string {
	var b strings.Builder
	const indent = "            "
	b.WriteString("\nhermes: run this command on this machine (not in a sandbox)?\n")
	for i, l := range strings.Split(sanitize(q.Command), "\n") {
		if i == 0 {
			b.WriteString("  command:  ")
		} else {
			b.WriteString(indent)
		}
		b.WriteString(l + "\n")
	}
	origin := oneLine(q.Origin)
	if origin == "" {
		origin = "(unknown)"
	}
	b.WriteString("  asked by: " + origin + "\n")
	for i, f := range q.Verdict.Findings {
		if i == 0 {
			b.WriteString("  flagged:  ")
		} else {
			b.WriteString(indent)
		}
		b.WriteString(oneLine(f.Reason))
		if f.Category != "" {
			b.WriteString(" (" + oneLine(f.Category) + ")")
		}
		b.WriteString("\n")
	}
	if len(q.Verdict.Findings) == 0 {
		b.WriteString("  flagged:  " + q.Verdict.Class.String() + "\n")
	}
	if shape := q.Verdict.Shape; shape != "" && shape != strings.TrimSpace(q.Command) {
		b.WriteString("  always:   covers " + oneLine(shape) + "\n")
	}
	b.WriteString("[o]nce / [s]ession / [a]lways / [d]eny: ")
	return b.String()
}

// sanitize escapes everything a terminal would not show as itself — control characters other
// than newline and tab, format characters (bidi overrides, zero-width), invalid UTF-8 — as
// \xNN or \u{NNNN}.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x80 && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u{%04x}`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

var errTimeout = errors.New("timed out")

type deadliner interface{ SetReadDeadline(time.Time) error }

// readLine reads one line from in, a byte at a time, giving up at timeout or when ctx is done.
// The line is returned without its newline; bytes past maxAnswer are dropped (so the answer is
// unknown). A line ended by EOF is returned with io.EOF.
func readLine(ctx context.Context, in io.Reader, timeout time.Duration) (string, error) {
	if d, ok := in.(deadliner); ok && d.SetReadDeadline(time.Now().Add(timeout)) == nil {
		defer d.SetReadDeadline(time.Time{})
		stop := context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Now()) })
		defer stop()
		line, err := readLineBlocking(in)
		if err != nil && isTimeout(err) {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", errTimeout
		}
		return line, err
	}
	if f, ok := in.(*os.File); ok {
		if line, ok, err := readLinePoll(ctx, f, timeout); ok {
			return line, err
		}
	}

	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1) // the reader never blocks on sending, even after we left
	go func() {
		line, err := readLineBlocking(in)
		ch <- result{line, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-timer.C:
		return "", errTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func readLineBlocking(in io.Reader) (string, error) {
	var (
		line []byte
		buf  [1]byte
	)
	for {
		n, err := in.Read(buf[:])
		if n == 1 {
			if buf[0] == '\n' {
				return string(line), nil
			}
			if len(line) < maxAnswer+1 {
				line = append(line, buf[0])
			}
		}
		if err != nil {
			return string(line), err
		}
	}
}
