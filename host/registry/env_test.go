package registry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hermes-agent/hermes/host/config"
)

// A key set both in hermes' environment and in ~/.hermes/.env is read from the environment (as
// abi/README.md says); a key only in .env comes from there; one in neither is unset.
func TestEnvLookupPrefersTheEnvironment(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(envFile, []byte("HERMES_TEST_BOTH=from-dotenv\nHERMES_TEST_DOTENV=only-dotenv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HERMES_TEST_BOTH", "from-environment")
	r := &Registry{paths: config.Paths{Env: envFile}}
	for key, want := range map[string]string{"HERMES_TEST_BOTH": "from-environment", "HERMES_TEST_DOTENV": "only-dotenv"} {
		if v, ok, err := r.envLookup(key); err != nil || !ok || v != want {
			t.Errorf("%s = %q, %v, %v; want %q", key, v, ok, err, want)
		}
	}
	if v, ok, err := r.envLookup("HERMES_TEST_NEITHER"); err != nil || ok {
		t.Errorf("HERMES_TEST_NEITHER = %q, %v, %v; want unset", v, ok, err)
	}
}
