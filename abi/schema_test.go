package abi

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func TestCheckSchema(t *testing.T) {
	deepObject := strings.Repeat(`{"type":"object","properties":{"a":`, 40) + `{}` + strings.Repeat(`}}`, 40)
	// def_n = allOf [def_{n-1}, def_{n-1}]: 2^20 subschemas applied to one value.
	var defs []string
	defs = append(defs, `"d0":{"type":"string"}`)
	for i := 1; i <= 20; i++ {
		defs = append(defs, `"d`+itoa(i)+`":{"allOf":[{"$ref":"#/$defs/d`+itoa(i-1)+`"},{"$ref":"#/$defs/d`+itoa(i-1)+`"}]}`)
	}
	exponential := `{"type":"object","$defs":{` + strings.Join(defs, ",") + `},"properties":{"x":{"$ref":"#/$defs/d20"}}}`
	for _, tc := range []struct {
		name, schema, err string
	}{
		{"plain", `{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`, ""},
		{"recursive through properties", `{"type":"object","$defs":{"node":{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#/$defs/node"}}}}},"properties":{"root":{"$ref":"#/$defs/node"}}}`, ""},
		{"recursive root", `{"type":"object","properties":{"next":{"$ref":"#"}}}`, ""},
		{"anchor", `{"type":"object","$defs":{"s":{"$anchor":"str","type":"string"}},"properties":{"a":{"$ref":"#str"}}}`, ""},
		{"enum holding $ref text", `{"type":"object","properties":{"a":{"enum":[{"$ref":"#"}]}}}`, ""},
		{"ref cycle", `{"type":"object","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"properties":{"x":{"$ref":"#/$defs/a"}}}`, "leads back to itself without moving into the arguments"},
		{"self ref", `{"type":"object","$ref":"#"}`, "leads back to itself"},
		{"cycle through allOf", `{"type":"object","$defs":{"a":{"allOf":[{"$ref":"#/$defs/a"}]}},"properties":{"x":{"$ref":"#/$defs/a"}}}`, "leads back to itself"},
		{"cycle through not", `{"type":"object","$defs":{"a":{"not":{"$ref":"#/$defs/a"}}}}`, "leads back to itself"},
		{"cycle in a property named enum", `{"type":"object","properties":{"enum":{"$ref":"#/properties/enum"}}}`, "leads back to itself"},
		{"cycle in a definition named required", `{"type":"object","$defs":{"required":{"allOf":[{"$ref":"#/$defs/required"}]}},"properties":{"a":{"$ref":"#/$defs/required"}}}`, "leads back to itself"},
		{"cycle through dependentSchemas", `{"type":"object","$defs":{"a":{"dependentSchemas":{"x":{"$ref":"#/$defs/a"}}}},"properties":{"p":{"$ref":"#/$defs/a"}}}`, "leads back to itself"},
		// draft-07's dependencies apply their schemas in place, as dependentSchemas do: this one
		// installed and overflowed the stack at the first call with {"p":{"x":1}}.
		{"cycle through draft-07 dependencies", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{"a":{"dependencies":{"x":{"$ref":"#/definitions/a"}}}},"properties":{"p":{"$ref":"#/definitions/a"}}}`, "leads back to itself"},
		{"draft-07 dependencies naming properties", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","dependencies":{"a":["b"],"c":{"required":["d"]}}}`, ""},
		{"property named allOf", `{"type":"object","properties":{"allOf":{"type":"string"},"not":{"type":"number"}}}`, ""},
		{"exponential", exponential, "more than 10000 subschemas"},
		{"remote ref", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`, "points outside the schema"},
		{"unknown anchor", `{"type":"object","properties":{"a":{"$ref":"#nope"}}}`, "names no $anchor"},
		{"dynamic ref", `{"type":"object","properties":{"a":{"$dynamicRef":"#x"}}}`, "uses $dynamicRef"},
		{"nested id", `{"type":"object","properties":{"a":{"$id":"other","type":"string"}}}`, "has its own $id"},
		{"too deep", deepObject, "nested more than 32 deep"},
		{"too large", `{"type":"object","description":"` + strings.Repeat("x", MaxSchemaBytes) + `"}`, "more than 65536"},
		{"too many nodes", `{"type":"object","properties":{` + manyProps(MaxSchemaNodes+1) + `}}`, "more than 4096 subschemas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSchema([]byte(tc.schema))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want it to say %q", err, tc.err)
			}
		})
	}
}

func manyProps(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"p` + itoa(i) + `":{}`)
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzCheckSchema: whatever a plugin supplies, the check returns (no panic, no unbounded
// recursion), and counting what validating {} against a schema it accepts would take stays
// within the budget it is given. It neither compiles nor validates: FuzzSchemaCall
// (host/registry) takes schemas and arguments on through install's compile and a call's checks.
func FuzzCheckSchema(f *testing.F) {
	f.Add([]byte(`{"type":"object","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}}}`))
	f.Add([]byte(`{"type":"object","properties":{"next":{"$ref":"#"}}}`))
	f.Add([]byte(`{"allOf":[{"$ref":"#/allOf/1"},{"anyOf":[{"$ref":"#/allOf/0"}]}]}`))
	f.Add(doublingSchema(11))
	f.Add([]byte(`{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"a":{"dependencies":{"x":{"$ref":"#/definitions/a"}}}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := BoundSchema(raw)
		if err != nil {
			return
		}
		if w := b.Work(map[string]any{}, MaxValidationWork); w > MaxValidationWork/64 {
			t.Fatalf("accepted, and {} takes %d steps", w)
		}
	})
}

// doublingSchema is the reviewer's schema: each of levels definitions applies the one before
// twice, and the last is applied to every item of xs; small to write, and accepted (its work at
// one value is under MaxSchemaWork), but every item costs thousands of steps.
func doublingSchema(levels int) []byte {
	defs := []string{`"d0":{"type":"integer"}`}
	for i := 1; i <= levels; i++ {
		defs = append(defs, `"d`+itoa(i)+`":{"allOf":[{"$ref":"#/$defs/d`+itoa(i-1)+`"},{"$ref":"#/$defs/d`+itoa(i-1)+`"}]}`)
	}
	return []byte(`{"type":"object","$defs":{` + strings.Join(defs, ",") + `},"properties":{"xs":{"type":"array","items":{"$ref":"#/$defs/d` + itoa(levels) + `"}}}}`)
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaBoundWork(t *testing.T) {
	items := func(n int) string { return `{"xs":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}` }
	nested := func(depth int) string { return strings.Repeat(`{"a":`, depth) + `{}` + strings.Repeat(`}`, depth) }
	for _, tc := range []struct {
		name, schema, args string
		over               bool
	}{
		{"doubling, one item", string(doublingSchema(11)), items(1), false},
		{"doubling, 20 KB of items", string(doublingSchema(11)), items(10_000), true},
		// allOf at every level applies the same recursion twice through properties: the work
		// doubles with each level of the arguments, though each value's own work is 3.
		{"fan-out through properties", `{"type":"object","allOf":[{"properties":{"a":{"$ref":"#"}}},{"properties":{"a":{"$ref":"#"}}}]}`, nested(40), true},
		{"fan-out through patternProperties", `{"type":"object","properties":{"a":{"$ref":"#"}},"patternProperties":{"^a$":{"$ref":"#"}}}`, nested(40), true},
		{"recursive, deep arguments", `{"type":"object","properties":{"a":{"$ref":"#"}}}`, nested(1000), false},
		// Every failing branch's error prints the value, and anyOf keeps them all: 200 branches
		// against a megabyte allocated 2.7 GB.
		{"anyOf errors printing a megabyte", `{"type":"object","anyOf":[` + strings.TrimSuffix(strings.Repeat(`{"type":"array"},`, 200), ",") + `]}`, `{"a":"` + strings.Repeat("x", 1<<20) + `"}`, true},
		{"a few branches and a megabyte", `{"type":"object","anyOf":[{"type":"array"},{"type":"object"}]}`, `{"a":"` + strings.Repeat("x", 1<<20) + `"}`, false},
		{"a megabyte string", `{"type":"object","properties":{"content":{"type":"string","maxLength":2000000}}}`, `{"content":"` + strings.Repeat("x", 1<<20) + `"}`, false},
		{"half a million items", `{"type":"object","properties":{"xs":{"type":"array","items":{"anyOf":[{"type":"integer"},{"type":"string"}]}}}}`, items(500_000), false},
		{"unique items", `{"type":"object","properties":{"xs":{"type":"array","uniqueItems":true,"items":{"type":"integer"}}}}`, items(100_000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BoundSchema([]byte(tc.schema))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			w := b.Work(decode(t, tc.args), MaxValidationWork)
			if over := w > MaxValidationWork; over != tc.over {
				t.Fatalf("work %d, over the budget: %v, want %v", w, over, tc.over)
			}
		})
	}
}
