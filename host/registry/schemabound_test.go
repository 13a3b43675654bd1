package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/testplugins"
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

// cyclicFixtureSchema is the parameters schema testdata/hostile/cyclicschema's describe
// returns, read from its module's text.
func cyclicFixtureSchema(tb testing.TB) []byte {
	tb.Helper()
	wat, err := os.ReadFile(filepath.Join(testplugins.Root(), "testdata/hostile/cyclicschema/cyclicschema.wat"))
	if err != nil {
		tb.Fatal(err)
	}
	_, data, _ := strings.Cut(string(wat), `(data (i32.const 1024) "`)
	data, _, _ = strings.Cut(data, "\")\n")
	d, err := abi.ParseDescription([]byte(strings.ReplaceAll(data, `\"`, `"`)))
	if err != nil {
		tb.Fatalf("the fixture's describe: %v", err)
	}
	return d.Tools[0].Parameters
}

// FuzzSchemaCall feeds a tool schema and arguments through what install and a call do with
// them: the schema as a describe export returns it, parsed (abi.ParseDescription) and compiled
// (compileSchema, as install and every load do); the arguments through checkArgs, as every
// call does. Whatever the input, nothing panics; counting what validating would take never
// runs past the budget it is given; arguments are refused as limit_exceeded exactly when the
// count passes it and are validated only otherwise. The budget here is small, so the refusal
// is reached often and every validation that runs is quick. (The validator offers no way to
// count its own steps, so that the count is an upper bound is argued in abi.SchemaBound.Work
// and checked against the cases of TestSchemaBoundWork, not here.)
func FuzzSchemaCall(f *testing.F) {
	nested := func(depth int) []byte {
		return []byte(strings.Repeat(`{"a":`, depth) + `{}` + strings.Repeat(`}`, depth))
	}
	f.Add(cyclicFixtureSchema(f), []byte(`{"x":{"y":1}}`))
	f.Add([]byte(doublingSchemaJSON(11)), itemsArgs(3))
	f.Add([]byte(doublingSchemaJSON(11)), itemsArgs(2000))
	f.Add([]byte(doublingSchemaJSON(4)), []byte(`{"xs":[1,"a",{}]}`))
	f.Add([]byte(`{"type":"object","allOf":[{"properties":{"a":{"$ref":"#"}}},{"properties":{"a":{"$ref":"#"}}}]}`), nested(30))
	f.Add([]byte(`{"type":"object","properties":{"a":{"$ref":"#"}},"patternProperties":{"^a":{"$ref":"#"}},"propertyNames":{"maxLength":3}}`), nested(10))
	f.Add([]byte(`{"type":"object","properties":{"path":{"type":"string","pattern":"^[a-z]+$"},"n":{"enum":[1,2,[3]]}},"required":["path"]}`), []byte(`{"path":"abc","n":2}`))
	f.Add([]byte(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","items":[{"type":"string"}],"additionalItems":false,"dependencies":{"a":["b"]}}`), []byte(`{"a":[1],"b":null}`))
	f.Add([]byte(`{"type":"object","properties":{"xs":{"type":"array","uniqueItems":true,"prefixItems":[{"const":1}],"contains":{"type":"integer"},"unevaluatedItems":false}}}`), []byte(`{"xs":[1,2,2]}`))
	f.Fuzz(func(t *testing.T, schema, args []byte) {
		d, err := abi.ParseDescription([]byte(`{"tools":[{"name":"t","description":"fuzzed","parameters":` + string(schema) + `}]}`))
		if err != nil {
			return
		}
		ts, err := compileSchema(d.Tools[0])
		if err != nil {
			return
		}
		const budget = 1 << 16
		var decoded any
		work := int64(-1)
		if json.Unmarshal(args, &decoded) == nil {
			if work = ts.bound.Work(decoded, budget); work > budget+1 {
				t.Fatalf("counting ran to %d, past its budget %d", work, budget)
			}
		}
		_, value, argErr := checkArgs(ts, args, budget)
		switch {
		case argErr == nil:
			if value == nil || work > budget {
				t.Fatalf("validated arguments counted at %d steps, over %d", work, budget)
			}
		case argErr.Code == abi.CodeLimitExceeded:
			if work <= budget {
				t.Fatalf("refused as over the budget at %d steps: %v", work, argErr)
			}
		case argErr.Code == abi.CodeInvalidArgs:
			if work > budget {
				t.Fatalf("counted %d steps, over %d, and validated anyway: %v", work, budget, argErr)
			}
		default:
			t.Fatalf("unexpected error class: %v", argErr)
		}
		if argErr != nil && strings.Contains(argErr.Error(), "\n") {
			t.Fatalf("error is not one line: %q", argErr)
		}
	})
}
