package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"golang.org/x/term"
)

// Labels on every sandbox container. The owner labels name the process that created it; a
// later process that adopts the container records itself in adoptionFile inside it (labels
// cannot change), and reaping honours both.
const (
	labelManaged    = "dev.hermes.managed" // "true"
	labelHome       = "dev.hermes.home"    // the hermes home directory (Config.Home)
	labelProfile    = "dev.hermes.profile"
	labelTask       = "dev.hermes.task"
	labelOwnerPID   = "dev.hermes.owner-pid"
	labelOwnerHost  = "dev.hermes.owner-host"
	labelOwnerStart = "dev.hermes.owner-start" // process start time: survives pid reuse
	labelConfig     = "dev.hermes.config"      // hash of image and host config: a change makes a new container
)

// adoptionFile, on the container's /run tmpfs, names the process that last adopted it.
const adoptionFile = "/run/hermes-owner"

// usedFile, on /run too, holds the start time (clock ticks since boot) of the container's last
// command; reaping tells how long the container has been idle from it.
const usedFile = "/run/hermes-used"

// keepAlive is the container's main process (under the init): it only waits. busybox sleep
// takes no "infinity"; sh exits at once on SIGTERM, so stopping the container is quick.
var keepAlive = []string{"/bin/sh", "-c", "while :; do sleep 3600; done"}

var removeOptions = container.RemoveOptions{Force: true, RemoveVolumes: true}

