package oci

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseReference(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Reference
		// str is what String gives back when it is not the input itself.
		str string
	}{
		{name: "host port and tag", in: "oci://127.0.0.1:5000/acme/weather:1.2.0", want: Reference{Registry: "127.0.0.1:5000", Repository: "acme/weather", Tag: "1.2.0"}},
		{name: "digest", in: "oci://127.0.0.1:5000/acme/weather@" + testDigest, want: Reference{Registry: "127.0.0.1:5000", Repository: "acme/weather", Digest: testDigest}},
		{name: "tag and digest", in: "oci://ghcr.io/acme/weather:1.2.0@" + testDigest, want: Reference{Registry: "ghcr.io", Repository: "acme/weather", Tag: "1.2.0", Digest: testDigest}},
		{name: "single component repository", in: "oci://localhost/weather:latest", want: Reference{Registry: "localhost", Repository: "weather", Tag: "latest"}},
		{name: "deep repository with separators", in: "oci://registry.example.com/a.b/c__d/e--f/g_h:v1_2-3.4", want: Reference{Registry: "registry.example.com", Repository: "a.b/c__d/e--f/g_h", Tag: "v1_2-3.4"}},
		{name: "ipv6 with port", in: "oci://[::1]:5000/acme/weather:1", want: Reference{Registry: "[::1]:5000", Repository: "acme/weather", Tag: "1"}},
		{name: "ipv6 without port", in: "oci://[2001:db8::1]/acme/weather:1", want: Reference{Registry: "[2001:db8::1]", Repository: "acme/weather", Tag: "1"}},
		{name: "upper-case scheme is normalised", in: "OCI://ghcr.io/acme/weather:1", want: Reference{Registry: "ghcr.io", Repository: "acme/weather", Tag: "1"}, str: "oci://ghcr.io/acme/weather:1"},
		{name: "128-character tag", in: "oci://ghcr.io/a:" + strings.Repeat("t", 128), want: Reference{Registry: "ghcr.io", Repository: "a", Tag: strings.Repeat("t", 128)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReference(tt.in)
			if err != nil {
				t.Fatalf("ParseReference(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseReference(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			wantStr := tt.in
			if tt.str != "" {
				wantStr = tt.str
			}
			if got.String() != wantStr {
				t.Errorf("String() = %q, want %q", got.String(), wantStr)
			}
			again, err := ParseReference(got.String())
			if err != nil || again != got {
				t.Errorf("ParseReference(String()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func TestParseReferenceErrors(t *testing.T) {
	const want = " (want oci://HOST/REPOSITORY:TAG or oci://HOST/REPOSITORY@sha256:DIGEST)"
	const hostNote = " (want a host name or IP address, optionally with :PORT; IPv6 in brackets)"
	tests := []struct {
		name string
		in   string
		err  string
	}{
		{"empty", "", "empty reference" + want},
		{"no scheme", "127.0.0.1:5000/acme/weather:1", "127.0.0.1:5000/acme/weather:1: not an oci:// reference" + want},
		{"other scheme", "https://ghcr.io/acme/weather:1", "https://ghcr.io/acme/weather:1: not an oci:// reference" + want},
		{"credentials are masked", "oci://alice:s3cret@ghcr.io/acme/weather:1", "oci://…@ghcr.io/acme/weather:1: credentials do not belong in the reference (pass them as the registry username and password instead)"},
		{"no host", "oci:///acme/weather:1", "oci:///acme/weather:1: missing registry host" + want},
		{"no repository", "oci://ghcr.io", "oci://ghcr.io: missing repository" + want},
		{"empty repository", "oci://ghcr.io/", "oci://ghcr.io/: missing repository" + want},
		{"only a tag", "oci://ghcr.io/:1", "oci://ghcr.io/:1: missing repository" + want},
		{"bad host character", "oci://ghcr_io/a:1", `oci://ghcr_io/a:1: invalid registry host "ghcr_io"` + hostNote},
		{"host label ending in dash", "oci://ghcr-.io/a:1", `oci://ghcr-.io/a:1: invalid registry host "ghcr-.io"` + hostNote},
		{"empty port", "oci://ghcr.io:/a:1", `oci://ghcr.io:/a:1: invalid registry host "ghcr.io:": empty port` + hostNote},
		{"port zero", "oci://ghcr.io:0/a:1", `oci://ghcr.io:0/a:1: invalid registry port "0"` + hostNote},
		{"port too large", "oci://ghcr.io:65536/a:1", `oci://ghcr.io:65536/a:1: invalid registry port "65536"` + hostNote},
		{"port not a number", "oci://ghcr.io:http/a:1", `oci://ghcr.io:http/a:1: invalid registry port "http"` + hostNote},
		{"bare ipv6", "oci://::1/a:1", `oci://::1/a:1: invalid registry host "::1"` + hostNote},
		{"unclosed ipv6", "oci://[::1/a:1", `oci://[::1/a:1: invalid registry host "[::1": unclosed '['` + hostNote},
		{"ipv4 in brackets", "oci://[127.0.0.1]/a:1", `oci://[127.0.0.1]/a:1: invalid registry host "[127.0.0.1]": not an IPv6 address` + hostNote},
		{"upper-case repository", "oci://ghcr.io/Acme/weather:1", `oci://ghcr.io/Acme/weather:1: invalid repository "Acme/weather" (lowercase letters and digits, separated by '.', '_', '__' or '-', in components joined by '/', at most 255 characters)`},
		{"double slash", "oci://ghcr.io/acme//weather:1", `oci://ghcr.io/acme//weather:1: invalid repository "acme//weather" (lowercase letters and digits, separated by '.', '_', '__' or '-', in components joined by '/', at most 255 characters)`},
		{"trailing slash", "oci://ghcr.io/acme/:1", `oci://ghcr.io/acme/:1: invalid repository "acme/" (lowercase letters and digits, separated by '.', '_', '__' or '-', in components joined by '/', at most 255 characters)`},
		{"query string", "oci://ghcr.io/acme/weather?x=1:1", `oci://ghcr.io/acme/weather?x=1:1: invalid repository "acme/weather?x=1" (lowercase letters and digits, separated by '.', '_', '__' or '-', in components joined by '/', at most 255 characters)`},
		{"no tag or digest", "oci://ghcr.io/acme/weather", "oci://ghcr.io/acme/weather: missing tag or digest (add :VERSION or @sha256:DIGEST)"},
		{"empty tag", "oci://ghcr.io/acme/weather:", `oci://ghcr.io/acme/weather:: invalid tag "" (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')`},
		{"tag starting with dot", "oci://ghcr.io/a:.1", `oci://ghcr.io/a:.1: invalid tag ".1" (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')`},
		{"tag with colon", "oci://ghcr.io/a:1:2", `oci://ghcr.io/a:1:2: invalid tag "1:2" (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')`},
		{"129-character tag", "oci://ghcr.io/a:" + strings.Repeat("t", 129), `oci://ghcr.io/a:` + strings.Repeat("t", 129) + `: invalid tag "` + strings.Repeat("t", 129) + `" (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')`},
		{"sha512 digest", "oci://ghcr.io/a@sha512:abcd", `oci://ghcr.io/a@sha512:abcd: invalid digest "sha512:abcd" (want sha256: followed by 64 lowercase hex digits)`},
		{"short digest", "oci://ghcr.io/a@sha256:abcd", `oci://ghcr.io/a@sha256:abcd: invalid digest "sha256:abcd" (want sha256: followed by 64 lowercase hex digits)`},
		{"upper-case digest", "oci://ghcr.io/a@" + strings.ToUpper(testDigest), `oci://ghcr.io/a@SHA256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF: invalid digest "SHA256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF" (want sha256: followed by 64 lowercase hex digits)`},
		{"newline is quoted", "oci://ghcr.io/a:1\nrm -rf", `"oci://ghcr.io/a:1\nrm -rf": invalid tag "1\nrm -rf" (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReference(tt.in)
			if err == nil {
				t.Fatalf("ParseReference(%q) = %+v, want error %q", tt.in, got, tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("ParseReference(%q) error:\n got %s\nwant %s", tt.in, err, tt.err)
			}
			if !errors.Is(err, ErrBadReference) {
				t.Errorf("error %v is not ErrBadReference", err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestParseReferenceRefusesLongRepository(t *testing.T) {
	repo := strings.Repeat("a", 256)
	_, err := ParseReference("oci://ghcr.io/" + repo + ":1")
	if !errors.Is(err, ErrBadReference) || !strings.Contains(err.Error(), "invalid repository") {
		t.Fatalf("256-character repository: got %v, want an invalid repository error", err)
	}
	if _, err := ParseReference("oci://ghcr.io/" + repo[:255] + ":1"); err != nil {
		t.Fatalf("255-character repository: %v", err)
	}
}

func TestPlainHTTPOnlyForLoopbackUnlessAsked(t *testing.T) {
	tests := []struct {
		registry  string
		plainHTTP bool // Options.PlainHTTP
		want      bool
	}{
		{"127.0.0.1:5000", false, true},
		{"127.1.2.3", false, true},
		{"localhost:5000", false, true},
		{"LOCALHOST", false, true},
		{"[::1]:5000", false, true},
		{"[::1]", false, true},
		{"[::ffff:127.0.0.1]:5000", false, true},
		{"ghcr.io", false, false},
		{"registry.example.com:5000", false, false},
		{"10.0.0.1:5000", false, false},
		{"[2001:db8::1]:5000", false, false},
		{"localhost.example.com", false, false},
		{"128.0.0.1", false, false},
		{"ghcr.io", true, true},
		{"10.0.0.1:5000", true, true},
	}
	for _, tt := range tests {
		if got := usePlainHTTP(tt.registry, Options{PlainHTTP: tt.plainHTTP}); got != tt.want {
			t.Errorf("usePlainHTTP(%q, PlainHTTP: %v) = %v, want %v", tt.registry, tt.plainHTTP, got, tt.want)
		}
	}
}

func TestErrorIsOneLine(t *testing.T) {
	err := &Error{Ref: "oci://h/r:1", Msg: "uploading", Err: errors.New("registry said:\n\tno\r\nway"), Note: "try again"}
	const want = "oci://h/r:1: uploading: registry said: no way (try again)"
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestOptionsDoNotPrintThePassword(t *testing.T) {
	opts := Options{Username: "alice", Password: "correct-horse", MaxBytes: 10}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(format, opts); strings.Contains(got, "correct-horse") {
			t.Errorf("Sprintf(%q) = %q shows the password", format, got)
		}
	}
	const want = `{PlainHTTP:false MaxBytes:10 Progress:false Username:"alice" Password:[REDACTED]}`
	if got := opts.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
