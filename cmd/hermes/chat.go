package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/agent"
)

type chatOptions struct {
	Model  string
	Resume string
}

func newChatCmd(env *environment) *cli.Command {
	opts := &chatOptions{}
	return &cli.Command{
		Name:  "chat",
		Usage: "talk with the agent; replies stream as they are written (Ctrl-C stops the current turn or clears the line, Ctrl-D leaves)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model name (default: model.name)", Destination: &opts.Model},
			&cli.StringFlag{Name: "resume", Usage: "continue session `ID`", Destination: &opts.Resume},
		},
		Action: func(c *cli.Context) error { return runChat(c.Context, env, opts) },
	}
}

func runChat(ctx context.Context, env *environment, opts *chatOptions) error {
	// Ctrl-C ends the turn in progress, not hermes: this command handles the signal itself.
	base := context.WithoutCancel(ctx)
	a, session, err := env.agent(base, opts.Model, opts.Resume)
	if err != nil {
		return err
	}
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)

	fmt.Fprintf(env.Err, "session %s with %s; Ctrl-C clears the line or stops a turn, Ctrl-D leaves\n", session.ID, session.Model)
	lines := readLines(env.In)
	for {
		fmt.Fprint(env.Out, "\nyou> ")
		var line lineOrEnd
		select {
		case <-interrupts:
			// Ctrl-C at the prompt: the terminal has dropped what was typed; show a fresh
			// prompt. The signal is taken here, so it does not end the next turn.
			continue
		case line = <-lines:
		}
		if line.end {
			fmt.Fprintln(env.Out)
			if line.err != nil {
				return fmt.Errorf("chat: read standard input: %w", line.err)
			}
			return nil
		}
		text := strings.TrimSpace(line.text)
		if text == "" {
			continue
		}
		if text == "/exit" || text == "/quit" {
			return nil
		}
		if session.Title == "" {
			session.Title = env.redactor.String(firstSentence(text))
			_ = env.db.SetSessionTitle(base, session.ID, session.Title)
		}
		turn, cancel := context.WithCancel(base)
		go func() {
			select {
			case <-interrupts:
				cancel()
			case <-turn.Done():
			}
		}()
		fmt.Fprint(env.Out, "\nhermes> ")
		_, err := a.Run(turn, session, text, func(ev agent.Event) {
			switch ev.Kind {
			case agent.EventText:
				fmt.Fprint(env.Out, ev.Text)
			case agent.EventToolStart:
				fmt.Fprintf(env.Out, "\n  → %s %s\n", agent.DisplayName(ev.Tool), firstSentence(ev.Args))
			case agent.EventRetry:
				fmt.Fprintf(env.Err, "\n  … %s\n", ev.Text)
			case agent.EventToolEnd:
				printNotices(env.Err, ev)
			}
		})
		interrupted := turn.Err() != nil
		cancel()
		fmt.Fprintln(env.Out)
		switch {
		case interrupted:
			fmt.Fprintln(env.Err, "(interrupted; what was said so far is saved)")
		case err != nil && !errors.Is(err, context.Canceled):
			fmt.Fprintf(env.Err, "hermes: %v\n", err)
		}
	}
}

// lineOrEnd is a line read from the terminal, or the end of input (with the error, if any).
type lineOrEnd struct {
	text string
	end  bool
	err  error
}

// readLines reads lines from r in the background, so the prompt can wait for a line and an
// interrupt at once. The channel is unbuffered: a line is read only when the previous one was
// taken, and what is typed during a turn waits in the terminal for the next prompt.
func readLines(r io.Reader) <-chan lineOrEnd {
	out := make(chan lineOrEnd)
	go func() {
		in := bufio.NewScanner(r)
		in.Buffer(make([]byte, 64<<10), 1<<20)
		for in.Scan() {
			out <- lineOrEnd{text: in.Text()}
		}
		out <- lineOrEnd{end: true, err: in.Err()}
	}()
	return out
}
