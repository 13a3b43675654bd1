//go:build !wasip1

package hermes

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
)

type greetArgs struct {
	Name  string `json:"name" desc:"who to greet"`
	Times int    `json:"times,omitempty" desc:"how often"`
	Style string `json:"style,omitempty" enum:"plain,loud"`
}

type greetResult struct {
	Greeting string `json:"greeting"`
}

type inner struct {
	Tags []string          `json:"tags"`
	Meta map[string]string `json:"meta,omitempty"`
}

type Embedded struct {
	Shared bool `json:"shared,omitempty"`
}

type kitchenArgs struct {
	Embedded
	S       string          `json:"s"`
	B       bool            `json:"b,omitempty"`
	I       int64           `json:"i,omitempty"`
	U       uint8           `json:"u,omitempty"`
	F       float64         `json:"f,omitempty"`
	P       *string         `json:"p,omitempty"`
	Raw     []byte          `json:"raw,omitempty"`
	Nested  inner           `json:"nested"`
	List    []inner         `json:"list,omitempty"`
	Arr     [2]int          `json:"arr,omitempty"`
	When    time.Time       `json:"when,omitzero"`
	Any     any             `json:"any,omitempty"`
	RawJSON json.RawMessage `json:"raw_json,omitempty"`
	Quoted  int             `json:"quoted,string,omitempty"`
	Skip    string          `json:"-"`
	NoTag   string
	hidden  string
}

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children,omitempty"`
}

type treeArgs struct {
	Root node `json:"root"`
}

func init() {
	Tool("greet", "Greet someone", func(a greetArgs) (greetResult, error) {
		if a.Name == "" {
			return greetResult{}, errors.New("name is empty")
		}
		n := max(a.Times, 1)
		g := strings.Repeat("hello "+a.Name+" ", n)
		if a.Style == "loud" {
			g = strings.ToUpper(g)
		}
		return greetResult{Greeting: strings.TrimSpace(g)}, nil
	})
	Tool("kitchen", "Every supported type", func(a kitchenArgs) (kitchenArgs, error) { return a, nil })
	Tool("tree", "A recursive type", func(a treeArgs) (int, error) { return len(a.Root.Children), nil })
	Tool("boom", "Panics", func(struct{}) (string, error) {
		var m map[string]int
		m["x"] = 1 // nil map write
		return "", nil
	})
	RawTool("echo", "Echo the arguments", `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`,
		func(in []byte) ([]byte, error) { return in, nil })
}

func TestDescribe(t *testing.T) {
	out, err := Describe()
	if err != nil {
		t.Fatal(err)
	}
	d, err := abi.ParseDescription(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var names []string
	schemas := map[string]map[string]any{}
	for _, tl := range d.Tools {
		names = append(names, tl.Name)
		var s map[string]any
		if err := json.Unmarshal(tl.Parameters, &s); err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
		schemas[tl.Name] = s
	}
	if want := []string{"greet", "kitchen", "tree", "boom", "echo"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("tools %v, want %v", names, want)
	}

	var want map[string]any
	mustUnmarshal(t, `{"type":"object","properties":{
		"name":{"description":"who to greet","type":"string"},
		"times":{"description":"how often","type":"integer"},
		"style":{"type":"string","enum":["plain","loud"]}},
		"required":["name"],"additionalProperties":false}`, &want)
	if !reflect.DeepEqual(schemas["greet"], want) {
		t.Errorf("greet schema\n got %v\nwant %v", schemas["greet"], want)
	}

	k := schemas["kitchen"]
	props := k["properties"].(map[string]any)
	wantTypes := map[string]any{
		"shared": "boolean", "s": "string", "b": "boolean", "i": "integer", "u": "integer", "f": "number",
		"p": "string", "raw": "string", "nested": "object", "list": "array", "arr": "array",
		"when": "string", "any": nil, "raw_json": nil, "quoted": "string", "NoTag": "string",
	}
	if len(props) != len(wantTypes) {
		t.Errorf("kitchen properties %v, want the keys of %v", props, wantTypes)
	}
	for name, typ := range wantTypes {
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("kitchen: no property %q", name)
			continue
		}
		if p["type"] != typ {
			t.Errorf("kitchen.%s: type %v, want %v", name, p["type"], typ)
		}
	}
	if got := k["required"]; !reflect.DeepEqual(got, []any{"s", "nested", "NoTag"}) {
		t.Errorf("kitchen required %v", got)
	}
	nested := props["nested"].(map[string]any)
	if !reflect.DeepEqual(nested["required"], []any{"tags"}) {
		t.Errorf("nested required %v", nested["required"])
	}
	if props["when"].(map[string]any)["format"] != "date-time" {
		t.Errorf("time.Time schema %v", props["when"])
	}
	if props["u"].(map[string]any)["minimum"] != 0.0 {
		t.Errorf("uint8 schema %v", props["u"])
	}
	if props["raw"].(map[string]any)["contentEncoding"] != "base64" {
		t.Errorf("[]byte schema %v", props["raw"])
	}
	if arr := props["arr"].(map[string]any); arr["minItems"] != 2.0 || arr["maxItems"] != 2.0 {
		t.Errorf("array schema %v", arr)
	}

	// The recursive type terminates: node's children are {} (any) at the recursion.
	tree := schemas["tree"]["properties"].(map[string]any)["root"].(map[string]any)
	children := tree["properties"].(map[string]any)["children"].(map[string]any)
	if items := children["items"].(map[string]any); len(items) != 0 {
		t.Errorf("recursive items %v", items)
	}
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatal(err)
	}
}

