package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const dashboardToken = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"

// A non-loopback --host needs TLS and a password or token; a token too short to be random is
// refused by its length, never shown.
func TestDashboardPublicAddressNeedsTLSAndASecret(t *testing.T) {
	c := newCLI(t)
	tlsFlags := []string{"--tls-cert", "cert.pem", "--tls-key", "key.pem"}
	c.wantExit(t, ExitUsage, "refusing to serve the dashboard on 192.0.2.10: it would be reachable from other machines; listen on 127.0.0.1, or give --tls-cert, --tls-key and set DASHBOARD_PASSWORD or DASHBOARD_TOKEN",
		"dashboard", "--host", "192.0.2.10", "--port", "0")
	c.wantExit(t, ExitUsage, "set DASHBOARD_PASSWORD or DASHBOARD_TOKEN", append([]string{"dashboard", "--host", "192.0.2.10", "--port", "0"}, tlsFlags...)...)
	c.mustRun(t, "config", "set", "DASHBOARD_TOKEN", "hunter2-hunter2")
	if errOut := c.wantExit(t, ExitUsage, "DASHBOARD_TOKEN has 15 characters: use at least 32", "dashboard", "--port", "0"); strings.Contains(errOut, "hunter2") {
		t.Errorf("the refusal shows the token: %s", errOut)
	}
}

// With TLS and DASHBOARD_TOKEN, the dashboard serves a non-loopback address of this machine,
// and typing the token on the login page logs in.
func TestDashboardPublicAddressWithTLSAndToken(t *testing.T) {
	ip := nonLoopbackIPv4(t)
	c := newCLI(t)
	cert, key, pool := selfSigned(t, ip)
	c.mustRun(t, "config", "set", "DASHBOARD_TOKEN", dashboardToken)
	cmd := c.cmd("", "dashboard", "--host", ip.String(), "--port", "0", "--tls-cert", cert, "--tls-key", key)
	errPath := filepath.Join(t.TempDir(), "stderr")
	errFile, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd.Stderr = errFile // a file, read once the process is gone
	stderr := func() string { b, _ := os.ReadFile(errPath); return string(b) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	defer stop()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("no login URL: %v\nstderr: %s", err, stderr())
	}
	login, err := url.Parse(strings.TrimSpace(line))
	if err != nil || login.Scheme != "https" || login.Hostname() != ip.String() {
		t.Fatalf("login URL %q", line)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + login.Host
	resp, err := client.PostForm(base+"/login", url.Values{"password": {"not-the-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", resp.StatusCode)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"password": {dashboardToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Errorf("after typing the token: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	stop()
	if strings.Contains(stderr(), dashboardToken) {
		t.Errorf("the token is on stderr: %s", stderr())
	}
}

// nonLoopbackIPv4 is an IPv4 address of this machine other than loopback. A machine without
// one skips the test, but not under CI=true, where Docker runs and its bridge (docker0) is one:
// there the test must run.
func nonLoopbackIPv4(t *testing.T) net.IP {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		skip("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.To4()
		}
	}
	skip("this machine has no non-loopback IPv4 address (not even Docker's bridge, docker0)")
	return nil
}

// selfSigned writes a certificate for ip and its key, and returns their paths and a pool
// trusting it.
func selfSigned(t *testing.T, ip net.IP) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hermes dashboard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{ip},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return certPath, keyPath, pool
}
