package main

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText converts an HTML document to readable plain text and returns its title. Scripts,
// styles, navigation, forms and hidden elements are dropped; headings become "# " lines,
// paragraphs and blocks are separated by blank lines, list items become "- " (or "1. ") lines,
// table cells are joined with " | ", links keep their text, <pre> keeps its layout, and other
// whitespace is collapsed.
func htmlToText(body []byte) (title, text string) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil { // html.Parse only fails on read errors; fall back to the raw text
		return "", strings.TrimSpace(string(body))
	}
	title = findTitle(doc)
	c := &converter{atLineStart: true}
	c.walk(doc)
	return title, strings.TrimSpace(c.b.String())
}

// findTitle returns the document's <title>, or its first <h1> when it has none.
func findTitle(doc *html.Node) string {
	var title, h1 string
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Title:
				if title == "" {
					title = collapse(nodeText(n))
				}
				return
			case atom.Svg, atom.Script, atom.Style:
				return
			case atom.H1:
				if h1 == "" {
					h1 = collapse(nodeText(n))
				}
			}
		}
		for ch := n.FirstChild; ch != nil && title == ""; ch = ch.NextSibling {
			find(ch)
		}
	}
	find(doc)
	if title == "" {
		return h1
	}
	return title
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style) {
			return
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return b.String()
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// dropped are elements whose content is never readable text.
var dropped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Canvas: true, atom.Iframe: true, atom.Object: true,
	atom.Embed: true, atom.Nav: true, atom.Footer: true, atom.Form: true, atom.Button: true,
	atom.Select: true, atom.Textarea: true, atom.Input: true, atom.Dialog: true, atom.Audio: true,
	atom.Video: true, atom.Map: true,
}

// droppedClasses are boilerplate classes of common sites (MediaWiki's edit links, footnote
// markers and navigation boxes, "skip to content" links).
var droppedClasses = []string{"mw-editsection", "reference", "noprint", "navbox", "mw-jump-link", "skip-link", "visually-hidden", "sr-only"}

// Block elements: separated from their surroundings by a blank line (2) or a line break (1).
var blocks = map[atom.Atom]int{
	atom.P: 2, atom.Blockquote: 2, atom.Table: 2, atom.Figure: 2, atom.Section: 2, atom.Article: 2,
	atom.Main: 2, atom.Header: 2, atom.Aside: 2, atom.Dl: 2, atom.Hr: 2, atom.Center: 2, atom.Hgroup: 2,
	atom.Fieldset: 2, atom.Details: 2,
	atom.Div: 1, atom.Tr: 1, atom.Dt: 1, atom.Dd: 1, atom.Figcaption: 1, atom.Summary: 1,
	atom.Address: 1, atom.Caption: 1, atom.Thead: 1, atom.Tbody: 1, atom.Tfoot: 1, atom.Body: 1,
}

var headingLevel = map[atom.Atom]int{atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6}

type converter struct {
	b           strings.Builder
	pendingNL   int   // line breaks owed before the next text (at most 2: one blank line)
	space       bool  // a space is owed before the next text
	atLineStart bool  // nothing but a prefix has been written on this line
	pre         int   // depth of <pre> elements
	lists       []int // for each open list: 0 for <ul>, else the next <ol> item number
}

// brk asks for n line breaks (1: new line, 2: blank line) before the next text.
func (c *converter) brk(n int) {
	c.pendingNL = max(c.pendingNL, n)
	c.space = false
}

// flush writes the separator owed before new text.
func (c *converter) flush() {
	if c.b.Len() == 0 {
		c.pendingNL, c.space = 0, false
		return
	}
	if c.pendingNL > 0 {
		c.b.WriteString("\n\n"[:c.pendingNL])
		c.pendingNL, c.space, c.atLineStart = 0, false, true
		return
	}
	if c.space && !c.atLineStart {
		c.b.WriteByte(' ')
	}
	c.space = false
}

// prefix starts a line with s ("# ", "- "), after the breaks owed.
func (c *converter) prefix(s string) {
	c.flush()
	c.b.WriteString(s)
	c.atLineStart, c.space = true, false
}

func (c *converter) text(s string) {
	if c.pre > 0 {
		if s == "" {
			return
		}
		c.flush()
		c.b.WriteString(s)
		c.atLineStart = strings.HasSuffix(s, "\n")
		return
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			c.space = true
			continue
		}
		c.flush()
		c.b.WriteRune(r)
		c.atLineStart = false
	}
}

func hidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if a.Val == "true" {
				return true
			}
		case "role":
			if a.Val == "navigation" || a.Val == "search" {
				return true
			}
		case "class":
			for _, cl := range strings.Fields(a.Val) {
				for _, d := range droppedClasses {
					if cl == d {
						return true
					}
				}
			}
		case "style":
			if s := strings.ReplaceAll(strings.ToLower(a.Val), " ", ""); strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

func (c *converter) children(n *html.Node) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		c.walk(ch)
	}
}

func (c *converter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		c.text(n.Data)
		return
	case html.ElementNode:
	default:
		c.children(n)
		return
	}
	a := n.DataAtom
	if dropped[a] || hidden(n) {
		return
	}
	if level, ok := headingLevel[a]; ok {
		c.brk(2)
		c.prefix(strings.Repeat("#", level) + " ")
		c.children(n)
		c.brk(2)
		return
	}
	switch a {
	case atom.Br:
		if c.pre > 0 {
			c.text("\n")
		} else {
			c.brk(1)
		}
	case atom.Pre:
		c.brk(2)
		c.pre++
		c.children(n)
		c.pre--
		c.brk(2)
	case atom.Ul, atom.Ol, atom.Menu:
		if len(c.lists) == 0 {
			c.brk(2)
		} else {
			c.brk(1)
		}
		next := 0
		if a == atom.Ol {
			next = 1
			for _, at := range n.Attr {
				if at.Key == "start" {
					if v, err := strconv.Atoi(at.Val); err == nil {
						next = v
					}
				}
			}
		}
		c.lists = append(c.lists, next)
		c.children(n)
		c.lists = c.lists[:len(c.lists)-1]
		if len(c.lists) == 0 {
			c.brk(2)
		} else {
			c.brk(1)
		}
	case atom.Li:
		c.brk(1)
		marker := "- "
		depth := len(c.lists)
		if depth > 0 && c.lists[depth-1] > 0 {
			marker = strconv.Itoa(c.lists[depth-1]) + ". "
			c.lists[depth-1]++
		}
		c.prefix(strings.Repeat("  ", max(depth-1, 0)) + marker)
		c.children(n)
		c.brk(1)
	case atom.Td, atom.Th:
		if prevCell(n) {
			c.prefix(" | ")
		}
		c.children(n)
	case atom.Img:
		// Images carry no text; their alt text is usually decorative or a duplicate.
	default:
		if sep, ok := blocks[a]; ok {
			c.brk(sep)
			c.children(n)
			c.brk(sep)
			return
		}
		c.children(n) // inline: a, span, em, strong, code, ...
	}
}

// prevCell reports whether a table cell has a cell before it in its row.
func prevCell(n *html.Node) bool {
	for s := n.PrevSibling; s != nil; s = s.PrevSibling {
		if s.Type == html.ElementNode && (s.DataAtom == atom.Td || s.DataAtom == atom.Th) {
			return true
		}
	}
	return false
}
