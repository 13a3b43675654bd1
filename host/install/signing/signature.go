package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Format is the signature file's "format" value. A file with another value is refused, so a
// later format cannot be misread as this one.
const Format = "hermes-signature-v1"

// domain starts every signed message. It keeps a hermes plugin signature from ever being
// valid as any other message signed with the same key, and names its version so that a later
// message layout cannot collide with this one.
const domain = "hermes-plugin-signature-v1\n"

// MaxSignatureBytes bounds a signature file. A valid one is about 400 bytes.
const MaxSignatureBytes = 8 << 10

// Subject is what a signature vouches for. The digests are lowercase hex SHA-256 of the
// manifest file's bytes and the module's bytes, exactly as they are installed.
type Subject struct {
	Name           string
	Version        string
	ManifestSHA256 string
	WasmSHA256     string
}

// SubjectOf computes the subject of a plugin from its files' contents, however they were
// obtained. name and version are the manifest's.
func SubjectOf(manifestBytes, wasmBytes []byte, name, version string) Subject {
	return Subject{Name: name, Version: version, ManifestSHA256: sha256Hex(manifestBytes), WasmSHA256: sha256Hex(wasmBytes)}
}

// subjectFields lists the fields in their canonical order, with the names the signature file
// and error messages use.
func (s Subject) subjectFields() [4][2]string {
	return [4][2]string{
		{"name", s.Name},
		{"version", s.Version},
		{"manifest_sha256", s.ManifestSHA256},
		{"wasm_sha256", s.WasmSHA256},
	}
}

// validate refuses a subject whose message would be ambiguous or whose digests are not
// digests. A name or version may hold no control character, so no field can forge a line.
func (s Subject) validate() error {
	fields := s.subjectFields()
	for _, f := range fields[:2] {
		if f[1] == "" {
			return fmt.Errorf("%s is empty", f[0])
		}
		if len(f[1]) > 128 {
			return fmt.Errorf("%s is longer than 128 bytes", f[0])
		}
		if !utf8.ValidString(f[1]) {
			return fmt.Errorf("%s %q is not UTF-8", f[0], f[1])
		}
		for _, r := range f[1] {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%s %q contains a control character", f[0], f[1])
			}
		}
	}
	for _, f := range fields[2:] {
		if !isHexSHA256(f[1]) {
			return fmt.Errorf("%s %q is not 64 lowercase hex digits", f[0], clip(f[1]))
		}
	}
	return nil
}

