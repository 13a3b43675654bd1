package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Reap removes home's abandoned sandbox containers (labels dev.hermes.managed=true and
// dev.hermes.home=home): the process that created the container (its owner labels) and the one
// that last adopted it (if any) are both dead, or their pids now belong to processes started at
// another time, and no command ran in it for idle. Owners on another host, or whose liveness
// cannot be told, are left alone, as are containers of live processes, containers used more
// recently, and every container of another home. It returns the IDs of the containers removed.
//
// The idle time matters because a CLI call's process — the owner — exits as soon as the call
// returns: its container is still the one the next call of the same task will use.
func Reap(ctx context.Context, cli client.APIClient, home string, idle time.Duration) ([]string, error) {
	if home == "" {
		return nil, errors.New("docker: reap: no hermes home given")
	}
	return reap(ctx, cli, self(), home, idle, nil)
}

// reap is Reap, as seen by here, keeping the containers keep says to (nil: none).
func reap(ctx context.Context, cli client.APIClient, here owner, home string, idle time.Duration, keep func(labels map[string]string) bool) ([]string, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: managedFilter(home)})
	if err != nil {
		return nil, fmt.Errorf("docker: reap: list containers: %w", err)
	}
	var removed []string
	var errs []error
	for _, c := range list {
		if c.Labels[labelHome] != home || keep != nil && keep(c.Labels) {
			continue
		}
		if !abandoned(ctx, cli, here, idle, c) {
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

// idleScript prints the adopter recorded in adoptionFile ("none" if none) and then how many
// seconds ago the last command started (from usedFile; the container's start when no command
// ran), with shell builtins only. Clock ticks are USER_HZ, 100 on Linux.
const idleScript = `if { read -r l < ` + adoptionFile + `; } 2>/dev/null; then printf '%s\n' "$l"; else echo none; fi
if ! { read -r u < ` + usedFile + `; } 2>/dev/null; then
	{ read -r s < /proc/1/stat; } 2>/dev/null
	s=${s##*) }
	set -- $s
	u=${20}
fi
read -r up _ < /proc/uptime
echo $(( ${up%.*} - ${u:-0} / 100 ))`

// abandoned says whether c's owners are all gone and it has been idle for at least idle.
func abandoned(ctx context.Context, cli client.APIClient, here owner, idle time.Duration, c container.Summary) bool {
	creator, ok := ownerFromLabels(c.Labels)
	if !ok || creator.liveness(here) != gone {
		return false
	}
	if c.State != container.StateRunning {
		// Stopped: nobody is using it (an adopter that restarts it would record itself). Idle
		// since it stopped.
		ci, err := cli.ContainerInspect(ctx, c.ID)
		if err != nil || ci.State == nil {
			return false
		}
		stopped, err := time.Parse(time.RFC3339Nano, ci.State.FinishedAt)
		if err != nil || stopped.IsZero() || stopped.Year() < 2000 {
			stopped = time.Unix(c.Created, 0)
		}
		return time.Since(stopped) >= idle
	}
	// A running container may have been adopted by a live process, or used lately.
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, code, err := execSimple(ectx, cli, c.ID, []string{"/bin/sh", "-c", idleScript})
	if err != nil || code != 0 {
		return false // cannot tell: leave it
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		return false
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(lines[1]), 10, 64)
	if err != nil || time.Duration(secs)*time.Second < idle {
		return false
	}
	if strings.TrimSpace(lines[0]) == "none" {
		return true
	}
	adopter, ok := parseOwner(lines[0])
	return ok && adopter.liveness(here) == gone
}
