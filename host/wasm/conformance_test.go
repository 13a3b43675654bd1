package wasm

import (
	"bytes"
	"context"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// TestConformanceWithExtism calls the same modules with the same inputs under hermes and under
// Extism's go-sdk and expects the same outputs and the same success or failure.
func TestConformanceWithExtism(t *testing.T) {
	cases := []struct {
		fixture string
		calls   [][2]string // export, input
	}{
		{"sdk/c/example", [][2]string{
			{"describe", ""},
			{"echo", `{"message":"hello"}`},
			{"echo", `{"message":"` + string(bytes.Repeat([]byte("x"), 100_000)) + `"}`},
			{"count", `{"text":"one two\nthree four"}`},
			{"count", `{"text":"caf\u00e9 \ud83d\ude00"}`},
			{"count", `{"nottext":1}`},
			{"count", `not json`},
		}},
		{"sdk/rust/example", [][2]string{
			{"describe", ""},
			{"sha256", `{"text":"abc"}`},
			{"sha256", `{"text":""}`},
			{"reverse", `{"text":"h\u00e9llo"}`},
			{"reverse", `{}`},
		}},
		{"testdata/echo", [][2]string{
			{"describe", ""},
			{"echo", `{"message":"hello"}`},
			{"echo", `{"message":"` + string(bytes.Repeat([]byte("y"), 10_000)) + `"}`},
		}},
		{"testdata/pdk/echo", [][2]string{
			{"describe", ""},
			{"echo", `{"message":"hello"}`},
		}},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			spec := specFor(t, tc.fixture)
			hermes := load(t, e, spec)
			ref := newExtismReference(t, spec.Wasm, nil)
			for _, c := range tc.calls {
				got, gotErr := hermes.Call(context.Background(), c[0], []byte(c[1]))
				rc, want, wantErr := ref.Call(c[0], []byte(c[1]))
				if wantErr == nil && rc != 0 {
					t.Fatalf("extism returned %d without error", rc)
				}
				if (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("%s(%.40s): hermes err=%v, extism err=%v", c[0], c[1], gotErr, wantErr)
				}
				if gotErr == nil && !bytes.Equal(got, want) {
					t.Fatalf("%s(%.40s): hermes=%.200s extism=%.200s", c[0], c[1], got, want)
				}
				if gotErr != nil && !bytes.Contains([]byte(gotErr.Error()), []byte(firstLine(wantErr.Error()))) {
					t.Errorf("%s: hermes error %q does not carry the plugin's message %q", c[0], gotErr, wantErr)
				}
			}
		})
	}
	_ = testplugins.Root
}
