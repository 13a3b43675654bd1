package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fixedKey is a key from a fixed seed, for outputs that must not change.
func fixedKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func mustGenerate(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	priv := mustGenerate(t)
	data, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Fatalf("not a PEM PRIVATE KEY block:\n%s", data)
	}
	got, err := ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(got) {
		t.Fatal("parsed key differs from the marshalled one")
	}
}

func TestParsePrivateKeyRefusals(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	good, err := MarshalPrivateKey(mustGenerate(t))
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(fixedKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not PEM", []byte("ed25519:abc"), "read private key: no PEM block found (a key file starts with -----BEGIN)"},
		{"public key", pemOf(t, "PUBLIC KEY", pubDER), `read private key: PEM block is "PUBLIC KEY", want "PRIVATE KEY" (make one with hermes keys generate)`},
		{"RSA PKCS#1 type", pemOf(t, "RSA PRIVATE KEY", []byte{1}), `read private key: PEM block is "RSA PRIVATE KEY", want "PRIVATE KEY" (make one with hermes keys generate)`},
		{"encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1}), "read private key: the key is encrypted, which hermes does not support; decrypt it with: openssl pkey -in KEY -out PLAIN_KEY"},
		{"openssh", pemOf(t, "OPENSSH PRIVATE KEY", []byte{1}), `read private key: an OpenSSH key; hermes reads PKCS#8 ("PRIVATE KEY"): make one with hermes keys generate`},
		{"ecdsa", pemOf(t, "PRIVATE KEY", ecDER), "read private key: the key is ECDSA, not ed25519 (make one with hermes keys generate)"},
		{"garbage DER", pemOf(t, "PRIVATE KEY", []byte("nonsense")), "read private key: not a PKCS#8 key: "},
		{"two keys", append(bytes.Clone(good), good...), "read private key: data after the PEM block; a key file holds one key"},
		{"PEM headers", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}),
			"read private key: PEM block has headers, as encrypted keys do; hermes reads plain PKCS#8 keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tt.data)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestMarshalPrivateKeyRefusesShortKey(t *testing.T) {
	_, err := MarshalPrivateKey(ed25519.PrivateKey{1, 2, 3})
	if want := "encode private key: 3 bytes, an ed25519 private key has 64"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func TestReadPrivateKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not describe access on Windows")
	}
	priv := mustGenerate(t)
	data, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// Chmod, as WriteFile's mode passes through the umask.
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}

	for _, mode := range []os.FileMode{0o600, 0o400} {
		got, err := ReadPrivateKeyFile(write("ok", mode))
		if err != nil {
			t.Fatalf("mode %04o: %v", mode, err)
		}
		if !priv.Equal(got) {
			t.Fatal("read a different key")
		}
		os.Remove(filepath.Join(dir, "ok"))
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o620, 0o601} {
		path := write("loose", mode)
		_, err := ReadPrivateKeyFile(path)
		want := "read private key: " + path + " has mode " + octal(mode) + ", so others on this machine can use it; run: chmod 600 " + path
		if err == nil || err.Error() != want {
			t.Fatalf("mode %04o: error %v, want %s", mode, err, want)
		}
		os.Remove(path)
	}
	if _, err := ReadPrivateKeyFile(dir); err == nil || err.Error() != "read private key: "+dir+" is not a regular file" {
		t.Fatalf("directory: error %v", err)
	}
	if _, err := ReadPrivateKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: error %v, want one matching fs.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := ReadPrivateKeyFile(bad); err == nil || err.Error() != bad+": read private key: no PEM block found (a key file starts with -----BEGIN)" {
		t.Fatalf("bad file: error %v", err)
	}
}

func octal(mode os.FileMode) string {
	const digits = "01234567"
	p := mode.Perm()
	return string([]byte{'0', digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

func TestPublicKeyText(t *testing.T) {
	pub := fixedKey().Public().(ed25519.PublicKey)
	text := FormatPublicKey(pub)
	const want = "ed25519:6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw="
	if text != want {
		t.Fatalf("FormatPublicKey = %s, want %s", text, want)
	}
	for _, in := range []string{text, "  " + text + "\n"} {
		got, err := ParsePublicKey(in)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(got) {
			t.Fatalf("ParsePublicKey(%q) gave another key", in)
		}
	}

	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKey(string(pemOf(t, "PUBLIC KEY", der)))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(got) {
		t.Fatal("PEM public key parsed to another key")
	}
}

func TestParsePublicKeyRefusals(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := MarshalPrivateKey(fixedKey())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, in, want string }{
		{"no prefix", "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=", `read public key "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=": want ed25519:BASE64 or a PEM "PUBLIC KEY" block`},
		{"ssh form", "ssh-ed25519 AAAA", `read public key "ssh-ed25519 AAAA": want ed25519:BASE64 or a PEM "PUBLIC KEY" block`},
		{"url base64", "ed25519:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw=", `read public key "ed25519:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw=": not base64: illegal base64 data at input byte 5`},
		{"short", "ed25519:AAAA", `read public key "ed25519:AAAA": 3 bytes, an ed25519 public key has 32`},
		{"empty", "", `read public key "": want ed25519:BASE64 or a PEM "PUBLIC KEY" block`},
		{"private PEM", string(privPEM), `read public key: PEM block is "PRIVATE KEY", want "PUBLIC KEY"`},
		{"ecdsa PEM", string(pemOf(t, "PUBLIC KEY", ecDER)), `read public key: the key is ECDSA, not ed25519`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePublicKey(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	pub := fixedKey().Public().(ed25519.PublicKey)
	const want = "SHA256:_oEsEvOrTOasXbaaw1L5Bg" // as openssl and sha256sum compute it
	if got := Fingerprint(pub); got != want {
		t.Fatalf("Fingerprint = %s, want %s", got, want)
	}
	other := mustGenerate(t).Public().(ed25519.PublicKey)
	if Fingerprint(other) == Fingerprint(pub) {
		t.Fatal("two keys share a fingerprint")
	}
	if n := len(Fingerprint(other)); n != len("SHA256:")+22 {
		t.Fatalf("fingerprint length %d", n)
	}
}