// nameUnsafe matches what may not appear in a container name.
var nameUnsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9_.-]+`) })

// containerName is deterministic per (home, profile, task), so two processes racing to create
// the container collide on the name instead of making two.
func containerName(home, profile, task string) string {
	slug := func(s string) string {
		s = nameUnsafe().ReplaceAllString(s, "-")
		if len(s) > 24 {
			s = s[:24]
		}
		return s
	}
	sum := sha256.Sum256([]byte(home + "\x00" + profile + "\x00" + task))
	return "hermes-" + slug(profile) + "-" + slug(task) + "-" + hex.EncodeToString(sum[:5])
}

// labels are the new container's labels, owned by o.
func (b *Backend) labels(o owner) map[string]string {
	return map[string]string{
		labelManaged:    "true",
		labelHome:       b.cfg.Home,
		labelProfile:    b.cfg.Profile,
		labelTask:       b.cfg.Task,
		labelOwnerPID:   strconv.Itoa(o.PID),
		labelOwnerHost:  o.Host,
		labelOwnerStart: o.Start,
		labelConfig:     b.configHash(),
	}
}

// configHash identifies what the container is made of; a container with another hash (another
// image, workspace, network setting, limits, or hardening) is replaced.
func (b *Backend) configHash() string {
	j, _ := json.Marshal(struct {
		Image string
		Cmd   []string
		Host  *container.HostConfig
	}{b.cfg.Image, keepAlive, b.cfg.hostConfig()})
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:8])
}

// managedFilter selects sandbox containers, of one home when home is not "", optionally of one
// profile and task.
func managedFilter(home string, profileTask ...string) filters.Args {
	f := filters.NewArgs(filters.Arg("label", labelManaged+"=true"))
	if home != "" {
		f.Add("label", labelHome+"="+home)
	}
	if len(profileTask) == 2 {
		f.Add("label", labelProfile+"="+profileTask[0])
		f.Add("label", labelTask+"="+profileTask[1])
	}
	return f
}

// find lists this home, profile and task's containers (normally one at most).
func (b *Backend) find(ctx context.Context) ([]container.Summary, error) {
	list, err := b.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: managedFilter(b.cfg.Home, b.cfg.Profile, b.cfg.Task)})
	if err != nil {
		return nil, b.wrap("list containers", err)
	}
	// The label filter matches "key=value" exactly, but be strict anyway.
	out := list[:0]
	for _, c := range list {
		if c.Labels[labelHome] == b.cfg.Home && c.Labels[labelProfile] == b.cfg.Profile && c.Labels[labelTask] == b.cfg.Task {
			out = append(out, c)
		}
	}
	return out, nil
}

// forget drops the cached container ID after the container turned out gone or stopped; the next
// Run looks it up again (and restarts or recreates it).
func (b *Backend) forget(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.id == id {
		b.id = ""
	}
}

// container returns the running container of this profile and task: the cached one, else the
// one found by label (started, and adopted, if need be), else a new one.
func (b *Backend) container(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", errors.New("docker: backend is closed")
	}
	if b.id != "" {
		return b.id, nil
	}
	for attempt := 0; ; attempt++ {
		id, err := b.findOrCreate(ctx)
		if err == nil {
			b.id = id
			return id, nil
		}
		// Lost a race: another process created the container (name conflict) or removed the one
		// we found. Look again, once.
		if attempt == 0 && (cerrdefs.IsConflict(err) || cerrdefs.IsNotFound(err)) {
			continue
		}
		return "", err
	}
}

// findOrCreate does container's work; b.mu is held.
func (b *Backend) findOrCreate(ctx context.Context) (string, error) {
	found, err := b.find(ctx)
	if err != nil {
		return "", err
	}
	want := b.configHash()
	for _, c := range found {
		if c.Labels[labelConfig] != want || c.State == container.StateDead || c.State == container.StateRemoving {
			// Made for another configuration (or broken): replace it.
			if err := b.cli.ContainerRemove(ctx, c.ID, removeOptions); err != nil && !cerrdefs.IsNotFound(err) {
				return "", b.wrap("remove outdated container "+shortID(c.ID), err)
			}
			continue
		}
		if err := b.start(ctx, c.ID, c.State); err != nil {
			return "", err
		}
		if o, ok := ownerFromLabels(c.Labels); !ok || o != b.owner {
			b.adopt(ctx, c.ID)
		}
		return c.ID, nil
	}
	if err := b.ensureImage(ctx); err != nil {
		return "", err
	}
	return b.create(ctx, b.owner)
}

// start makes a found container run again.
func (b *Backend) start(ctx context.Context, id string, state container.ContainerState) error {
	switch state {
	case container.StateRunning:
		return nil
	case container.StatePaused:
		if err := b.cli.ContainerUnpause(ctx, id); err != nil {
			return b.wrap("unpause container "+shortID(id), err)
		}
		return nil
	}
	if err := b.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return b.wrap("start container "+shortID(id), err)
	}
	return nil
}

// adopt records this process as the container's owner, so that reaping (which reads the owner
// labels of the process that created it) keeps it while we use it. Best effort.
func (b *Backend) adopt(ctx context.Context, id string) {
	if b.adoptedID == id {
		return
	}
	_, code, err := execSimple(ctx, b.cli, id, []string{"/bin/sh", "-c", `printf '%s\n' "$1" > ` + adoptionFile, "hermes-adopt", b.owner.String()})
	if err == nil && code == 0 {
		b.adoptedID = id
	}
}

// create makes and starts this profile and task's container, owned by o.
func (b *Backend) create(ctx context.Context, o owner) (string, error) {
	cfg := &container.Config{
		Image:      b.cfg.Image,
		Cmd:        keepAlive,
		WorkingDir: WorkspaceDir,
		Labels:     b.labels(o),
	}
	name := containerName(b.cfg.Home, b.cfg.Profile, b.cfg.Task)
	resp, err := b.cli.ContainerCreate(ctx, cfg, b.cfg.hostConfig(), nil, nil, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) { // the image went away since the check: check again
			b.imageOK = false
		}
		return "", b.wrap("create container "+name, err)
	}
	if err := b.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		_ = b.cli.ContainerRemove(context.WithoutCancel(ctx), resp.ID, removeOptions)
		return "", b.wrap("start container "+name, err)
	}
	if o == b.owner {
		b.adoptedID = resp.ID
	}
	return resp.ID, nil
}

// EnsureImage makes sure the configured image is present, pulling it (with progress to
// Config.Progress) if not. Run calls it before creating a container; callers may call it up
// front to pull at a convenient moment.
func (b *Backend) EnsureImage(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ensureImage(ctx)
}

func (b *Backend) ensureImage(ctx context.Context) error {
	if b.imageOK {
		return nil
	}
	_, err := b.cli.ImageInspect(ctx, b.cfg.Image)
	if err == nil {
		b.imageOK = true
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return b.wrap(fmt.Sprintf("inspect image %q", b.cfg.Image), err)
	}
	if err := b.pull(ctx); err != nil {
		if client.IsErrConnectionFailed(err) {
			return b.wrap("pull image", err)
		}
		return &ImageError{Image: b.cfg.Image, Err: err}
	}
	if _, err := b.cli.ImageInspect(ctx, b.cfg.Image); err != nil {
		return &ImageError{Image: b.cfg.Image, Err: err}
	}
	b.imageOK = true
	return nil
}

// pull pulls the image, rendering the daemon's progress stream to Config.Progress.
func (b *Backend) pull(ctx context.Context) error {
	rc, err := b.cli.ImagePull(ctx, b.cfg.Image, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	out := b.cfg.Progress
	var fd uintptr
	isTerm := false
	if out == nil {
		out = io.Discard
	} else if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd, isTerm = f.Fd(), true
	}
	return jsonmessage.DisplayJSONMessagesStream(rc, out, fd, isTerm, nil)
}
