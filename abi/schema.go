package abi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on a tool's parameters schema. A schema comes from the plugin, so what validating
// arguments against it may cost must be bounded before the host ever validates anything: a
// $ref cycle that never moves into the arguments recursed until the Go stack overflowed and
// the whole process died (issue 12).
const (
	MaxSchemaBytes = 64 << 10 // the schema's JSON text
	MaxSchemaDepth = 32       // objects and arrays nested in the JSON text
	MaxSchemaNodes = 4096     // subschemas in the JSON text
	// MaxSchemaWork bounds how many subschemas are applied at one place in the arguments once
	// every $ref, allOf, anyOf, oneOf, not and if/then/else is followed: a chain of
	// definitions that each use the one before twice is small to write and exponential to
	// validate.
	MaxSchemaWork = 10_000
	// MaxValidationWork bounds what validating one call's arguments may cost, in steps: a
	// subschema applied to a value, an enum member or listed property it compares, 16 bytes
	// of the value it reads or prints into an error. Each value of the arguments
	// costs what the subschemas applied to it do, so the cost is the arguments' size times the
	// schema's work, and MaxSchemaWork alone does not bound it: the registry works the figure
	// out before validating (SchemaBound.Work) and refuses arguments that would cost more.
	// The validator takes about 0.4 µs a step, so a call's validation is bounded at about
	// 2 s; the densest megabyte of arguments an ordinary schema takes (half a million integers,
	// each checked against anyOf [integer, string]) is about 2 million steps.
	MaxValidationWork = 1 << 22
)

// inPlaceKeywords apply their subschemas to the same part of the arguments as the schema
// holding them; following only these, validation makes no progress through the arguments.
var inPlaceKeywords = map[string]bool{"allOf": true, "anyOf": true, "oneOf": true, "not": true,
	"if": true, "then": true, "else": true} // and dependentSchemas' and draft-07 dependencies' members (see schemaMaps)

// schemaMaps hold an object whose members are subschemas under names of the schema's own
// choosing.
var schemaMaps = map[string]bool{"properties": true, "patternProperties": true, "$defs": true,
	"definitions": true, "dependentSchemas": true, "dependencies": true}

// refusedKeywords change how $ref resolves (dynamic scopes, embedded resources) in ways this
// check does not follow, so a schema using them could hide a cycle; tool schemas do not need
// them.
var refusedKeywords = []string{"$dynamicRef", "$recursiveRef", "$dynamicAnchor", "$recursiveAnchor"}

// CheckSchema checks that validating against raw, a tool's parameters schema, costs bounded
// time and memory whatever the arguments: its size, nesting and number of subschemas are
// bounded, every $ref points inside the schema, no chain of $ref and in-place keywords leads
// back to where it started without moving into the arguments, and the subschemas applied at
// one place number at most MaxSchemaWork. Recursive schemas whose cycle passes through
// properties, items or another keyword that moves into the arguments are accepted: the
// arguments' own size bounds them, and BoundSchema's Work says by how much.
func CheckSchema(raw []byte) error {
	_, err := BoundSchema(raw)
	return err
}