func TestCallForTest(t *testing.T) {
	out, err := CallForTest("greet", []byte(`{"name":"ana","times":2,"style":"loud"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"greeting":"HELLO ANA HELLO ANA"}` {
		t.Errorf("got %s", out)
	}

	_, err = CallForTest("greet", []byte(`{"name":""}`))
	var ce *CallError
	if !errors.As(err, &ce) || ce.Message != "name is empty" || ce.Tool != "greet" {
		t.Errorf("tool error: %#v", err)
	}

	_, err = CallForTest("boom", nil)
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Message, "panic: ") || !strings.Contains(ce.Message, "nil map") {
		t.Errorf("panic: %v", err)
	}

	_, err = CallForTest("nope", nil)
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, `no tool "nope"`) {
		t.Errorf("unknown tool: %v", err)
	}

	if _, err := CallForTest("greet", []byte(`[1]`)); err == nil {
		t.Error("array arguments accepted")
	}

	in := `{"message":"hi \u00e9"}`
	out, err = CallForTest("echo", []byte(in))
	if err != nil || string(out) != in {
		t.Errorf("echo: %s, %v", out, err)
	}

	_, err = CallForTest("greet", []byte(`{"name":5}`))
	if !errors.As(err, &ce) || !strings.HasPrefix(ce.Message, "invalid arguments: ") {
		t.Errorf("bad arguments: %v", err)
	}
}

func TestRegisterRejects(t *testing.T) {
	for _, name := range []string{"", "Upper", "describe", "memory", "_x", "1a", "a-b", strings.Repeat("a", 65), "greet"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Tool(%q) did not panic", name)
				}
			}()
			Tool(name, "x", func(struct{}) (int, error) { return 0, nil })
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("RawTool with a non-object schema did not panic")
			}
		}()
		RawTool("rawbad", "x", `"string"`, func(b []byte) ([]byte, error) { return b, nil })
	}()
}

func TestSchemaRejects(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[string](),
		reflect.TypeFor[[]int](),
		reflect.TypeFor[time.Time](),
		reflect.TypeFor[struct {
			C chan int `json:"c"`
		}](),
		reflect.TypeFor[struct {
			M map[[2]int]string `json:"m"`
		}](),
	} {
		if s, err := schemaFor(typ); err == nil {
			t.Errorf("%v: schema %s, want an error", typ, s)
		}
	}
	if s, err := schemaFor(reflect.TypeFor[map[string]int]()); err != nil || !strings.Contains(string(s), `"type":"object"`) {
		t.Errorf("map arguments: %s, %v", s, err)
	}
}

func TestFakes(t *testing.T) {
	t.Cleanup(ResetFakes)

	if _, err := HTTP(Request{URL: "https://example.org"}); err == nil {
		t.Error("HTTP without a fake succeeded")
	}
	SetFakeHTTP(func(r Request) (Response, error) {
		if r.Method != "POST" || string(r.Body) != "ping" || r.Headers["X-A"] != "1" {
			return Response{}, errors.New("unexpected request")
		}
		return Response{Status: 201, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("pong")}, nil
	})
	resp, err := HTTP(Request{Method: "post", URL: "https://example.org", Headers: map[string]string{"X-A": "1"}, Body: []byte("ping")})
	if err != nil || resp.Status != 201 || string(resp.Body) != "pong" || resp.Header("content-type") != "text/plain" || resp.Header("Content-Type") != "text/plain" {
		t.Errorf("HTTP: %+v, %v", resp, err)
	}

	SetFakeEnv(map[string]string{"K": "v"})
	if v, ok := Env("K"); !ok || v != "v" {
		t.Errorf("Env(K) = %q, %v", v, ok)
	}
	if _, ok := Env("OTHER"); ok {
		t.Error("Env(OTHER) found")
	}

	KVSet("a", []byte("1"))
	if v, ok := KVGet("a"); !ok || string(v) != "1" {
		t.Errorf("KVGet(a) = %q, %v", v, ok)
	}
	KVSet("b", []byte("2"))
	KVDelete("a")
	KVSet("b", nil)
	if _, ok := KVGet("a"); ok {
		t.Error("deleted key a found")
	}
	if kv := FakeKV(); len(kv) != 0 {
		t.Errorf("FakeKV() = %v", kv)
	}

	Logf(LevelWarn, "n=%d", 3)
	if logs := FakeLogs(); len(logs) != 1 || logs[0] != (LogEntry{LevelWarn, "n=3"}) {
		t.Errorf("logs %v", logs)
	}

	if _, err := Exec("ls", 0); err == nil {
		t.Error("Exec without a fake succeeded")
	}
	SetFakeExec(func(cmd string, timeout time.Duration) (ExecResult, error) {
		return ExecResult{ExitCode: 3, Output: cmd + " " + timeout.String()}, nil
	})
	if r, err := Exec("ls", 2*time.Second); err != nil || r.ExitCode != 3 || r.Output != "ls 2s" {
		t.Errorf("Exec: %+v, %v", r, err)
	}

	ResetFakes()
	if _, ok := Env("K"); ok || len(FakeLogs()) != 0 {
		t.Error("ResetFakes left state behind")
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\n\r\t", "<html>&", "unicode é ✓", "bad \xff utf8"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q -> %s: %v", s, b, err)
			continue
		}
		if got != strings.ToValidUTF8(s, "\ufffd") {
			t.Errorf("%q -> %s -> %q", s, b, got)
		}
	}
}
