package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hermes-agent/hermes/abi"
)

// knownSecrets are provider keys that are secrets whatever their name looks like.
var knownSecrets = map[string]bool{
	"OPENROUTER_API_KEY": true, "OPENAI_API_KEY": true, "ANTHROPIC_API_KEY": true, "GEMINI_API_KEY": true,
	"GOOGLE_API_KEY": true, "GROQ_API_KEY": true, "MISTRAL_API_KEY": true, "DEEPSEEK_API_KEY": true,
	"HF_TOKEN": true, "GITHUB_TOKEN": true, "API_SERVER_KEY": true, "NOUS_API_KEY": true, "XAI_API_KEY": true,
}

var secretSuffixRe = lazyRegexp(`(?i)(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD|_PASSWD|_PASS|_CREDENTIALS)$`)

// dotEnvSettings are not secrets but live in .env beside the ones they go with, so a server or
// a registry login is configured in one place.
var dotEnvSettings = map[string]bool{
	"API_SERVER_CORS_ORIGINS": true, "HERMES_REGISTRY_USERNAME": true,
	"TELEGRAM_ALLOWED_USERS": true, "DISCORD_ALLOWED_USERS": true, "SLACK_ALLOWED_USERS": true,
}

// InDotEnv reports whether key is kept in .env (a secret, or a setting that goes with one)
// rather than config.toml.
func InDotEnv(key string) bool { return IsSecretKey(key) || dotEnvSettings[strings.ToUpper(key)] }

// IsSecretKey reports whether key names a secret, which belongs in .env, never config.toml.
func IsSecretKey(key string) bool {
	return knownSecrets[strings.ToUpper(key)] || secretSuffixRe().MatchString(key)
}

// SetDotEnv sets key=value in the .env file at path, keeping every other line (comments and
// order included), and writes it atomically with mode 0600.
func SetDotEnv(path, key, value string) error {
	if !envNameRe().MatchString(key) {
		return fmt.Errorf("%q is not a variable name", key)
	}
	if strings.ContainsAny(value, "\n\r\x00") {
		return fmt.Errorf("the value of %s must be one line", key)
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	line := key + "=" + quoteEnv(value)
	var out []string
	replaced := false
	if len(data) > 0 {
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			k, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "export "), "=")
			if ok && strings.TrimSpace(k) == key && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				if !replaced {
					out = append(out, line)
					replaced = true
				}
				continue
			}
			out = append(out, l)
		}
	}
	if !replaced {
		out = append(out, line)
	}
	return WriteFileAtomic(path, []byte(strings.Join(out, "\n")+"\n"), 0o600)
}

// DeleteDotEnv removes key's lines from the .env file at path, keeping every other line, and
// writes it atomically with mode 0600. A key that is not there is not an error.
func DeleteDotEnv(path, key string) error {
	if !envNameRe().MatchString(key) {
		return fmt.Errorf("%q is not a variable name", key)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		k, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "export "), "=")
		if ok && strings.TrimSpace(k) == key && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		out = append(out, l)
	}
	return WriteFileAtomic(path, []byte(strings.Join(out, "\n")+"\n"), 0o600)
}

// quoteEnv quotes a value that a .env reader would otherwise change.
func quoteEnv(v string) string {
	if v == "" || strings.ContainsAny(v, " \t#\"'") {
		return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
	}
	return v
}

// WriteFileAtomic writes data to a temporary file next to path and renames it into place, so
// path is either the old or the new content, never a mix.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Setting is one config.toml key with its value as text.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Settings lists every config.toml key of c, dotted ("terminal.docker.image"), sorted.
func (c Config) Settings() []Setting {
	var out []Setting
	walkFields(reflect.ValueOf(c), "", func(key string, v reflect.Value) {
		out = append(out, Setting{Key: key, Value: formatValue(v)})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Get returns the value of a dotted key as text.
func (c Config) Get(key string) (string, error) {
	for _, s := range c.Settings() {
		if s.Key == key {
			return s.Value, nil
		}
	}
	return "", fmt.Errorf("config: unknown key %q (see: hermes config list)", key)
}

// SetTOML sets a dotted key in the config.toml at path to value (parsed by the key's type),
// validates the result as Load would, and writes it atomically. Keys of other tables are kept;
// comments are not (TOML writers do not keep them).
func SetTOML(path, key, value string) error {
	field, ok := fieldByKey(key)
	if !ok {
		return fmt.Errorf("config: unknown key %q (see: hermes config list)", key)
	}
	parsed, err := parseValue(field, value)
	if err != nil {
		return fmt.Errorf("config: %s: %w", key, err)
	}
	doc := map[string]any{}
	if data, err := os.ReadFile(path); err == nil {
		if _, err := toml.Decode(string(data), &doc); err != nil {
			return fmt.Errorf("%s: %s (fix it by hand first)", path, firstLine(err.Error()))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	table := doc
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := table[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			table[p] = next
		}
		table = next
	}
	table[parts[len(parts)-1]] = parsed
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return fmt.Errorf("config: encode: %w", err)
	}
	// Validate exactly as a later Load will.
	tmp := path + ".check"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := Load(tmp); err != nil {
		return fmt.Errorf("config: %s = %s: %v", key, value, strings.TrimPrefix(err.Error(), tmp+": "))
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o600)
}

var durationType = reflect.TypeOf(abi.Duration(0))

func walkFields(v reflect.Value, prefix string, fn func(string, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct && f.Type() != durationType {
			walkFields(f, key, fn)
			continue
		}
		fn(key, f)
	}
}

func fieldByKey(key string) (reflect.Value, bool) {
	var found reflect.Value
	walkFields(reflect.ValueOf(Default()), "", func(k string, v reflect.Value) {
		if k == key {
			found = v
		}
	})
	return found, found.IsValid()
}

func formatValue(v reflect.Value) string {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = strconv.Quote(fmt.Sprint(v.Index(i).Interface()))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// parseValue turns text into the TOML value for a field of v's type.
func parseValue(v reflect.Value, text string) (any, error) {
	if v.Type() == durationType {
		if _, err := time.ParseDuration(text); err != nil {
			return nil, fmt.Errorf("%q is not a duration like \"30s\"", text)
		}
		return text, nil
	}
	switch v.Kind() {
	case reflect.String:
		return text, nil
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", text)
		}
		return b, nil
	case reflect.Int, reflect.Int64, reflect.Uint32:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", text)
		}
		return n, nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", text)
		}
		return f, nil
	case reflect.Slice:
		// A comma-separated list, or a TOML array.
		text = strings.TrimSpace(text)
		if strings.HasPrefix(text, "[") {
			var doc struct{ V []string }
			if _, err := toml.Decode("V = "+text, &doc); err != nil {
				return nil, fmt.Errorf("%q is not a list of strings", text)
			}
			return doc.V, nil
		}
		var items []string
		for _, s := range strings.Split(text, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("cannot set a %s from the command line", v.Kind())
}