// BoundSchema is CheckSchema returning, for a schema it accepts, what a call needs to bound
// validating its arguments before it validates them.
func BoundSchema(raw []byte) (*SchemaBound, error) {
	if len(raw) > MaxSchemaBytes {
		return nil, fmt.Errorf("parameters schema is %d bytes, more than %d", len(raw), MaxSchemaBytes)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parameters schema is not JSON: %v", err)
	}
	g := &schemaGraph{nodes: map[string]*schemaNode{}, anchors: map[string]string{}}
	if err := g.walk(doc, "", 0, true); err != nil {
		return nil, fmt.Errorf("parameters schema: %w", err)
	}
	for _, n := range g.nodes {
		for i, ref := range n.refs {
			target, err := g.resolve(ref)
			if err != nil {
				return nil, fmt.Errorf("parameters schema: %w", err)
			}
			n.refs[i] = target
		}
	}
	work := map[string]int{}
	post := map[string]int{} // finishing order: a node finishes after everything it applies in place
	const visiting = -1
	var cost func(ptr string, path []string) (int, error)
	cost = func(ptr string, path []string) (int, error) {
		switch w := work[ptr]; {
		case w == visiting:
			return 0, fmt.Errorf("parameters schema: %s leads back to itself without moving into the arguments (%s): it cannot be validated", pointerName(ptr), strings.Join(append(path, pointerName(ptr)), " -> "))
		case w > 0:
			return w, nil
		}
		n := g.nodes[ptr]
		if n == nil { // a $ref to a value that is not a schema object (true, false, or absent)
			return 1, nil
		}
		work[ptr] = visiting
		total := 1
		for _, next := range append(append([]string(nil), n.inPlace...), n.refs...) {
			c, err := cost(next, append(path, pointerName(ptr)))
			if err != nil {
				return 0, err
			}
			if total += c; total > MaxSchemaWork {
				return 0, fmt.Errorf("parameters schema: validating one value would apply more than %d subschemas", MaxSchemaWork)
			}
		}
		work[ptr] = total
		post[ptr] = len(post)
		return total, nil
	}
	for ptr := range g.nodes {
		if _, err := cost(ptr, nil); err != nil {
			return nil, err
		}
	}
	b := g.bound(post)
	if w := b.Work(map[string]any{}, MaxValidationWork); w > MaxValidationWork/64 {
		return nil, fmt.Errorf("parameters schema: validating even {} would take more than %d steps; a call may take %d", MaxValidationWork/64, MaxValidationWork)
	}
	return b, nil
}

type schemaNode struct {
	inPlace []string // subschemas applied to the same value
	refs    []string // $ref values, then their targets' pointers
	// What the validator does at this subschema besides applying others to the same value.
	weight  int               // steps of its own: 1, plus enum/const nodes and properties, required and dependencies listed
	props   map[string]string // properties: name -> subschema for that member's value
	anyProp []string          // patternProperties, additionalProperties, unevaluatedProperties: any member's value
	names   []string          // propertyNames: each member's name
	prefix  []string          // prefixItems (or draft-07's items array): the item at that index
	anyItem []string          // items, additionalItems, contains, unevaluatedItems: any item
}

type schemaGraph struct {
	nodes   map[string]*schemaNode // by JSON pointer
	anchors map[string]string      // $anchor -> pointer
	count   int
}

