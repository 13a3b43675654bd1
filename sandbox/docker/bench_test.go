package docker

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/hermes-agent/hermes/sandbox"
)

// BenchmarkExec compares running `true` as an exec in the warm container (what Run does) with a
// fresh container per command: create, start, wait, remove (`docker run --rm`), with the same
// image and hardened host config.
func BenchmarkExec(b *testing.B) {
	ctx := context.Background()
	backend := newBackend(b, nil)
	if res := run(b, backend, "true", 0); res.ExitCode != 0 {
		b.Fatalf("warm-up: %+v", res)
	}

	b.Run("warm-exec", func(b *testing.B) {
		for b.Loop() {
			res, err := backend.Run(ctx, sandbox.Request{Command: "true"})
			if err != nil || res.ExitCode != 0 {
				b.Fatalf("%+v, %v", res, err)
			}
		}
	})

	b.Run("fresh-run", func(b *testing.B) {
		cli := backend.cli
		for b.Loop() {
			created, err := cli.ContainerCreate(ctx, &container.Config{Image: backend.cfg.Image, Cmd: []string{"true"}},
				backend.cfg.hostConfig(), nil, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
			if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
				b.Fatal(err)
			}
			select {
			case w := <-waitC:
				if w.StatusCode != 0 {
					b.Fatalf("exit %d", w.StatusCode)
				}
			case err := <-errC:
				b.Fatal(err)
			}
			if err := cli.ContainerRemove(ctx, created.ID, removeOptions); err != nil {
				b.Fatal(err)
			}
		}
	})
}
