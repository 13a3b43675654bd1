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

	"github.com/BurntSushi/toml"

	"github.com/hermes-agent/hermes/abi"
)

// Config is config.toml. Unknown keys are errors.
type Config struct {
	// Workspace is the directory plugins see as /workspace when granted {workspace}.
	// Default: the directory hermes is started in.
	Workspace string  `toml:"workspace"`
	Plugins   Plugins `toml:"plugins"`
}

// Plugins configures the plugin host.
type Plugins struct {
	// Limits are the defaults and ceiling for every plugin's limits. Default: DefaultLimits().
	Limits abi.Limits `toml:"limits"`
	// MaxInstances bounds concurrent calls into one plugin. Default: GOMAXPROCS (at least 2).
	MaxInstances int `toml:"max_instances"`
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

var profileNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

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
		if !profileNameRe.MatchString(profile) {
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
	case c.Plugins.MaxInstances < 0:
		return errors.New("plugins.max_instances must not be negative")
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
