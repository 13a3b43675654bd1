package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Reap removes the sandbox containers (label dev.hermes.managed=true) whose owner process is
// gone: the process that created the container (its owner labels) and the one that last
// adopted it (if any) are both dead, or their pids now belong to processes started at another
// time. Owners on another host, or whose liveness cannot be told, are left alone, as are
// containers of live processes. It returns the IDs of the containers removed.
func Reap(ctx context.Context, cli client.APIClient) ([]string, error) {
	return reap(ctx, cli, self(), nil)
}

// reap is Reap, as seen by here, keeping the containers keep says to (nil: none).
func reap(ctx context.Context, cli client.APIClient, here owner, keep func(labels map[string]string) bool) ([]string, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: managedFilter()})
	if err != nil {
		return nil, fmt.Errorf("docker: reap: list containers: %w", err)
	}
	var removed []string
	var errs []error
	for _, c := range list {
		if keep != nil && keep(c.Labels) {
			continue
		}
		if !stale(ctx, cli, here, c) {
			continue
		}
		if err := cli.ContainerRemove(ctx, c.ID, removeOptions); err != nil {
			if !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("docker: reap: remove container %s: %w", shortID(c.ID), err))
			}
			continue
		}
		removed = append(removed, c.ID)
	}
	return removed, errors.Join(errs...)
}

// stale says whether c's owners are all gone.
func stale(ctx context.Context, cli client.APIClient, here owner, c container.Summary) bool {
	creator, ok := ownerFromLabels(c.Labels)
	if !ok || creator.liveness(here) != gone {
		return false
	}
	if c.State != container.StateRunning {
		return true // stopped: nobody is using it (an adopter that restarts it would record itself)
	}
	// A running container may have been adopted by a live process.
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, code, err := execSimple(ectx, cli, c.ID, []string{"/bin/sh", "-c",
		`if { read -r l < ` + adoptionFile + `; } 2>/dev/null; then printf '%s\n' "$l"; else echo none; fi`})
	if err != nil || code != 0 {
		return false // cannot tell: leave it
	}
	out = strings.TrimSpace(out)
	if out == "none" {
		return true
	}
	adopter, ok := parseOwner(out)
	return ok && adopter.liveness(here) == gone
}
