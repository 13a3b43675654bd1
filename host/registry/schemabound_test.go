package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
)

// doublingSchemaJSON is the reviewer's schema: each of levels definitions applies the one
// before twice, the last applied to every item of xs. At levels = 11 it is 794 bytes and one
// value's work (about 6,000 subschemas) is under abi.MaxSchemaWork, so it installs; validating
// 20 KB of items against it took 15.7 s before calls were bounded.
func doublingSchemaJSON(levels int) string {
	defs := []string{`"d0":{"type":"integer"}`}
	for i := 1; i <= levels; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i-1, i-1))
	}
	return fmt.Sprintf(`{"type":"object","$defs":{%s},"properties":{"xs":{"type":"array","items":{"$ref":"#/$defs/d%d"}}}}`, strings.Join(defs, ","), levels)
}

// tomlValue writes a JSON value as a TOML inline value, for a [[tools]] parameters line.
func tomlValue(v any) string {
	switch v := v.(type) {
	case map[string]any:
		parts := make([]string, 0, len(v))
		for k, e := range v {
			parts = append(parts, fmt.Sprintf("%q = %s", k, tomlValue(e)))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, tomlValue(e))
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// doublingPlugin is the cyclicschema fixture's module with two declared tools on its loop
// export (which outputs two bytes, returned as text): double, whose schema is the doubling
// one, and ints, an ordinary schema for a list of integers.
func doublingPlugin(t *testing.T) string {
	t.Helper()
	tool := func(name, schema string) string {
		var v any
		if err := json.Unmarshal([]byte(schema), &v); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("\n[[tools]]\nname = %q\nexport = \"loop\"\ndescription = \"test\"\noutput = \"text\"\nparameters = %s\n", name, tomlValue(v))
	}
	return copyPlugin(t, "testdata/hostile/cyclicschema", func(m string) string {
		m = strings.Replace(m, `"hostile-cyclicschema"`, `"hostile-doubling"`, 1)
		return m + tool("double", doublingSchemaJSON(11)) +
			tool("ints", `{"type":"object","properties":{"xs":{"type":"array","items":{"anyOf":[{"type":"integer"},{"type":"string"}]}}}}`)
	})
}

func itemsArgs(n int) []byte {
	return []byte(`{"xs":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}`)
}

// The doubling schema installs, and a call with a few items validates; a call with 20 KB of
// items is refused before validating, as limit_exceeded naming the budget, and the host goes
// on answering. An ordinary schema still takes a megabyte of arguments.
func TestDoublingSchemaBoundedAtCall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.add(t, doublingPlugin(t))
	if _, err := f.reg.Call(ctx, "hostile-doubling.double", itemsArgs(3)); err != nil {
		t.Fatalf("three items: %v", err)
	}
	_, err := f.reg.Call(ctx, "hostile-doubling.double", []byte(`{"xs":["a"]}`))
	wantCode(t, err, abi.CodeInvalidArgs, "hostile-doubling.double")
	for range 2 {
		args := itemsArgs(10_000)
		if len(args) < 20_000 {
			t.Fatalf("arguments are %d bytes", len(args))
		}
		_, err = f.reg.Call(ctx, "hostile-doubling.double", args)
		wantCode(t, err, abi.CodeLimitExceeded, "hostile-doubling.double", fmt.Sprintf("more than %d steps", abi.MaxValidationWork), "parameters schema", "smaller arguments")
		f.assertGoodPluginAnswers(t)
	}
	big := itemsArgs(500_000)
	if len(big) < 1_000_000 {
		t.Fatalf("arguments are %d bytes", len(big))
	}
	if _, err := f.reg.Call(ctx, "hostile-doubling.ints", big); err != nil {
		t.Fatalf("a megabyte of arguments against an ordinary schema: %v", err)
	}
}
