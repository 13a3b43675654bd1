package hermes

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var (
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	timeType          = reflect.TypeFor[time.Time]()
)

// schemaFor derives the JSON Schema (draft 2020-12) of a tool's arguments type, which must
// encode as a JSON object.
func schemaFor(t reflect.Type) ([]byte, error) {
	if t == nil {
		return nil, errors.New("arguments type is an interface; use a struct")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && !implementsMarshaler(t):
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
	default:
		return nil, errors.New("arguments type " + t.String() + " must be a struct (the arguments are a JSON object)")
	}
	g := schemaGen{visiting: map[reflect.Type]bool{}}
	out, err := g.appendType(nil, t, "", "")
	if err != nil {
		return nil, err
	}
	return out, nil
}

type schemaGen struct {
	visiting map[reflect.Type]bool
}

func implementsMarshaler(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(jsonMarshalerType) || p.Implements(jsonMarshalerType) ||
		t.Implements(textMarshalerType) || p.Implements(textMarshalerType)
}

// appendType appends the schema of t, with the description desc and the enum values of an
// `enum:"a,b"` tag when not empty.
func (g *schemaGen) appendType(dst []byte, t reflect.Type, desc, enum string) ([]byte, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	dst = append(dst, '{')
	n := len(dst)
	sep := func() {
		if len(dst) > n {
			dst = append(dst, ',')
		}
	}
	typ := func(name string) {
		sep()
		dst = append(dst, `"type":"`...)
		dst = append(dst, name...)
		dst = append(dst, '"')
	}
	if desc != "" {
		sep()
		dst = append(dst, `"description":`...)
		dst = appendJSONString(dst, desc)
	}

	p := reflect.PointerTo(t)
	switch {
	case t == timeType:
		typ("string")
		dst = append(dst, `,"format":"date-time"`...)
	case t.Implements(jsonMarshalerType) || p.Implements(jsonMarshalerType):
		// Encodes itself (json.RawMessage, custom types): any JSON value.
	case t.Implements(textMarshalerType) || p.Implements(textMarshalerType):
		typ("string")
	default:
		switch t.Kind() {
		case reflect.Bool:
			typ("boolean")
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			typ("integer")
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			typ("integer")
			dst = append(dst, `,"minimum":0`...)
		case reflect.Float32, reflect.Float64:
			typ("number")
		case reflect.String:
			typ("string")
		case reflect.Interface:
			// any JSON value
		case reflect.Slice, reflect.Array:
			if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
				typ("string")
				dst = append(dst, `,"contentEncoding":"base64"`...)
				break
			}
			typ("array")
			dst = append(dst, `,"items":`...)
			var err error
			if dst, err = g.appendType(dst, t.Elem(), "", ""); err != nil {
				return nil, err
			}
			if t.Kind() == reflect.Array {
				l := strconv.Itoa(t.Len())
				dst = append(dst, `,"minItems":`+l+`,"maxItems":`+l...)
			}
		case reflect.Map:
			switch t.Key().Kind() {
			case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			default:
				if !t.Key().Implements(textMarshalerType) {
					return nil, errors.New("map key type " + t.Key().String() + " cannot be a JSON object key")
				}
			}
			typ("object")
			dst = append(dst, `,"additionalProperties":`...)
			var err error
			if dst, err = g.appendType(dst, t.Elem(), "", ""); err != nil {
				return nil, err
			}
		case reflect.Struct:
			if g.visiting[t] {
				// A recursive type: accept any value at the point of recursion.
				break
			}
			g.visiting[t] = true
			sep()
			var err error
			dst, err = g.appendStruct(dst, t)
			delete(g.visiting, t)
			if err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("type " + t.String() + " has no JSON representation")
		}
	}
	if enum != "" {
		sep()
		dst = append(dst, `"enum":[`...)
		for i, v := range strings.Split(enum, ",") {
			if i > 0 {
				dst = append(dst, ',')
			}
			v = strings.TrimSpace(v)
			if t.Kind() != reflect.String && json.Valid([]byte(v)) {
				dst = append(dst, v...)
			} else {
				dst = appendJSONString(dst, v)
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

type schemaField struct {
	name     string
	typ      reflect.Type
	desc     string
	enum     string
	required bool
	asString bool
}

// appendStruct appends the keywords (not the braces) of the object schema of struct t.
func (g *schemaGen) appendStruct(dst []byte, t reflect.Type) ([]byte, error) {
	var fields []schemaField
	seen := map[string]bool{}
	collectFields(t, &fields, seen, map[reflect.Type]bool{})

	dst = append(dst, `"type":"object","properties":{`...)
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.name)
		dst = append(dst, ':')
		if f.asString {
			dst = append(dst, `{"type":"string"`...)
			if f.desc != "" {
				dst = append(dst, `,"description":`...)
				dst = appendJSONString(dst, f.desc)
			}
			dst = append(dst, '}')
			continue
		}
		var err error
		if dst, err = g.appendType(dst, f.typ, f.desc, f.enum); err != nil {
			return nil, errors.New("field " + f.name + ": " + err.Error())
		}
	}
	dst = append(dst, '}')
	first := true
	for _, f := range fields {
		if !f.required {
			continue
		}
		if first {
			dst = append(dst, `,"required":[`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.name)
	}
	if !first {
		dst = append(dst, ']')
	}
	dst = append(dst, `,"additionalProperties":false`...)
	return dst, nil
}

// collectFields lists the JSON fields of struct t the way encoding/json sees them: exported
// fields named by their json tag, with untagged embedded structs flattened into the parent.
func collectFields(t reflect.Type, out *[]schemaField, seen map[string]bool, embedding map[reflect.Type]bool) {
	if embedding[t] {
		return
	}
	embedding[t] = true
	defer delete(embedding, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !implementsMarshaler(ft) {
				collectFields(ft, out, seen, embedding)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if !hasTag || name == "" {
			name = f.Name
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		sf := schemaField{name: name, typ: f.Type, desc: f.Tag.Get("desc"), enum: f.Tag.Get("enum"), required: true}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				sf.required = false
			case "string":
				switch f.Type.Kind() {
				case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
					reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
					reflect.Float32, reflect.Float64, reflect.String:
					sf.asString = true
				}
			}
		}
		*out = append(*out, sf)
	}
}
