// Package docker runs sandboxed commands in a Docker container, through the Engine API
// (github.com/docker/docker/client; the docker program is never executed).
//
// Each (home, profile, task) gets one long-lived container, labelled so that later processes of
// the same hermes home find it again (and no other home ever does), hardened by
// SecurityDefaults, with the workspace bind-mounted at /workspace. Its main process only sleeps;
// every command is an exec into it, so a command costs an exec, not a container start. When a
// command ends, what it started is killed (see killScript); one that outlives its timeout has
// its whole process tree killed and ends with exit code 124. A container whose process table
// is full is restarted before the next command runs.
//
// Containers outlive the process that made them (Close leaves them running) so a later run of
// the same task finds its state again. A container is abandoned when the process that made it
// and the one that last adopted it are both gone AND no command ran in it for Config.IdleTimeout
// (a CLI call's process exits as soon as it returns, so a gone owner alone means nothing). New
// removes the abandoned containers of its own home, never another home's; Reap does the same.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/hermes-agent/hermes/sandbox"
)

// Defaults of Config.
const (
	// DefaultImage is the upstream agent's image: Debian with Python 3.11 and Node.js 20.
	DefaultImage       = "nikolaik/python-nodejs:python3.11-nodejs20"
	DefaultCPUs        = 1.0
	DefaultMemoryBytes = 2 << 30 // 2 GiB
	DefaultTimeout     = 180 * time.Second
	DefaultProfile     = "default"
	DefaultTask        = "default"
	// DefaultIdleTimeout is how long an ownerless container is kept after its last command.
	DefaultIdleTimeout = time.Hour
)

// WorkspaceDir is where Config.Workspace appears inside the container, and the commands'
// working directory.
const WorkspaceDir = "/workspace"

// Config configures a Backend. Zero values mean the defaults (DefaultConfig), except Workspace,
// which is required.
type Config struct {
	// Image is the image containers are made from; pulled if missing. Default DefaultImage.
	Image string
	// CPUs is how many CPUs the container may use (NanoCPUs); 0 means DefaultCPUs.
	CPUs float64
	// MemoryBytes caps the container's memory, tmpfs contents included, without swap
	// (MemorySwap = Memory); 0 means DefaultMemoryBytes (2 GiB).
	MemoryBytes int64
	// Network gives the container the default bridge network; false (the default) means
	// NetworkMode "none": a loopback interface only.
	Network bool
	// Workspace is a host directory, bind-mounted read-write at /workspace. Required.
	Workspace string
	// Home is the hermes home directory (of the profile) the container belongs to: containers
	// are keyed and labelled by it, so two homes never share or remove each other's. Required.
	Home string
	// Profile is the hermes profile name; default "default".
	Profile string
	// Task is the task or session id; there is one container per (Home, Profile, Task).
	// Default "default".
	Task string
	// IdleTimeout is how long a container whose owner processes are gone is kept after its last
	// command before New (or Reap) removes it; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Timeout is the per-command timeout when a Request has none; 0 means DefaultTimeout.
	Timeout time.Duration
	// OutputLimit caps a command's output in characters (sandbox.CapOutput); 0 means
	// sandbox.DefaultOutputLimit.
	OutputLimit int
	// Progress receives the image-pull progress display; nil for none.
	Progress io.Writer
}

