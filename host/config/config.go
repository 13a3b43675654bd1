// Package config finds hermes' home directory and reads config.toml and .env from it. A Config
// is a plain value: load it once, pass it down, never mutate it in place.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"

	"github.com/hermes-agent/hermes/abi"
)

// Config is config.toml. Unknown keys are errors.
type Config struct {
	// Workspace is the directory plugins see as /workspace when granted {workspace}.
	// Default: the directory hermes is started in.
	Workspace string   `toml:"workspace"`
	Model     Model    `toml:"model"`
	Agent     Agent    `toml:"agent"`
	Plugins   Plugins  `toml:"plugins"`
	Terminal  Terminal `toml:"terminal"`
	API       API      `toml:"api"`
	Gateway   Gateway  `toml:"gateway"`
	Evolve    Evolve   `toml:"evolve"`
}

// Evolve configures `hermes skills evolve`. Each field of a model left empty takes model.*'s
// value, so one local server can serve all three.
type Evolve struct {
	// Optimizer is the model that reads a skill, its cases and failing traces and proposes
	// variants. Default: model.*.
	Optimizer Model `toml:"optimizer"`
	// Eval is the model that runs each variant on the cases (and judges rubrics). Default:
	// model.*.
	Eval Model `toml:"eval"`
}

// Gateway configures `hermes gateway run`, the chat channels. Bot tokens and allowlists
// (TELEGRAM_BOT_TOKEN, TELEGRAM_ALLOWED_USERS, ...) are read from the environment or .env.
type Gateway struct {
	// AllowLocalBackend lets `gateway run --backend local` run chat users' commands on this
	// machine; dangerous ones are then asked about in the chat. Default false: the docker
	// backend only.
	AllowLocalBackend bool            `toml:"allow_local_backend"`
	Telegram          GatewayPlatform `toml:"telegram"`
	Discord           GatewayPlatform `toml:"discord"`
	Slack             GatewayPlatform `toml:"slack"`
}

// GatewayPlatform is one chat platform's settings.
type GatewayPlatform struct {
	// APIURL is the platform's API base URL (a self-hosted Telegram Bot API server, a test
	// server). Default: the platform's own.
	APIURL string `toml:"api_url"`
}

// Model is the OpenAI-compatible chat-completions endpoint the agent talks to.
type Model struct {
	// BaseURL of the API. Default: OpenRouter, https://openrouter.ai/api/v1. Ollama:
	// http://127.0.0.1:11434/v1; llama.cpp's server: http://127.0.0.1:8080/v1.
	BaseURL string `toml:"base_url"`
	// Name of the model. Default: "anthropic/claude-sonnet-4".
	Name string `toml:"name"`
	// APIKeyEnv names the variable (environment or .env) holding the API key. Default:
	// OPENROUTER_API_KEY. A local server that needs no key can leave it unset.
	APIKeyEnv string `toml:"api_key_env"`
}

// Agent configures the tool-calling loop.
type Agent struct {
	// MaxIterations bounds model requests per user turn. Default 20.
	MaxIterations int `toml:"max_iterations"`
	// MaxParallel bounds tool calls run at once. Default 4.
	MaxParallel int `toml:"max_parallel"`
	// ToolResultLimit caps each tool result, in characters. Default 20,000.
	ToolResultLimit int `toml:"tool_result_limit"`
	// Tools and DenyTools are globs over tool names ("files__*", "terminal"); deny wins.
	// Default: every tool allowed.
	Tools     []string `toml:"tools"`
	DenyTools []string `toml:"deny_tools"`
}

// Terminal configures where shell commands run (the agent's terminal tool, `hermes exec`, and
// plugins granted exec).
type Terminal struct {
	// Backend is "local" (the host, dangerous commands need approval) or "docker" (a hardened
	// container per profile and task). Default: "local".
	Backend string `toml:"backend"`
	// Timeout bounds each command; the whole process tree is killed when it passes. Default 180s.
	Timeout abi.Duration `toml:"timeout"`
	// OutputLimit caps a command's output in characters (the first 40 % and last 60 % are kept).
	// Default 50,000.
	OutputLimit int `toml:"output_limit"`
	// EnvPassthrough names the only environment variables passed to commands. hermes' own
	// secrets never are unless listed here. Default: none.
	EnvPassthrough []string `toml:"env_passthrough"`
	// Deny lists regular expressions; a command matching one never runs, whatever was approved.
	Deny []string `toml:"deny"`
	// ApprovalTimeout is how long the approval prompt waits before denying. Default 300s.
	ApprovalTimeout abi.Duration `toml:"approval_timeout"`
	Docker          Docker       `toml:"docker"`
}

