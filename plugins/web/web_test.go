//go:build !wasip1

package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

const page = `<!DOCTYPE html>
<html><head><title>  Go   (programming language)
 - Wikipedia</title>
<style>body { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body>
<a class="mw-jump-link" href="#content">Jump to content</a>
<nav><ul><li>Main page</li><li>Random</li></ul></nav>
<div id="content">
<h1>Go <span class="mw-editsection">[edit]</span></h1>
<p>Go is a   statically typed,
compiled <a href="/wiki/Programming_language">programming language</a> designed at
<b>Google</b>.<sup class="reference">[1]</sup></p>
<h2>History</h2>
<p>First line<br>second line</p>
<ul>
  <li>Robert Griesemer</li>
  <li>Rob <em>Pike</em>
    <ol><li>nested one</li><li>nested two</li></ol>
  </li>
</ul>
<pre>func main() {
	fmt.Println("hi")
}</pre>
<table><tr><th>Year</th><th>Version</th></tr><tr><td>2012</td><td>1.0</td></tr></table>
<div hidden>secret hidden</div><div style="display: none">also hidden</div>
<p>Caf&eacute; &amp; cr&egrave;me &mdash; done.</p>
<noscript>Enable JS</noscript>
</div>
<footer>Text is available under CC BY-SA</footer>
</body></html>`

const wantText = `# Go

Go is a statically typed, compiled programming language designed at Google.

## History

First line
second line

- Robert Griesemer
- Rob Pike
  1. nested one
  2. nested two

func main() {
	fmt.Println("hi")
}

Year | Version
2012 | 1.0

Café & crème — done.`

func TestHTMLToText(t *testing.T) {
	title, text := htmlToText([]byte(page))
	if title != "Go (programming language) - Wikipedia" {
		t.Errorf("title %q", title)
	}
	if text != wantText {
		t.Errorf("text:\n%s\n--- want:\n%s", text, wantText)
	}
	for _, bad := range []string{"not text", "color", "Main page", "Jump", "[edit]", "[1]", "hidden", "CC BY-SA", "Enable JS"} {
		if strings.Contains(text, bad) {
			t.Errorf("text contains %q", bad)
		}
	}
}

func TestHTMLToTextEdgeCases(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"plain words":                           "plain words",
		"<p>a</p><p>b</p>":                      "a\n\nb",
		"<div>a</div><div>b</div>":              "a\nb",
		"<span>a</span> <span>b</span>":         "a b",
		"<span>a</span><span>b</span>":          "ab",
		"<p>  lead and trail  </p>":             "lead and trail",
		"<h3>T</h3>body":                        "### T\n\nbody",
		"<ol start=3><li>c</li><li>d</li></ol>": "3. c\n4. d",
		"<p>x<br><br><br>y</p>":                 "x\ny",
		"<li> spaced  item </li>":               "- spaced item",
		"<p>unclosed <b>bold":                   "unclosed bold",
	} {
		if _, got := htmlToText([]byte(in)); got != want {
			t.Errorf("htmlToText(%q) = %q, want %q", in, got, want)
		}
	}
	if title, _ := htmlToText([]byte("<h1>Only heading</h1><p>x</p>")); title != "Only heading" {
		t.Errorf("title from h1: %q", title)
	}
}

func TestClassifyAndDecode(t *testing.T) {
	for _, tc := range []struct {
		ct   string
		body string
		want contentKind
	}{
		{"text/html", "x", kindHTML},
		{"application/xhtml+xml", "x", kindHTML},
		{"text/plain", "<html>", kindText},
		{"application/json", "{}", kindText},
		{"application/ld+json", "{}", kindText},
		{"", "\ufeff  <!DOCTYPE html><p>x", kindHTML},
		{"", "just text", kindText},
		{"application/octet-stream", "\x00\x01", kindBinary},
		{"image/png", "\x89PNG", kindBinary},
		{"application/pdf", "%PDF", kindBinary},
	} {
		if got := classify(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("classify(%q, %q) = %v, want %v", tc.ct, tc.body, got, tc.want)
		}
	}
	if got := string(decode([]byte("caf\xe9 \x93q\x94"))); got != "café “q”" {
		t.Errorf("decode cp1252: %q", got)
	}
	if got := string(decode([]byte("\ufeffutf8 é"))); got != "utf8 é" {
		t.Errorf("decode utf8: %q", got)
	}
	if s, cut := truncateRunes("héllo", 2); s != "hé" || !cut {
		t.Errorf("truncateRunes: %q %v", s, cut)
	}
	if s, cut := truncateRunes("hé", 2); s != "hé" || cut {
		t.Errorf("truncateRunes short: %q %v", s, cut)
	}
}

func fetchCall(t *testing.T, args string) (fetchResult, error) {
	t.Helper()
	out, err := hermes.CallForTest("fetch", []byte(args))
	if err != nil {
		return fetchResult{}, err
	}
	var r fetchResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return r, nil
}

func TestFetch(t *testing.T) {
	t.Cleanup(hermes.ResetFakes)
	var got hermes.Request
	hermes.SetFakeHTTP(func(r hermes.Request) (hermes.Response, error) {
		got = r
		switch r.URL {
		case "https://en.wikipedia.org/wiki/Go":
			return hermes.Response{Status: 200, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: []byte(page)}, nil
		case "https://go.dev/data.json":
			return hermes.Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"a": [1, 2]}`)}, nil
		case "https://go.dev/logo.png":
			return hermes.Response{Status: 200, Headers: map[string]string{"Content-Type": "image/png"}, Body: []byte("\x89PNG\x00")}, nil
		case "https://go.dev/missing":
			return hermes.Response{Status: 404, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("404 page not found\n")}, nil
		}
		return hermes.Response{}, errors.New("denied: host not allowed")
	})

	r, err := fetchCall(t, `{"url":"https://en.wikipedia.org/wiki/Go#History"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "GET" || got.Headers["User-Agent"] != userAgent || got.URL != "https://en.wikipedia.org/wiki/Go" {
		t.Errorf("request %+v", got)
	}
	if r.Status != 200 || r.Title != "Go (programming language) - Wikipedia" || r.Text != wantText || r.Truncated || r.ContentType != "text/html" || r.URL != "https://en.wikipedia.org/wiki/Go" {
		t.Errorf("fetch html: %+v", r)
	}

	r, err = fetchCall(t, `{"url":"https://en.wikipedia.org/wiki/Go","max_chars":4}`)
	if err != nil || r.Text != "# Go" || !r.Truncated {
		t.Errorf("fetch max_chars: %+v, %v", r, err)
	}

	r, err = fetchCall(t, `{"url":"https://go.dev/data.json"}`)
	if err != nil || r.Text != `{"a": [1, 2]}` || r.Title != "" {
		t.Errorf("fetch json: %+v, %v", r, err)
	}

	r, err = fetchCall(t, `{"url":"https://go.dev/missing"}`)
	if err != nil || r.Status != 404 || r.Text != "404 page not found" {
		t.Errorf("fetch 404: %+v, %v", r, err)
	}

	for args, want := range map[string]string{
		`{"url":"https://go.dev/logo.png"}`: "image/png",
		`{"url":"ftp://go.dev/x"}`:          "only http and https",
		`{"url":"https:///x"}`:              "no host",
		`{"url":"https://evil.example/"}`:   "denied",
		`{"url":"x","max_chars":-1}`:        "negative",
	} {
		_, err := fetchCall(t, args)
		var ce *hermes.CallError
		if !errors.As(err, &ce) || !strings.Contains(ce.Message, want) {
			t.Errorf("fetch %s: %v, want %q", args, err, want)
		}
	}
}
