package docker

import (
	"math"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// SecurityDefaults returns the hardening every sandbox container gets, as a fresh value the
// caller may extend (hostConfig adds the per-Config resources, network and workspace; nothing
// may loosen these). They are the upstream agent's _SECURITY_ARGS plus an init process and no
// network:
//
//   - every capability dropped except DAC_OVERRIDE, CHOWN and FOWNER, which package managers
//     and file tools running as root need inside the container;
//   - no-new-privileges: no setuid binary or file capability raises privileges;
//   - at most 256 processes (a fork bomb stops there);
//   - /tmp (512 MiB), /var/tmp (256 MiB) and /run (64 MiB) as size-limited tmpfs, all nosuid
//     and noexec (Docker mounts a tmpfs noexec unless told "exec", so /tmp is noexec too);
//   - NetworkMode "none" (hostConfig switches to the default network when Config.Network);
//   - an init process (docker-init / tini) as PID 1, which reaps orphans;
//   - not privileged, no device, and private PID, IPC, UTS and network namespaces (the zero
//     PidMode and UTSMode mean the container's own).
func SecurityDefaults() container.HostConfig {
	pids := int64(256)
	init := true
	return container.HostConfig{
		CapDrop:     []string{"ALL"},
		CapAdd:      []string{"DAC_OVERRIDE", "CHOWN", "FOWNER"},
		SecurityOpt: []string{"no-new-privileges"},
		Resources: container.Resources{
			PidsLimit: &pids,
		},
		Tmpfs: map[string]string{
			"/tmp":     "rw,nosuid,size=512m",
			"/var/tmp": "rw,noexec,nosuid,size=256m",
			"/run":     "rw,noexec,nosuid,size=64m",
		},
		NetworkMode:   networkNone,
		Init:          &init,
		Privileged:    false,
		IpcMode:       container.IPCModePrivate,
		PidMode:       "",
		UTSMode:       "",
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	}
}

// The two network modes a sandbox may have: none, or the daemon's default (bridge) network.
const (
	networkNone    container.NetworkMode = "none"
	networkDefault container.NetworkMode = "default"
)

// hostConfig is SecurityDefaults plus the Config's CPUs, memory (no swap), network and workspace.
func (c Config) hostConfig() *container.HostConfig {
	hc := SecurityDefaults()
	hc.NanoCPUs = int64(math.Round(c.CPUs * 1e9))
	hc.Memory = c.MemoryBytes
	hc.MemorySwap = c.MemoryBytes
	if c.Network {
		hc.NetworkMode = networkDefault
	}
	hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: c.Workspace, Target: WorkspaceDir}}
	return &hc
}
