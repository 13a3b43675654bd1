// Package signing signs and verifies hermes plugins with ed25519.
//
// A signature covers a Subject — the plugin's name and version and the SHA-256 of its
// plugin.toml and of its module — not an archive's bytes, so one signature vouches for the
// plugin however it travels: a directory, a tarball or an OCI registry.
package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// PEM block types. PKCS#8 and PKIX because every tool reads them: `openssl pkey` can inspect
// a hermes key, and an ed25519 key made by openssl works with hermes.
const (
	privateKeyPEMType = "PRIVATE KEY"
	publicKeyPEMType  = "PUBLIC KEY"
)

// PublicKeyPrefix starts a public key's one-line text form.
const PublicKeyPrefix = "ed25519:"

// maxKeyFileBytes bounds a key file read from disk; a PEM ed25519 key is about 120 bytes.
const maxKeyFileBytes = 64 << 10

// GenerateKey makes a new signing key from the operating system's random source.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return priv, nil
}

// MarshalPrivateKey encodes priv as a PEM "PRIVATE KEY" block (PKCS#8). Write it with mode
// 0600: ReadPrivateKeyFile refuses a key others can read.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("encode private key: %d bytes, an ed25519 private key has %d", len(priv), ed25519.PrivateKeySize)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: privateKeyPEMType, Bytes: der}), nil
}

// ParsePrivateKey decodes a PEM "PRIVATE KEY" block holding an ed25519 key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, err := onePEMBlock(data)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	switch block.Type {
	case privateKeyPEMType:
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("read private key: the key is encrypted, which hermes does not support; decrypt it with: openssl pkey -in KEY -out PLAIN_KEY")
	case "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("read private key: an OpenSSH key; hermes reads PKCS#8 (\"PRIVATE KEY\"): make one with hermes keys generate")
	default:
		return nil, fmt.Errorf("read private key: PEM block is %q, want %q (make one with hermes keys generate)", block.Type, privateKeyPEMType)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read private key: not a PKCS#8 key: %w", err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read private key: the key is %s, not ed25519 (make one with hermes keys generate)", keyKind(key))
	}
	return priv, nil
}

// ReadPrivateKeyFile reads a private key file, refusing one that its group or others may
// access: a signing key is as good as the author's name, so it is kept as ssh keeps its own.
// (On Windows, where file modes do not describe access, the mode is not checked.)
func ReadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read private key: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("read private key: %s has mode %04o, so others on this machine can use it; run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("read private key: %s is larger than %d bytes, too large for a key file", path, maxKeyFileBytes)
	}
	priv, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return priv, nil
}

// FormatPublicKey returns the one-line form of pub: "ed25519:" and the standard base64 of its
// 32 bytes. A key of another length gives text ParsePublicKey refuses.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key in its one-line form ("ed25519:BASE64") or as a PEM
// "PUBLIC KEY" block (PKIX, as `openssl pkey -pubout` writes). Surrounding white space is
// ignored.
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "-----BEGIN") {
		return parsePublicKeyPEM([]byte(text))
	}
	encoded, ok := strings.CutPrefix(text, PublicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("read public key %q: want %sBASE64 or a PEM %q block", clip(text), PublicKeyPrefix, publicKeyPEMType)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("read public key %q: not base64: %w", clip(text), err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("read public key %q: %d bytes, an ed25519 public key has %d", clip(text), len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

func parsePublicKeyPEM(data []byte) (ed25519.PublicKey, error) {
	block, err := onePEMBlock(data)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	if block.Type != publicKeyPEMType {
		return nil, fmt.Errorf("read public key: PEM block is %q, want %q", block.Type, publicKeyPEMType)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read public key: not a PKIX public key: %w", err)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("read public key: the key is %s, not ed25519", keyKind(key))
	}
	return pub, nil
}

// Fingerprint names a public key briefly and stably: "SHA256:" and the unpadded URL-safe
// base64 of the first 16 bytes of the SHA-256 of its 32 bytes. 128 bits is ample to tell keys
// apart; keys are still trusted by their whole value, never by fingerprint.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// onePEMBlock decodes data as exactly one PEM block, so that a file with two keys is not
// silently read as its first.
func onePEMBlock(data []byte) (*pem.Block, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block found (a key file starts with -----BEGIN)")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("data after the PEM block; a key file holds one key")
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("PEM block has headers, as encrypted keys do; hermes reads plain PKCS#8 keys")
	}
	return block, nil
}

// keyKind names a parsed key's algorithm for an error message.
func keyKind(key any) string {
	name := fmt.Sprintf("%T", key)
	name = strings.TrimPrefix(name, "*")
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	return strings.ToUpper(name)
}

// clip shortens text quoted in an error, so a pasted file does not flood the terminal.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
