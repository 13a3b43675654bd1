package ocitest_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/hermes-agent/hermes/host/install/oci/ocitest"
)

func get(t *testing.T, url, username, password string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if username != "" {
		req.SetBasicAuth(username, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestStartServesTheRegistryAPIOnLoopback(t *testing.T) {
	host, _ := ocitest.Start(t)
	ip, _, err := net.SplitHostPort(host)
	if err != nil || ip != "127.0.0.1" {
		t.Fatalf("Start returned %q, want 127.0.0.1:PORT", host)
	}
	if resp := get(t, "http://"+host+"/v2/", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/: %s, want 200", resp.Status)
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	first, _ := ocitest.Start(t)
	second, _ := ocitest.Start(t)
	if first == second {
		t.Fatalf("two registries share %s", first)
	}
}

func TestStopMakesItUnreachable(t *testing.T) {
	host, stop := ocitest.Start(t)
	stop()
	stop() // twice is harmless, and Cleanup will call it a third time
	_, err := http.Get("http://" + host + "/v2/")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET after stop: %v, want connection refused", err)
	}
}

func TestServeWithoutTestingTB(t *testing.T) {
	host, stop, err := ocitest.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if resp := get(t, "http://"+host+"/v2/", "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/: %s, want 200", resp.Status)
	}
}

func TestWithBasicAuth(t *testing.T) {
	host, _ := ocitest.Start(t, ocitest.WithBasicAuth("alice", "pw"))
	for _, tt := range []struct {
		name, username, password string
		want                     int
	}{
		{"none", "", "", http.StatusUnauthorized},
		{"wrong password", "alice", "nope", http.StatusUnauthorized},
		{"wrong user", "bob", "pw", http.StatusUnauthorized},
		{"right", "alice", "pw", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, "http://"+host+"/v2/", tt.username, tt.password)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %s, want %d", resp.Status, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Basic realm="ocitest"` {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestWithHandlerWrapsInOrderAndRequestLog(t *testing.T) {
	var order []string
	mark := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	var logged []string
	host, stop := ocitest.Start(t, ocitest.WithHandler(mark("outer")), ocitest.WithHandler(mark("inner")),
		ocitest.WithRequestLog(func(format string, args ...any) { logged = append(logged, format) }))
	get(t, "http://"+host+"/v2/", "", "")
	stop() // waits for the request, so order and logged are complete and not shared any more
	if strings.Join(order, ",") != "outer,inner" {
		t.Errorf("wrappers ran in order %v, want outer then inner", order)
	}
	if len(logged) == 0 {
		t.Errorf("WithRequestLog received nothing")
	}
}

func TestCorruptContentLeavesOtherResponsesAlone(t *testing.T) {
	host, _ := ocitest.Start(t, ocitest.WithHandler(ocitest.CorruptContent("sha256:0000000000000000000000000000000000000000000000000000000000000000")))
	resp := get(t, "http://"+host+"/v2/", "", "")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("GET /v2/ through CorruptContent: %s %q", resp.Status, body)
	}
}
