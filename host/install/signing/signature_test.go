package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/install/archive"
)

const echoManifest = `name = "echo"
version = "1.0.0"
abi = 1
description = "Echoes its input"
wasm = "echo.wasm"
`

var echoWasm = []byte("\x00asm\x01\x00\x00\x00 a module's bytes")

func echoSubject() Subject {
	return SubjectOf([]byte(echoManifest), echoWasm, "echo", "1.0.0")
}

func mustSign(t *testing.T, priv ed25519.PrivateKey, s Subject) Signature {
	t.Helper()
	sig, err := Sign(priv, s)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSignVerifyRoundTrip(t *testing.T) {
	author := mustGenerate(t)
	stranger := mustGenerate(t)
	sig := mustSign(t, author, echoSubject())

	file := sig.Marshal()
	if !bytes.HasPrefix(file, []byte(`{"format":"hermes-signature-v1","name":"echo","version":"1.0.0","manifest_sha256":"`)) ||
		bytes.Count(file, []byte("\n")) != 1 || !bytes.HasSuffix(file, []byte("}\n")) {
		t.Fatalf("signature file is not one JSON line in field order:\n%s", file)
	}
	parsed, err := ParseSignature(file)
	if err != nil {
		t.Fatal(err)
	}
	trusted := []TrustedKey{
		{Name: "stranger", Key: stranger.Public().(ed25519.PublicKey)},
		{Name: "the author", Key: author.Public().(ed25519.PublicKey)},
	}
	signer, err := Verify(parsed, echoSubject(), trusted)
	if err != nil {
		t.Fatal(err)
	}
	if signer.Name != "the author" {
		t.Fatalf("signer %q, want the author", signer.Name)
	}
}

// TestSignatureGolden pins the signed message and the signature file for a fixed key: both
// are formats other hermes versions and other tools must reproduce. ed25519 is deterministic,
// so the signature is too; `openssl pkeyutl -sign -rawin` over the same message and seed gives
// the same bytes.
func TestSignatureGolden(t *testing.T) {
	s := Subject{Name: "echo", Version: "1.0.0", ManifestSHA256: strings.Repeat("a", 64), WasmSHA256: strings.Repeat("b", 64)}
	wantMessage := "hermes-plugin-signature-v1\n" +
		"name=echo\n" +
		"version=1.0.0\n" +
		"manifest_sha256=" + strings.Repeat("a", 64) + "\n" +
		"wasm_sha256=" + strings.Repeat("b", 64) + "\n"
	if got := string(s.message()); got != wantMessage {
		t.Fatalf("message\n got %q\nwant %q", got, wantMessage)
	}
	sig := mustSign(t, fixedKey(), s)
	const wantFile = `{"format":"hermes-signature-v1","name":"echo","version":"1.0.0","manifest_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","wasm_sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","public_key":"ed25519:6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=","signature":"CFQvMwLKHmbJX9a6/s/kR7d4jI9qn60AxLBkXL0d/5fvCl63rXAtHBbKAYnY9QiZz3wynS065hGxekSIQVsTBg=="}` + "\n"
	if got := string(sig.Marshal()); got != wantFile {
		t.Fatalf("signature file\n got %s\nwant %s", got, wantFile)
	}
}

// TestSubjectIsTheSameFromAnySource shows one signature serves a directory and a tarball: the
// subject is computed from the files' bytes, not from how they arrived.
func TestSubjectIsTheSameFromAnySource(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(echoManifest), 0o600)
	os.WriteFile(filepath.Join(dir, "echo.wasm"), echoWasm, 0o600)
	manifestBytes, _ := os.ReadFile(filepath.Join(dir, "plugin.toml"))
	wasmBytes, _ := os.ReadFile(filepath.Join(dir, "echo.wasm"))
	fromDir := SubjectOf(manifestBytes, wasmBytes, "echo", "1.0.0")

	_, packed, err := archive.Pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := archive.Extract(packed, archive.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	fromArchive := SubjectOf(files.ManifestBytes(), files.Wasm(), files.Manifest.Name, files.Manifest.Version)
	if fromDir != fromArchive {
		t.Fatalf("subjects differ:\n dir     %+v\n archive %+v", fromDir, fromArchive)
	}
	author := mustGenerate(t)
	sig := mustSign(t, author, fromDir)
	if _, err := Verify(sig, fromArchive, []TrustedKey{{Name: "author", Key: author.Public().(ed25519.PublicKey)}}); err != nil {
		t.Fatal(err)
	}
}

func TestVerifySubjectMismatch(t *testing.T) {
	author := mustGenerate(t)
	trusted := []TrustedKey{{Name: "author", Key: author.Public().(ed25519.PublicKey)}}
	sig := mustSign(t, author, echoSubject())
	manifestDigest, wasmDigest := echoSubject().ManifestSHA256, echoSubject().WasmSHA256

	evilManifest := SubjectOf([]byte(echoManifest+"[capabilities]\nexec = true\n"), echoWasm, "echo", "1.0.0")
	evilWasm := SubjectOf([]byte(echoManifest), append(bytes.Clone(echoWasm), 0), "echo", "1.0.0")
	tests := []struct {
		name  string
		want  Subject
		field string
		text  string
	}{
		{"name", Subject{"echo2", "1.0.0", manifestDigest, wasmDigest}, "name",
			`verify signature: the signature is for name "echo", but the plugin's is "echo2" (the plugin was changed after it was signed, or the signature belongs to another plugin)`},
		{"version", Subject{"echo", "1.0.1", manifestDigest, wasmDigest}, "version",
			`verify signature: the signature is for version "1.0.0", but the plugin's is "1.0.1" (the plugin was changed after it was signed, or the signature belongs to another plugin)`},
		{"manifest", evilManifest, "manifest_sha256",
			`verify signature: the signature is for manifest_sha256 "` + manifestDigest + `", but the plugin's is "` + evilManifest.ManifestSHA256 + `" (the plugin was changed after it was signed, or the signature belongs to another plugin)`},
		{"wasm", evilWasm, "wasm_sha256",
			`verify signature: the signature is for wasm_sha256 "` + wasmDigest + `", but the plugin's is "` + evilWasm.WasmSHA256 + `" (the plugin was changed after it was signed, or the signature belongs to another plugin)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(sig, tt.want, trusted)
			var mismatch *MismatchError
			if !errors.Is(err, ErrSubjectMismatch) || !errors.As(err, &mismatch) || mismatch.Field != tt.field {
				t.Fatalf("error %v, want a mismatch of %s", err, tt.field)
			}
			if errors.Is(err, ErrBadSignature) || errors.Is(err, ErrUntrustedKey) {
				t.Fatalf("error %v matches another kind too", err)
			}
			if err.Error() != tt.text {
				t.Fatalf("error\n got %s\nwant %s", err, tt.text)
			}
		})
	}
}

func TestVerifyBadSignature(t *testing.T) {
	author := mustGenerate(t)
	authorPub := author.Public().(ed25519.PublicKey)
	trusted := []TrustedKey{{Name: "author", Key: authorPub}}
	sig := mustSign(t, author, echoSubject())
	evil := SubjectOf([]byte(echoManifest), []byte("\x00asm evil"), "echo", "1.0.0")

	tests := []struct {
		name string
		sig  func() Signature
		want Subject
	}{
		{"signature file edited to match altered content", func() Signature {
			edited := sig
			edited.WasmSHA256 = evil.WasmSHA256
			return edited
		}, evil},
		{"signature bit flipped", func() Signature {
			edited := sig
			edited.Signature = bytes.Clone(sig.Signature)
			edited.Signature[10] ^= 1
			return edited
		}, echoSubject()},
		{"claims a trusted key it was not made with", func() Signature {
			forged := mustSign(t, mustGenerate(t), echoSubject())
			forged.PublicKey = authorPub
			return forged
		}, echoSubject()},
		{"hand-made with a short key", func() Signature {
			edited := sig
			edited.PublicKey = authorPub[:31]
			return edited
		}, echoSubject()},
		{"hand-made with a short signature", func() Signature {
			edited := sig
			edited.Signature = sig.Signature[:63]
			return edited
		}, echoSubject()},
	}
	const want = "verify signature: bad signature: it does not verify under the key it names (the signature file was altered or is corrupt; get it again from the plugin's author)"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.sig(), tt.want, trusted)
			if !errors.Is(err, ErrBadSignature) || err.Error() != want {
				t.Fatalf("error %v, want %s", err, want)
			}
		})
	}
}

func TestVerifyUntrustedKey(t *testing.T) {
	stranger := mustGenerate(t)
	strangerPub := stranger.Public().(ed25519.PublicKey)
	sig := mustSign(t, stranger, echoSubject())
	trusted := []TrustedKey{
		{Name: "someone", Key: mustGenerate(t).Public().(ed25519.PublicKey)},
		{Name: "broken entry", Key: strangerPub[:16]}, // a prefix of the signer's key is not the key
	}
	for _, list := range [][]TrustedKey{trusted, nil} {
		_, err := Verify(sig, echoSubject(), list)
		var untrusted *UntrustedKeyError
		if !errors.Is(err, ErrUntrustedKey) || !errors.As(err, &untrusted) || !strangerPub.Equal(untrusted.Key) {
			t.Fatalf("error %v, want ErrUntrustedKey", err)
		}
		want := "verify signature: signed by key " + Fingerprint(strangerPub) + ", which you have not trusted; if you know it is the plugin author's, run: hermes keys trust " +
			FormatPublicKey(strangerPub) + " --name NAME (or install without checking with --allow-unsigned)"
		if err.Error() != want {
			t.Fatalf("error\n got %s\nwant %s", err, want)
		}
	}
}

func TestVerifyRefusesInvalidWant(t *testing.T) {
	author := mustGenerate(t)
	sig := mustSign(t, author, echoSubject())
	_, err := Verify(sig, Subject{Name: "echo", Version: "1.0.0"}, []TrustedKey{{Name: "a", Key: author.Public().(ed25519.PublicKey)}})
	if want := `verify signature: the plugin's subject: manifest_sha256 "" is not 64 lowercase hex digits`; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func TestSignRefusals(t *testing.T) {
	priv := mustGenerate(t)
	good := echoSubject()
	tests := []struct {
		name string
		priv ed25519.PrivateKey
		s    Subject
		want string
	}{
		{"short key", priv[:32], good, "sign: private key is 32 bytes, an ed25519 private key has 64"},
		{"empty name", priv, Subject{"", good.Version, good.ManifestSHA256, good.WasmSHA256}, "sign: name is empty"},
		{"newline in version", priv, Subject{good.Name, "1.0.0\nname=evil", good.ManifestSHA256, good.WasmSHA256}, `sign: version "1.0.0\nname=evil" contains a control character`},
		{"uppercase digest", priv, Subject{good.Name, good.Version, strings.ToUpper(good.ManifestSHA256), good.WasmSHA256}, `sign: manifest_sha256 "` + strings.ToUpper(good.ManifestSHA256) + `" is not 64 lowercase hex digits`},
		{"short digest", priv, Subject{good.Name, good.Version, good.ManifestSHA256, "abc"}, `sign: wasm_sha256 "abc" is not 64 lowercase hex digits`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.priv, tt.s)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
}

func TestParseSignatureRefusals(t *testing.T) {
	sig := mustSign(t, fixedKey(), echoSubject())
	good := string(sig.Marshal())
	// replace edits the good file's JSON text.
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in %s", old, good)
		}
		return strings.Replace(good, old, new, 1)
	}
	sigB64 := base64.StdEncoding.EncodeToString(sig.Signature)
	tests := []struct{ name, in, want string }{
		{"extra field", replace(`{"format"`, `{"trusted":"yes","format"`), `read signature: unknown field "trusted"`},
		{"wrong format", replace(`"hermes-signature-v1"`, `"hermes-signature-v2"`), `read signature: format "hermes-signature-v2", this hermes reads "hermes-signature-v1" (upgrade hermes, or ask for a hermes-signature-v1 signature)`},
		{"no format", replace(`"format":"hermes-signature-v1",`, ``), `read signature: no "format"; this is not a hermes signature file`},
		{"missing field", replace(`"version":"1.0.0",`, ``), `read signature: missing field "version"`},
		{"duplicate field", replace(`"version":"1.0.0",`, `"version":"1.0.0","version":"9.9.9",`), `read signature: field "version" appears twice`},
		{"field in another case", replace(`"version":"1.0.0",`, `"version":"1.0.0","Version":"9.9.9",`), `read signature: unknown field "Version"`},
		{"number", replace(`"version":"1.0.0"`, `"version":1`), `read signature: field "version" is not a string`},
		{"nested object", replace(`"version":"1.0.0"`, `"version":{"v":"1"}`), `read signature: field "version" is not a string`},
		{"trailing data", good + `{}`, `read signature: data after the JSON object; a signature file holds one object`},
		{"two objects", good + good, `read signature: data after the JSON object; a signature file holds one object`},
		{"array", `["hermes-signature-v1"]`, `read signature: not a JSON object`},
		{"not JSON", `hermes-signature-v1`, `read signature: not JSON: invalid character 'h' looking for beginning of value`},
		{"empty", ``, `read signature: not JSON: EOF`},
		{"unterminated", good[:40], `read signature: not JSON: unexpected EOF`},
		{"too large", good + strings.Repeat(" ", MaxSignatureBytes), `read signature: ` + strconv.Itoa(len(good)+MaxSignatureBytes) + ` bytes, more than 8192; this is not a hermes signature file`},
		{"bad digest", replace(`"wasm_sha256":"`, `"wasm_sha256":"X`), `read signature: wasm_sha256 "X` + echoSubject().WasmSHA256 + `" is not 64 lowercase hex digits`},
		{"bad public key", replace(`"public_key":"ed25519:`, `"public_key":"rsa:`), `read signature: public_key: read public key "rsa:6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=": want ed25519:BASE64 or a PEM "PUBLIC KEY" block`},
		{"public key with spaces", replace(`"public_key":"ed25519:`, `"public_key":" ed25519:`), `read signature: public_key " ed25519:6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=" is not in the form ed25519:BASE64`},
		{"signature not base64", replace(sigB64, "!!"+sigB64[2:]), `read signature: signature: not base64: illegal base64 data at input byte 0`},
		{"short signature", replace(sigB64, base64.StdEncoding.EncodeToString(sig.Signature[:63])), `read signature: signature: 63 bytes, an ed25519 signature has 64`},
		{"newline in name", replace(`"name":"echo"`, `"name":"echo\nversion=6.6.6"`), `read signature: name "echo\nversion=6.6.6" contains a control character`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSignature([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error\n got %v\nwant %s", err, tt.want)
			}
		})
	}
	if _, err := ParseSignature([]byte(good)); err != nil {
		t.Fatalf("the unedited file: %v", err)
	}
}