// walk records v, found at JSON pointer ptr, and what it contains. isSchema is whether v is in
// a place where a subschema stands (rather than, say, the value of "enum" or "const").
func (g *schemaGraph) walk(v any, ptr string, depth int, isSchema bool) error {
	if depth > MaxSchemaDepth {
		return fmt.Errorf("nested more than %d deep", MaxSchemaDepth)
	}
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			if err := g.walk(e, ptr+"/"+strconv.Itoa(i), depth+1, isSchema); err != nil {
				return err
			}
		}
	case map[string]any:
		if !isSchema {
			for k, e := range v {
				if err := g.walk(e, ptr+"/"+escapePointer(k), depth+1, false); err != nil {
					return err
				}
			}
			return nil
		}
		if g.count++; g.count > MaxSchemaNodes {
			return fmt.Errorf("more than %d subschemas", MaxSchemaNodes)
		}
		n := &schemaNode{weight: 1}
		g.nodes[ptr] = n
		for _, k := range refusedKeywords {
			if _, ok := v[k]; ok {
				return fmt.Errorf("%s uses %s, which tool schemas may not", pointerName(ptr), k)
			}
		}
		if _, ok := v["$id"]; ok && ptr != "" {
			return fmt.Errorf("%s has its own $id; only the top-level schema may", pointerName(ptr))
		}
		if a, ok := v["$anchor"].(string); ok {
			g.anchors[a] = ptr
		}
		if r, ok := v["$ref"]; ok {
			s, ok := r.(string)
			if !ok {
				return fmt.Errorf("%s: $ref is not a string", pointerName(ptr))
			}
			n.refs = append(n.refs, s)
		}
		for k, e := range v {
			child := ptr + "/" + escapePointer(k)
			switch {
			case k == "enum" || k == "const" || k == "default" || k == "examples":
				if err := g.walk(e, child, depth+1, false); err != nil {
					return err
				}
				if k == "enum" || k == "const" {
					n.weight += jsonNodes(e)
				}
			case schemaMaps[k]:
				// Members are subschemas under names the schema chooses: a property may be
				// called "enum" or "allOf", so the names are never read as keywords.
				members, ok := e.(map[string]any)
				if !ok {
					continue
				}
				for name, sub := range members {
					if err := g.walk(sub, child+"/"+escapePointer(name), depth+2, true); err != nil {
						return err
					}
				}
				switch k {
				case "dependentSchemas", "dependencies":
					n.inPlace = append(n.inPlace, subschemaPointers(e, child, true)...)
					n.weight += len(members)
				case "properties":
					n.props = make(map[string]string, len(members))
					for name := range members {
						n.props[name] = child + "/" + escapePointer(name)
					}
					n.weight += len(members)
				case "patternProperties":
					n.anyProp = append(n.anyProp, subschemaPointers(e, child, true)...)
				}
			case inPlaceKeywords[k]:
				if err := g.walk(e, child, depth+1, true); err != nil {
					return err
				}
				n.inPlace = append(n.inPlace, subschemaPointers(e, child, false)...)
			default:
				// items, additionalProperties and the rest: their subschemas apply to other
				// values (or none), so they are edges of progress, not of this graph.
				n.progress(k, e, child)
				_, isObject := e.(map[string]any)
				_, isArray := e.([]any)
				if isObject || isArray {
					if err := g.walk(e, child, depth+1, k != "required" && k != "type" && k != "dependentRequired"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// progress records where keyword k, whose value is e at child, applies subschemas to parts of
// the value (or what the validator does that grows with the value).
func (n *schemaNode) progress(k string, e any, child string) {
	_, isArray := e.([]any)
	switch k {
	case "additionalProperties", "unevaluatedProperties":
		n.anyProp = append(n.anyProp, child)
	case "propertyNames":
		n.names = append(n.names, child)
	case "prefixItems":
		n.prefix = append(n.prefix, subschemaPointers(e, child, false)...)
	case "items":
		if isArray {
			n.prefix = append(n.prefix, subschemaPointers(e, child, false)...)
		} else {
			n.anyItem = append(n.anyItem, child)
		}
	case "additionalItems", "contains", "unevaluatedItems":
		n.anyItem = append(n.anyItem, child)
	case "required", "dependentRequired":
		if isArray {
			n.weight += len(e.([]any))
		} else if m, ok := e.(map[string]any); ok {
			n.weight += len(m)
		}
	}
}

// jsonNodes counts the values in v, what comparing a value with it may take.
func jsonNodes(v any) int {
	c := 1
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			c += jsonNodes(e)
		}
	case map[string]any:
		for _, e := range v {
			c += jsonNodes(e)
		}
	}
	return c
}

// subschemaPointers lists the subschemas an in-place keyword's value holds: itself, the
// elements of an array (allOf…), or the members of an object (dependentSchemas).
func subschemaPointers(v any, ptr string, members bool) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, len(v))
		for i := range v {
			out[i] = ptr + "/" + strconv.Itoa(i)
		}
		return out
	case map[string]any:
		if !members {
			return []string{ptr}
		}
		out := make([]string, 0, len(v))
		for k := range v {
			out = append(out, ptr+"/"+escapePointer(k))
		}
		return out
	}
	return nil
}

// resolve turns a $ref into the JSON pointer of its target inside this schema.
func (g *schemaGraph) resolve(ref string) (string, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return "", fmt.Errorf("$ref %q points outside the schema; only references inside it (#/...) are allowed", truncateRef(ref))
	}
	if frag != "" && !strings.HasPrefix(frag, "/") {
		ptr, ok := g.anchors[frag]
		if !ok {
			return "", fmt.Errorf("$ref %q names no $anchor of the schema", truncateRef(ref))
		}
		return ptr, nil
	}
	return frag, nil // "" is the whole schema; a pointer to no schema object is a leaf
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

func pointerName(ptr string) string { return "#" + ptr }

func truncateRef(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