// message is the byte string that is signed: the domain line, then one "field=value" line per
// field in a fixed order. Field names make each line unambiguous and validate keeps values
// free of newlines, so two different subjects never give the same message.
func (s Subject) message() []byte {
	var b strings.Builder
	b.WriteString(domain)
	for _, f := range s.subjectFields() {
		b.WriteString(f[0])
		b.WriteByte('=')
		b.WriteString(f[1])
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Signature is a parsed signature file.
type Signature struct {
	Subject
	// PublicKey is the key that made the signature, as the file says. It is only a claim:
	// Verify trusts it only if it is one of the caller's trusted keys.
	PublicKey ed25519.PublicKey
	Signature []byte
}

// wire is the signature file's JSON, fields in this order.
type wire struct {
	Format         string `json:"format"`
	Name           string `json:"name"`
	Version        string `json:"version"`
	ManifestSHA256 string `json:"manifest_sha256"`
	WasmSHA256     string `json:"wasm_sha256"`
	PublicKey      string `json:"public_key"`
	Signature      string `json:"signature"`
}

// Sign signs subject with priv.
func Sign(priv ed25519.PrivateKey, subject Subject) (Signature, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Signature{}, fmt.Errorf("sign: private key is %d bytes, an ed25519 private key has %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := subject.validate(); err != nil {
		return Signature{}, fmt.Errorf("sign: %w", err)
	}
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok {
		return Signature{}, errors.New("sign: the private key gave no ed25519 public key")
	}
	return Signature{Subject: subject, PublicKey: pub, Signature: ed25519.Sign(priv, subject.message())}, nil
}

// Marshal encodes the signature file: one JSON object on one line, fields in a fixed order,
// ending with a newline.
func (s Signature) Marshal() []byte {
	w := wire{
		Format:         Format,
		Name:           s.Name,
		Version:        s.Version,
		ManifestSHA256: s.ManifestSHA256,
		WasmSHA256:     s.WasmSHA256,
		PublicKey:      FormatPublicKey(s.PublicKey),
		Signature:      base64.StdEncoding.EncodeToString(s.Signature),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// A struct of strings always encodes; the error is impossible, not ignored by accident.
	_ = enc.Encode(w)
	return buf.Bytes()
}

// ParseSignature decodes a signature file strictly: one JSON object with exactly the seven
// fields (matched case-sensitively, none twice, all strings), format "hermes-signature-v1",
// nothing after it, at most MaxSignatureBytes. It does not verify the signature: that is
// Verify's work.
func ParseSignature(data []byte) (Signature, error) {
	if len(data) > MaxSignatureBytes {
		return Signature{}, fmt.Errorf("read signature: %d bytes, more than %d; this is not a hermes signature file", len(data), MaxSignatureBytes)
	}
	fields, err := decodeFlatObject(data)
	if err != nil {
		return Signature{}, fmt.Errorf("read signature: %w", err)
	}
	format, ok := fields["format"]
	if !ok {
		return Signature{}, errors.New(`read signature: no "format"; this is not a hermes signature file`)
	}
	if format != Format {
		return Signature{}, fmt.Errorf("read signature: format %q, this hermes reads %q (upgrade hermes, or ask for a %s signature)", clip(format), Format, Format)
	}
	w := wire{Format: format}
	targets := map[string]*string{
		"name":            &w.Name,
		"version":         &w.Version,
		"manifest_sha256": &w.ManifestSHA256,
		"wasm_sha256":     &w.WasmSHA256,
		"public_key":      &w.PublicKey,
		"signature":       &w.Signature,
	}
	for key, value := range fields {
		if key == "format" {
			continue
		}
		target, known := targets[key]
		if !known {
			return Signature{}, fmt.Errorf("read signature: unknown field %q", clip(key))
		}
		*target = value
	}
	for _, key := range []string{"name", "version", "manifest_sha256", "wasm_sha256", "public_key", "signature"} {
		if _, present := fields[key]; !present {
			return Signature{}, fmt.Errorf("read signature: missing field %q", key)
		}
	}
	subject := Subject{Name: w.Name, Version: w.Version, ManifestSHA256: w.ManifestSHA256, WasmSHA256: w.WasmSHA256}
	if err := subject.validate(); err != nil {
		return Signature{}, fmt.Errorf("read signature: %w", err)
	}
	pub, err := ParsePublicKey(w.PublicKey)
	if err != nil {
		return Signature{}, fmt.Errorf("read signature: public_key: %w", err)
	}
	// ParsePublicKey also takes PEM and surrounding space, for keys a person pastes; a
	// signature file has one spelling, the one Marshal writes.
	if FormatPublicKey(pub) != w.PublicKey {
		return Signature{}, fmt.Errorf("read signature: public_key %q is not in the form %sBASE64", clip(w.PublicKey), PublicKeyPrefix)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(w.Signature)
	if err != nil {
		return Signature{}, fmt.Errorf("read signature: signature: not base64: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return Signature{}, fmt.Errorf("read signature: signature: %d bytes, an ed25519 signature has %d", len(sig), ed25519.SignatureSize)
	}
	return Signature{Subject: subject, PublicKey: pub, Signature: sig}, nil
}

// decodeFlatObject reads one JSON object whose values are all strings, refusing duplicate
// keys and trailing data. encoding/json's Unmarshal would let a later duplicate win and match
// keys case-insensitively, so two readers of one file could disagree on what it says.
func decodeFlatObject(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	fields := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("not JSON: object key is not a string")
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("field %q appears twice", clip(key))
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		value, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("field %q is not a string", clip(key))
		}
		fields[key] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object; a signature file holds one object")
	}
	return fields, nil
}

// TrustedKey is a public key the user trusts to sign plugins, under a name of their choosing.
type TrustedKey struct {
	Name string
	Key  ed25519.PublicKey
}

// Distinct verification failures, for errors.Is.
var (
	// ErrBadSignature: the signature does not verify — the file was altered, or is not a
	// signature by the key it names.
	ErrBadSignature = errors.New("bad signature")
	// ErrSubjectMismatch: the signature is for another plugin, version or content.
	ErrSubjectMismatch = errors.New("signature is for another plugin or content")
	// ErrUntrustedKey: a valid signature by a key the user has not trusted.
	ErrUntrustedKey = errors.New("signed by an untrusted key")
)

// MismatchError is an ErrSubjectMismatch naming the first field that differs.
type MismatchError struct {
	Field  string // "name", "version", "manifest_sha256" or "wasm_sha256"
	Signed string // the value in the signature
	Want   string // the plugin's value
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("verify signature: the signature is for %s %q, but the plugin's is %q (the plugin was changed after it was signed, or the signature belongs to another plugin)", e.Field, e.Signed, e.Want)
}

func (e *MismatchError) Is(target error) bool { return target == ErrSubjectMismatch }

// UntrustedKeyError is an ErrUntrustedKey naming the key, so the caller can show how to trust
// it.
type UntrustedKeyError struct {
	Key ed25519.PublicKey
}

func (e *UntrustedKeyError) Error() string {
	return fmt.Sprintf("verify signature: signed by key %s, which you have not trusted; if you know it is the plugin author's, run: hermes keys trust %s --name NAME (or install without checking with --allow-unsigned)",
		Fingerprint(e.Key), FormatPublicKey(e.Key))
}

func (e *UntrustedKeyError) Is(target error) bool { return target == ErrUntrustedKey }

// Verify checks that sig is a valid signature of want by one of the trusted keys and returns
// that key. The checks run in this order, each with its own error: the signature's subject is
// want's (*MismatchError, ErrSubjectMismatch); the signature verifies under the key it names
// (ErrBadSignature); that key is trusted (*UntrustedKeyError, ErrUntrustedKey). A key is
// trusted by its whole value; trusted keys of the wrong length are skipped.
func Verify(sig Signature, want Subject, trusted []TrustedKey) (signer TrustedKey, err error) {
	if err := want.validate(); err != nil {
		return TrustedKey{}, fmt.Errorf("verify signature: the plugin's subject: %w", err)
	}
	wantFields, signedFields := want.subjectFields(), sig.Subject.subjectFields()
	for i := range wantFields {
		if signedFields[i][1] != wantFields[i][1] {
			return TrustedKey{}, &MismatchError{Field: wantFields[i][0], Signed: clip(signedFields[i][1]), Want: wantFields[i][1]}
		}
	}
	// ed25519.Verify panics on a key of the wrong length; a Signature built by hand may have one.
	if len(sig.PublicKey) != ed25519.PublicKeySize || len(sig.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(sig.PublicKey, want.message(), sig.Signature) {
		return TrustedKey{}, fmt.Errorf("verify signature: %w: it does not verify under the key it names (the signature file was altered or is corrupt; get it again from the plugin's author)", ErrBadSignature)
	}
	for _, t := range trusted {
		if len(t.Key) == ed25519.PublicKeySize && bytes.Equal(t.Key, sig.PublicKey) {
			return t, nil
		}
	}
	return TrustedKey{}, &UntrustedKeyError{Key: bytes.Clone(sig.PublicKey)}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
