// Package sandbox runs shell commands for the agent and for plugins granted exec, through one
// interface with two backends: docker (a hardened long-lived container per profile and task)
// and local (the host itself, after a parser-based danger check and the user's approval).
//
// Layout:
//
//	sandbox            the Backend interface, requests and results, output capping
//	sandbox/classify   parses a command line (mvdan.cc/sh) and classifies it: safe, dangerous, hardline
//	sandbox/approval   asks the user about dangerous commands and remembers "always" answers
//	sandbox/docker     the Docker Engine backend (github.com/docker/docker/client)
//	sandbox/local      the host backend
package sandbox

import (
	"context"
	"fmt"
	"time"
)

// Request is one command to run.
type Request struct {
	// Command is a shell command line, run with /bin/sh -c.
	Command string
	// Timeout bounds the command's wall time; 0 means the backend's default. When it passes, the
	// command's whole process tree is killed and the result has ExitCode 124.
	Timeout time.Duration
	// Env holds variables for the command, already limited to terminal.env_passthrough.
	Env map[string]string
	// Origin says who asks, shown in approval prompts: "you", "the agent", "plugin files".
	Origin string
}

// Result is what a command did.
type Result struct {
	ExitCode  int
	Output    string // stdout and stderr interleaved, capped by CapOutput
	TimedOut  bool   // ExitCode is then 124
	Truncated bool
	Duration  time.Duration
}

// ExitTimeout is the exit code of a command killed at its timeout (as timeout(1) uses).
const ExitTimeout = 124

// Backend runs commands. Implementations are safe for concurrent use.
type Backend interface {
	// Name is "docker" or "local".
	Name() string
	// Run runs one command. A command that ran and failed is a Result with a non-zero exit
	// code, not an error; errors are for commands that could not be run (or were refused).
	Run(ctx context.Context, req Request) (Result, error)
	// Close releases what the backend holds open (not the container: that outlives the process).
	Close() error
}

// DefaultOutputLimit is the default cap on a command's output, in characters.
const DefaultOutputLimit = 50_000

// CapOutput keeps at most limit characters of out: the first 40 % and the last 60 %, joined by a
// line saying how much was cut. The tail gets more because errors and summaries come last.
func CapOutput(out string, limit int) (string, bool) {
	runes := []rune(out)
	if limit <= 0 || len(runes) <= limit {
		return out, false
	}
	head := limit * 4 / 10
	tail := limit - head
	cut := len(runes) - head - tail
	return string(runes[:head]) + fmt.Sprintf("\n[... %d characters cut ...]\n", cut) + string(runes[len(runes)-tail:]), true
}