// DefaultConfig returns the defaults; callers set Workspace (and usually Profile and Task).
func DefaultConfig() Config {
	return Config{
		Image:       DefaultImage,
		CPUs:        DefaultCPUs,
		MemoryBytes: DefaultMemoryBytes,
		Profile:     DefaultProfile,
		Task:        DefaultTask,
		IdleTimeout: DefaultIdleTimeout,
		Timeout:     DefaultTimeout,
		OutputLimit: sandbox.DefaultOutputLimit,
	}
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Image == "" {
		c.Image = d.Image
	}
	if c.CPUs <= 0 {
		c.CPUs = d.CPUs
	}
	if c.MemoryBytes <= 0 {
		c.MemoryBytes = d.MemoryBytes
	}
	if c.Profile == "" {
		c.Profile = d.Profile
	}
	if c.Task == "" {
		c.Task = d.Task
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.Home == "" {
		return c, errors.New("docker: no hermes home configured (Config.Home)")
	}
	home, err := filepath.Abs(c.Home)
	if err != nil {
		return c, fmt.Errorf("docker: home %q: %w", c.Home, err)
	}
	c.Home = home
	if c.OutputLimit <= 0 {
		c.OutputLimit = d.OutputLimit
	}
	if c.Workspace == "" {
		return c, errors.New("docker: no workspace directory configured")
	}
	ws, err := filepath.Abs(c.Workspace)
	if err != nil {
		return c, fmt.Errorf("docker: workspace %q: %w", c.Workspace, err)
	}
	st, err := os.Stat(ws)
	if err != nil {
		return c, fmt.Errorf("docker: workspace: %w", err)
	}
	if !st.IsDir() {
		return c, fmt.Errorf("docker: workspace %s is not a directory", ws)
	}
	c.Workspace = ws
	return c, nil
}

// ErrDaemonUnavailable is wrapped by the errors of a Backend that cannot reach the Docker daemon.
var ErrDaemonUnavailable = errors.New("docker: the Docker daemon is not reachable")

// ImageError says the configured image is neither present nor pullable.
type ImageError struct {
	Image string
	Err   error
}

func (e *ImageError) Error() string {
	reason := strings.Join(strings.Fields(e.Err.Error()), " ") // one line
	return fmt.Sprintf("docker: image %q is not available locally and could not be pulled: %s; build or load it, or set terminal.docker.image in config.toml", e.Image, reason)
}

func (e *ImageError) Unwrap() error { return e.Err }

// Backend runs commands in the (home, profile, task)'s container. It is safe for concurrent use.
type Backend struct {
	cfg   Config
	cli   *client.Client
	owner owner

	mu        sync.Mutex
	imageOK   bool
	id        string // the container, once found or created; "" until then
	adoptedID string // the container we last recorded ourselves as owner of
	closed    bool
}

var _ sandbox.Backend = (*Backend)(nil)

// New connects to the Docker daemon (DOCKER_HOST and friends, API version negotiated) and
// reaps containers whose owner is gone (best effort). It creates no container: the first Run
// finds or makes one, pulling the image if needed.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		host := cli.DaemonHost()
		_ = cli.Close()
		return nil, unavailable(host, err)
	}
	b := &Backend{cfg: cfg, cli: cli, owner: self()}
	// Best effort and bounded. Our own (profile, task)'s container is left for Run to adopt,
	// whoever made it.
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, _ = b.Reap(rctx)
	return b, nil
}

// unavailable is the error for a daemon that does not answer.
func unavailable(host string, err error) error {
	return fmt.Errorf("%w at %s (%w); start Docker, or set terminal.backend = \"local\" in config.toml", ErrDaemonUnavailable, host, err)
}

// wrap says what failed, and tells what to do when the daemon went away.
func (b *Backend) wrap(what string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return unavailable(b.cli.DaemonHost(), err)
	}
	return fmt.Errorf("docker: %s: %w", what, err)
}

// Name implements sandbox.Backend.
func (b *Backend) Name() string { return "docker" }

// Config returns the configuration in use, defaults filled in.
func (b *Backend) Config() Config { return b.cfg }

// ContainerID returns the container's ID, "" before the first Run.
func (b *Backend) ContainerID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.id
}

// Close closes the connection to the daemon. The container stays, for a later process of the
// same task (or for Reap once this process is gone).
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return b.cli.Close()
}

// Remove removes this home, profile and task's container(s), running or not.
func (b *Backend) Remove(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	found, err := b.find(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range found {
		if err := b.cli.ContainerRemove(ctx, c.ID, removeOptions); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, b.wrap("remove container "+shortID(c.ID), err))
		}
	}
	b.id, b.adoptedID = "", ""
	return errors.Join(errs...)
}

// Reap removes this home's abandoned containers (see Reap), keeping this backend's own.
func (b *Backend) Reap(ctx context.Context) ([]string, error) {
	return reap(ctx, b.cli, b.owner, b.cfg.Home, b.cfg.IdleTimeout, func(labels map[string]string) bool {
		return labels[labelProfile] == b.cfg.Profile && labels[labelTask] == b.cfg.Task
	})
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Ping checks that the Docker daemon answers and returns its version.
func Ping(ctx context.Context) (string, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return "", fmt.Errorf("docker: client: %w", err)
	}
	defer cli.Close()
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return "", unavailable(cli.DaemonHost(), err)
	}
	return v.Version, nil
}
