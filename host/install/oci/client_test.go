package oci

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/hermes-agent/hermes/host/install/oci/ocitest"
)

// resolveOverHTTPS resolves ref over HTTPS whatever its host, as would happen for a registry
// that is not on loopback, and classifies the error.
func resolveOverHTTPS(t *testing.T, ref Reference) *Error {
	t.Helper()
	repo, closeIdle := newRepository(ref, Options{})
	defer closeIdle()
	repo.PlainHTTP = false
	_, err := repo.Resolve(context.Background(), ref.target())
	if err == nil {
		t.Fatal("Resolve over HTTPS succeeded")
	}
	return failer(ref)(nil, "resolving", err, "").classify(ref)
}

func TestHTTPSToPlainHTTPRegistry(t *testing.T) {
	host, _ := ocitest.Start(t)
	ref := Reference{Registry: host, Repository: "acme/weather", Tag: "1"}
	err := resolveOverHTTPS(t, ref)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %q is not ErrUnreachable", err)
	}
	prefix := ref.String() + ": resolving: registry " + host + " does not speak HTTPS: "
	suffix := " (hermes uses plain HTTP only for loopback registries unless asked to)"
	if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) {
		t.Errorf("error:\n got %s\nwant %s…%s", msg, prefix, suffix)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	server := httptest.NewTLSServer(registry.New())
	t.Cleanup(server.Close)
	host := strings.TrimPrefix(server.URL, "https://")
	ref := Reference{Registry: host, Repository: "acme/weather", Tag: "1"}
	err := resolveOverHTTPS(t, ref)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %q is not ErrUnreachable", err)
	}
	prefix := ref.String() + ": resolving: registry " + host + " has a TLS certificate this machine does not trust: "
	suffix := " (check the registry name, or install its CA certificate)"
	if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) {
		t.Errorf("error:\n got %s\nwant %s…%s", msg, prefix, suffix)
	}
}
