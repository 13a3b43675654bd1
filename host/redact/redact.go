// Package redact replaces secret values with [REDACTED:NAME] before text is stored, printed,
// logged or sent to a model.
package redact

import (
	"sort"
	"strings"
)

// MinLength is the shortest value redacted: shorter ones ("1", "yes") would mangle ordinary text
// and are not secrets worth the name.
const MinLength = 8

// Redactor replaces known secret values. The zero value and nil redact nothing.
type Redactor struct {
	r *strings.Replacer
}

// New returns a redactor for the values of secrets (name → value), e.g. the whole of .env.
func New(secrets map[string]string) *Redactor {
	type pair struct{ name, value string }
	var pairs []pair
	for name, value := range secrets {
		if len(value) >= MinLength {
			pairs = append(pairs, pair{name, value})
		}
	}
	if len(pairs) == 0 {
		return &Redactor{}
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(pairs, func(i, j int) bool {
		if len(pairs[i].value) != len(pairs[j].value) {
			return len(pairs[i].value) > len(pairs[j].value)
		}
		return pairs[i].name < pairs[j].name
	})
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.value, "[REDACTED:"+p.name+"]")
	}
	return &Redactor{r: strings.NewReplacer(args...)}
}

// String returns s with every secret value replaced.
func (r *Redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Bytes is String for byte slices.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || r.r == nil {
		return b
	}
	return []byte(r.r.Replace(string(b)))
}
