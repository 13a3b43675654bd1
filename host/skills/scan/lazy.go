package scan

import (
	"regexp"
	"sync"
)

// lazyRE is a regular expression compiled on first use, so a program that links the scanner
// but does not scan (every hermes command) does not pay for compiling its patterns at start-up.
type lazyRE struct {
	once    sync.Once
	pattern string
	line    bool // an lre pattern: rewritten to match within one line, case-insensitively
	re      *regexp.Regexp
}

// lazy is regexp.MustCompile(pattern), compiled on first use.
func lazy(pattern string) *lazyRE { return &lazyRE{pattern: pattern} }

func (l *lazyRE) get() *regexp.Regexp {
	l.once.Do(func() {
		p := l.pattern
		if l.line {
			p = linePattern(p)
		}
		l.re = regexp.MustCompile(p)
	})
	return l.re
}

func (l *lazyRE) String() string                       { return l.get().String() }
func (l *lazyRE) MatchString(s string) bool            { return l.get().MatchString(s) }
func (l *lazyRE) FindStringIndex(s string) []int       { return l.get().FindStringIndex(s) }
func (l *lazyRE) FindStringSubmatch(s string) []string { return l.get().FindStringSubmatch(s) }
func (l *lazyRE) FindAllString(s string, n int) []string {
	return l.get().FindAllString(s, n)
}
func (l *lazyRE) FindAllStringIndex(s string, n int) [][]int {
	return l.get().FindAllStringIndex(s, n)
}
func (l *lazyRE) FindAllStringSubmatchIndex(s string, n int) [][]int {
	return l.get().FindAllStringSubmatchIndex(s, n)
}
func (l *lazyRE) ReplaceAllString(src, repl string) string {
	return l.get().ReplaceAllString(src, repl)
}