// Docker configures the docker backend.
type Docker struct {
	// Image runs the commands. Default: the upstream agent's nikolaik/python-nodejs:python3.11-nodejs20.
	Image string `toml:"image"`
	// CPUs per container. Default 1.
	CPUs float64 `toml:"cpus"`
	// MemoryMB per container. Default 2048.
	MemoryMB int64 `toml:"memory_mb"`
	// Network gives the container network access. Default false: no network at all.
	Network bool `toml:"network"`
}

// Plugins configures the plugin host.
type Plugins struct {
	// Limits are the defaults and ceiling for every plugin's limits. Default: DefaultLimits().
	Limits abi.Limits `toml:"limits"`
	// MaxInstances bounds concurrent calls into one plugin. Default: GOMAXPROCS (at least 2).
	MaxInstances int `toml:"max_instances"`
	// ProjectLocal lets plugins installed from a project's .hermes/plugins/ directory load.
	// They are installed and verified like any other; without this they stay unloaded, so
	// cloning a repository never brings code that runs. Default: false.
	ProjectLocal bool `toml:"project_local"`
	// ActivityPerPlugin is how many capability uses (hermes plugins activity) are kept per
	// plugin; older ones are dropped as new ones come. Default 10000.
	ActivityPerPlugin int `toml:"activity_per_plugin"`
}

// API configures `hermes api`, the OpenAI-compatible server. Its key (API_SERVER_KEY) and CORS
// origins (API_SERVER_CORS_ORIGINS) are read from the environment or .env, never from here.
type API struct {
	// Host is the address to listen on. Default 127.0.0.1: anything but a loopback address needs
	// API_SERVER_KEY, or the server refuses to start.
	Host string `toml:"host"`
	// Port to listen on. Default 8642.
	Port int `toml:"port"`
	// MaxBodyBytes caps a request body. Default 1 MiB.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// RequestTimeout bounds one chat completion, every model request and tool call included.
	// Default 600s.
	RequestTimeout abi.Duration `toml:"request_timeout"`
	// MaxConcurrentRuns bounds agent runs in progress; requests beyond it get 429. Default 8.
	MaxConcurrentRuns int `toml:"max_concurrent_runs"`
	// ShutdownTimeout is how long runs in progress may finish after SIGTERM before they are
	// cancelled (what they said is kept). Default 30s.
	ShutdownTimeout abi.Duration `toml:"shutdown_timeout"`
	// DangerousCommands decides dangerous commands the API's runs reach on the local backend;
	// no one is ever asked. "deny" (default) refuses them all, even ones approved "always";
	// "approved" runs only the ones approved "always" (hermes approvals list);
	// "unsafe_allow" runs every one of them. Hardline commands and terminal.deny never run.
	DangerousCommands string `toml:"dangerous_commands"`
}

// Paths are the files and directories of one hermes home (or profile).
type Paths struct {
	Home       string
	Config     string // config.toml
	Env        string // .env, secrets, mode 0600
	StateDB    string // state.db
	Plugins    string // added plugins' files, one directory each
	PluginData string // each plugin's {plugin_data} directory
	Skills     string
	Cache      string // compiled code
}

var (
	profileNameRe = lazyRegexp(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)
	envNameRe     = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ResolvePaths finds the home: $HERMES_HOME, else ~/.hermes; a non-empty profile (or
// $HERMES_PROFILE) selects profiles/<name>/ inside it.
func ResolvePaths(profile string) (Paths, error) {
	home := os.Getenv("HERMES_HOME")
	if home == "" {
		userHome, err := os.UserHomeDir()
		if err != nil {
			return Paths{}, fmt.Errorf("find home directory (set HERMES_HOME): %w", err)
		}
		home = filepath.Join(userHome, ".hermes")
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return Paths{}, fmt.Errorf("resolve HERMES_HOME: %w", err)
	}
	if profile == "" {
		profile = os.Getenv("HERMES_PROFILE")
	}
	if profile != "" && profile != "default" {
		if !profileNameRe().MatchString(profile) {
			return Paths{}, fmt.Errorf("profile %q: names are letters, digits, '-' and '_'", profile)
		}
		home = filepath.Join(home, "profiles", profile)
	}
	return PathsAt(home), nil
}

// PathsAt lays out a home rooted at dir.
func PathsAt(dir string) Paths {
	return Paths{
		Home:       dir,
		Config:     filepath.Join(dir, "config.toml"),
		Env:        filepath.Join(dir, ".env"),
		StateDB:    filepath.Join(dir, "state.db"),
		Plugins:    filepath.Join(dir, "plugins"),
		PluginData: filepath.Join(dir, "plugin-data"),
		Skills:     filepath.Join(dir, "skills"),
		Cache:      filepath.Join(dir, "cache"),
	}
}

// Ensure creates the home and its directories with mode 0700 and tightens looser ones.
func (p Paths) Ensure() error {
	for _, dir := range []string{p.Home, p.Plugins, p.PluginData, p.Skills, p.Cache} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("secure %s: %w", dir, err)
		}
	}
	return nil
}

