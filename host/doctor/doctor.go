// Package doctor checks a hermes installation: home permissions, the model provider, Docker
// and the added plugins. Each check says what is wrong and what to run to fix it.
package doctor

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/registry"
)

// Check is one finding.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Options are what the checks look at.
type Options struct {
	Paths    config.Paths
	Config   config.Config
	Registry *registry.Registry
	// APIKey is the model provider's key ("" when none is set).
	APIKey string
	// DockerPing returns the daemon's version, or why it cannot be reached.
	DockerPing func(context.Context) (string, error)
	HTTP       *http.Client
}

// Run performs every check.
func Run(ctx context.Context, o Options) []Check {
	var out []Check
	out = append(out, homeChecks(o.Paths)...)
	out = append(out, providerCheck(ctx, o))
	out = append(out, dockerCheck(ctx, o))
	out = append(out, pluginChecks(ctx, o)...)
	return out
}

func homeChecks(p config.Paths) []Check {
	var out []Check
	for _, dir := range []string{p.Home, p.Plugins, p.PluginData, p.Cache} {
		info, err := os.Stat(dir)
		switch {
		case err != nil:
			out = append(out, Check{Name: "home " + dir, Detail: err.Error(), Fix: "run any hermes command to create it"})
		case info.Mode().Perm()&0o077 != 0:
			out = append(out, Check{Name: "home " + dir, Detail: fmt.Sprintf("mode %04o lets other users in", info.Mode().Perm()), Fix: "chmod 700 " + dir})
		default:
			out = append(out, Check{Name: "home " + dir, OK: true, Detail: "mode 0700"})
		}
	}
	if _, err := config.ReadDotEnv(p.Env); err != nil {
		out = append(out, Check{Name: "secrets " + p.Env, Detail: err.Error(), Fix: "chmod 600 " + p.Env})
	} else {
		out = append(out, Check{Name: "secrets " + p.Env, OK: true, Detail: "private (0600) or absent"})
	}
	return out
}

func providerCheck(ctx context.Context, o Options) Check {
	m := o.Config.Model
	c := Check{Name: "model provider " + m.BaseURL}
	client := o.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(m.BaseURL, "/")+"/models", nil)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "hermes config set model.base_url URL"
		return c
	}
	if o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		c.Detail, c.Fix = "unreachable: "+err.Error(), "check the URL and your network, or: hermes config set model.base_url URL"
		return c
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		c.Detail, c.Fix = fmt.Sprintf("refused the key (HTTP %d)", resp.StatusCode), "hermes config set "+m.APIKeyEnv+" YOUR_KEY"
	case resp.StatusCode >= 400:
		c.Detail = fmt.Sprintf("answered HTTP %d to GET /models", resp.StatusCode)
		c.OK = resp.StatusCode == http.StatusNotFound // some servers have no model list, yet serve chat
	default:
		c.OK, c.Detail = true, fmt.Sprintf("reachable (HTTP %d), model %s", resp.StatusCode, m.Name)
		if o.APIKey == "" && m.APIKeyEnv != "" {
			c.Detail += "; no " + m.APIKeyEnv + " set (fine for a local server)"
		}
	}
	return c
}

func dockerCheck(ctx context.Context, o Options) Check {
	c := Check{Name: "docker"}
	if o.DockerPing == nil {
		c.OK, c.Detail = true, "not checked"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := o.DockerPing(ctx)
	switch {
	case err == nil:
		c.OK, c.Detail = true, "engine "+v+" answers"
	case o.Config.Terminal.Backend == "docker":
		c.Detail, c.Fix = err.Error(), "start Docker, or: hermes config set terminal.backend local"
	default:
		// Not needed with the local backend: worth knowing, not a failure.
		c.OK, c.Detail = true, "not reachable, and not needed with terminal.backend = local"
	}
	return c
}

func pluginChecks(ctx context.Context, o Options) []Check {
	if o.Registry == nil {
		return nil
	}
	infos, err := o.Registry.List(ctx)
	if err != nil {
		return []Check{{Name: "plugins", Detail: err.Error()}}
	}
	var out []Check
	for _, info := range infos {
		c := Check{Name: "plugin " + info.Name}
		if err := o.Registry.Verify(ctx, info.Name); err != nil {
			c.Detail, c.Fix = err.Error(), "hermes plugins remove "+info.Name+", then add it again from a source you trust"
		} else {
			c.OK, c.Detail = true, fmt.Sprintf("%s, module matches its pinned sha256", info.Version)
		}
		out = append(out, c)
	}
	return out
}
