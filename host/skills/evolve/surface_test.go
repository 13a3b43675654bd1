package evolve

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNotOnServerSurfaces: only the command line may start, accept or reject an evolution. The
// API server, the MCP server and the gateway must not depend on this package at all.
func TestNotOnServerSurfaces(t *testing.T) {
	const self = "github.com/hermes-agent/hermes/host/skills/evolve"
	out, err := exec.Command("go", "list", "-deps", "-e", "-f", "{{.ImportPath}}",
		"github.com/hermes-agent/hermes/host/apiserver/...",
		"github.com/hermes-agent/hermes/host/mcpserver/...",
		"github.com/hermes-agent/hermes/host/gateway/...").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "matched no packages") {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list found too little to check:\n%s", out)
	}
	for _, d := range deps {
		if d == self || strings.HasPrefix(d, self+"/") {
			t.Fatalf("a server surface depends on %s", d)
		}
	}
}