// Load reads config.toml at path; a missing file means Default(). Values left out keep their
// defaults.
func Load(path string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", path, err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return Config{}, fmt.Errorf("%s: line %d: %s", path, perr.Position.Line, perr.Message)
		}
		return Config{}, fmt.Errorf("%s: %s", path, firstLine(err.Error()))
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return Config{}, fmt.Errorf("%s: unknown key %q", path, undecoded[0].String())
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func (c Config) validate() error {
	l := c.Plugins.Limits
	switch {
	case l.MemoryPages == 0 || l.MemoryPages > 65536:
		return errors.New("plugins.limits.memory_pages must be 1-65536")
	case l.Timeout <= 0:
		return errors.New("plugins.limits.timeout must be positive")
	case l.OutputBytes <= 0:
		return errors.New("plugins.limits.output_bytes must be positive")
	case l.HTTPResponseBytes <= 0:
		return errors.New("plugins.limits.http_response_bytes must be positive")
	case l.FSWriteBytes <= 0:
		return errors.New("plugins.limits.fs_write_bytes must be positive")
	case l.DataBytes <= 0:
		return errors.New("plugins.limits.data_bytes must be positive")
	case l.KVBytes <= 0:
		return errors.New("plugins.limits.kv_bytes must be positive")
	case c.Plugins.MaxInstances < 0:
		return errors.New("plugins.max_instances must not be negative")
	case c.Plugins.ActivityPerPlugin < 0:
		return errors.New("plugins.activity_per_plugin must not be negative")
	}
	switch {
	case c.Model.BaseURL == "" || c.Model.Name == "":
		return errors.New("model.base_url and model.name must be set")
	case c.Agent.MaxIterations <= 0 || c.Agent.MaxParallel <= 0 || c.Agent.ToolResultLimit <= 0:
		return errors.New("agent.max_iterations, max_parallel and tool_result_limit must be positive")
	}
	t := c.Terminal
	switch {
	case t.Backend != "local" && t.Backend != "docker":
		return fmt.Errorf("terminal.backend %q: use \"local\" or \"docker\"", t.Backend)
	case t.Timeout <= 0:
		return errors.New("terminal.timeout must be positive")
	case t.OutputLimit <= 0:
		return errors.New("terminal.output_limit must be positive")
	case t.ApprovalTimeout <= 0:
		return errors.New("terminal.approval_timeout must be positive")
	case t.Docker.CPUs <= 0 || t.Docker.MemoryMB <= 0:
		return errors.New("terminal.docker.cpus and memory_mb must be positive")
	}
	if err := c.API.validate(); err != nil {
		return err
	}
	for _, name := range t.EnvPassthrough {
		if !envNameRe().MatchString(name) {
			return fmt.Errorf("terminal.env_passthrough: %q is not a variable name", name)
		}
	}
	for _, rule := range t.Deny {
		if _, err := regexp.Compile(rule); err != nil {
			return fmt.Errorf("terminal.deny: %q is not a regular expression: %v", rule, err)
		}
	}
	return nil
}

func (a API) validate() error {
	switch {
	case a.Host == "":
		return errors.New("api.host must be set (127.0.0.1 for this machine only)")
	case a.Port < 0 || a.Port > 65535:
		return fmt.Errorf("api.port %d: use 1-65535 (0 picks a free port)", a.Port)
	case a.MaxBodyBytes <= 0:
		return errors.New("api.max_body_bytes must be positive")
	case a.RequestTimeout <= 0:
		return errors.New("api.request_timeout must be positive")
	case a.MaxConcurrentRuns <= 0:
		return errors.New("api.max_concurrent_runs must be positive")
	case a.ShutdownTimeout <= 0:
		return errors.New("api.shutdown_timeout must be positive")
	}
	switch a.DangerousCommands {
	case "deny", "approved", "unsafe_allow":
	default:
		return fmt.Errorf("api.dangerous_commands %q: use \"deny\", \"approved\" or \"unsafe_allow\"", a.DangerousCommands)
	}
	return nil
}

// ReadDotEnv reads KEY=VALUE lines from a .env file. It refuses a file that other users can
// read, since it holds secrets. A missing file is empty.
func ReadDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by other users (mode %04o); it holds secrets, so hermes will not use it until you run: chmod 600 %s", path, info.Mode().Perm(), path)
	}
	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		values[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return values, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lazyRegexp compiles pattern on first use rather than at start-up, which every command pays.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
