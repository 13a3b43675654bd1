// Command web is hermes' first-party web plugin: its fetch tool downloads a page from one of the
// sites the user allowed (capability http) and returns it as readable text.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o web.wasm ./plugins/web
//
// The tool is plain Go (this file and text.go), tested natively with the SDK's fake host; the
// wasm export lives in exports.go.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

const (
	defaultMaxChars = 20000
	maxMaxChars     = 200000
	userAgent       = "hermes-web/0.1 (+https://github.com/hermes-agent/hermes)"
	accept          = "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5"
)

type fetchArgs struct {
	URL      string `json:"url" desc:"http(s) URL of the page; its host must be one the user allowed for this plugin"`
	MaxChars int    `json:"max_chars,omitempty" desc:"maximum characters of text to return (default 20000, at most 200000)"`
}

type fetchResult struct {
	URL         string `json:"url"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Title       string `json:"title"`
	Text        string `json:"text"`
	Truncated   bool   `json:"truncated"`
}

func init() {
	hermes.Tool("fetch", "Fetch a web page and return its readable text: HTML is converted to plain "+
		"text (headings, paragraphs and list items kept; scripts, styles and navigation dropped), "+
		"plain text and JSON are returned as they are. Only sites the user allowed can be reached.", fetch)
}

func main() {}

func fetch(a fetchArgs) (fetchResult, error) {
	if a.MaxChars < 0 {
		return fetchResult{}, errors.New("max_chars must not be negative")
	}
	maxChars := a.MaxChars
	if maxChars == 0 {
		maxChars = defaultMaxChars
	}
	maxChars = min(maxChars, maxMaxChars)

	u, err := url.Parse(strings.TrimSpace(a.URL))
	if err != nil {
		return fetchResult{}, fmt.Errorf("invalid URL %q: %v", a.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fetchResult{}, fmt.Errorf("invalid URL %q: only http and https URLs can be fetched", a.URL)
	}
	if u.Host == "" {
		return fetchResult{}, fmt.Errorf("invalid URL %q: no host", a.URL)
	}
	u.Fragment = ""

	resp, err := hermes.HTTP(hermes.Request{
		Method:  "GET",
		URL:     u.String(),
		Headers: map[string]string{"User-Agent": userAgent, "Accept": accept},
	})
	if err != nil {
		return fetchResult{}, err
	}
	res := fetchResult{URL: u.String(), Status: resp.Status}
	ct := resp.Header("Content-Type")
	mediaType := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	res.ContentType = mediaType

	var text string
	switch kind := classify(mediaType, resp.Body); kind {
	case kindHTML:
		res.Title, text = htmlToText(decode(resp.Body))
	case kindText:
		text = strings.TrimSpace(string(decode(resp.Body)))
	default:
		return fetchResult{}, fmt.Errorf("%s returned %s content (%d bytes), which is not text", res.URL, describeType(mediaType), len(resp.Body))
	}
	res.Text, res.Truncated = truncateRunes(text, maxChars)
	return res, nil
}

type contentKind int

const (
	kindBinary contentKind = iota
	kindHTML
	kindText
)

// classify decides how to present a body from its media type, sniffing when the type is
// missing or generic.
func classify(mediaType string, body []byte) contentKind {
	switch {
	case mediaType == "text/html" || mediaType == "application/xhtml+xml":
		return kindHTML
	case strings.HasPrefix(mediaType, "text/"),
		mediaType == "application/json", strings.HasSuffix(mediaType, "+json"),
		mediaType == "application/xml", strings.HasSuffix(mediaType, "+xml"),
		mediaType == "application/javascript", mediaType == "application/x-ndjson",
		mediaType == "application/toml", mediaType == "application/yaml", mediaType == "application/x-yaml":
		return kindText
	case mediaType == "" || mediaType == "application/octet-stream":
		head := bytes.ToLower(bytes.TrimLeft(bytes.TrimPrefix(body[:min(len(body), 512)], []byte("\ufeff")), " \t\r\n"))
		if bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html")) {
			return kindHTML
		}
		if bytes.IndexByte(body[:min(len(body), 8192)], 0) < 0 {
			return kindText
		}
	}
	return kindBinary
}

func describeType(mediaType string) string {
	if mediaType == "" {
		return "binary"
	}
	return mediaType
}

// decode returns body as UTF-8: unchanged when it is valid UTF-8, else read as Windows-1252,
// the usual encoding of older pages that are not.
func decode(body []byte) []byte {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	if utf8.Valid(body) {
		return body
	}
	out := make([]byte, 0, len(body)+len(body)/4)
	for _, c := range body {
		r := rune(c)
		if c >= 0x80 && c < 0xa0 {
			r = cp1252[c-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// cp1252 maps the bytes 0x80-0x9f of Windows-1252; the rest is Latin-1.
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8d, 'Ž', 0x8f,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9d, 'ž', 'Ÿ',
}

// truncateRunes cuts s to at most n characters, reporting whether it did.
func truncateRunes(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i], true
		}
		count++
	}
	return s, false
}
