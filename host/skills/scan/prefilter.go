package scan

import (
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
)

// Go's regexp runs large case-insensitive alternations over long text with its slowest engine
// (about 10 s for 1 MiB and every rule). Most lines cannot match most rules, so each rule is
// run only on the lines that contain one of the literals every match of it must contain,
// computed from the pattern itself. The filter is exact: it skips only lines where the pattern
// cannot match (patterns here never match across a line break), so results do not change.

// matcher is a regexp with its required literals.
type matcher struct {
	re *lazyRE
	// keys: every match contains one of these (lower case). nil means nothing is known, and
	// the regexp runs over the whole text.
	keys []string
}

// prepare derives the filters of every rule, once, before the first scan (not at start-up:
// parsing every pattern costs milliseconds that commands which never scan should not pay).
var prepare = sync.OnceFunc(func() {
	for i := range lineRules {
		lineRules[i].m = newMatcher(lineRules[i].re)
	}
	for i := range proseRules {
		proseRules[i].m = newMatcher(proseRules[i].re)
	}
	for i := range pairRules {
		pairRules[i].firstM, pairRules[i].thenM = newMatcher(pairRules[i].first), newMatcher(pairRules[i].then)
	}
	for i := range credentialRules {
		credentialRules[i].m = newMatcher(credentialRules[i].re)
	}
	installM = newMatcher(installRE)
	networkM = newMatcher(networkRE)
	charCodeM = newMatcher(charCodeRE)
	for _, re := range secretRefREs {
		secretRefMs = append(secretRefMs, newMatcher(re))
	}
	assignMs = []matcher{newMatcher(shellAssignRE), newMatcher(scriptAssignRE)}
})

func newMatcher(re *lazyRE) matcher {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil { // cannot happen: re compiled from the same string
		return matcher{re: re}
	}
	return matcher{re: re, keys: requiredLiterals(parsed.Simplify())}
}

// requiredLiterals returns lower-case strings one of which occurs in every match of re, or
// nil when there is no such set (a match could be anything, or empty).
func requiredLiterals(re *syntax.Regexp) []string {
	if set, ok := exactSet(re); ok {
		return usable(set)
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part must match, so any part's set will do: take the most selective one
		// (longest shortest key, then fewest keys). Runs of parts with exact sets are
		// multiplied out first (the parser factors "nc|ncat" into n(?:c|cat); this puts the
		// n back).
		var best []string
		consider := func(set []string) {
			if set = usable(set); set != nil && (best == nil || betterKeys(set, best)) {
				best = set
			}
		}
		var run []string
		inRun := false
		for _, sub := range re.Sub {
			if set, ok := exactSet(sub); ok {
				if !inRun {
					run, inRun = []string{""}, true
				}
				if run = product(run, set); run == nil {
					inRun = false
				}
				if inRun {
					consider(run)
				}
				consider(set)
				continue
			}
			inRun = false
			consider(requiredLiterals(sub))
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			set := requiredLiterals(sub)
			if set == nil {
				return nil
			}
			all = append(all, set...)
		}
		slices.Sort(all)
		return slices.Compact(all)
	}
	return nil
}

// maxExact bounds the exact sets multiplied out.
const maxExact = 64

// exactSet returns every string re can match (lower case), when that is a small finite set.
func exactSet(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(re.Rune))}, true
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpCapture:
		return exactSet(re.Sub[0])
	case syntax.OpQuest:
		set, ok := exactSet(re.Sub[0])
		if !ok {
			return nil, false
		}
		return append(set, ""), true
	case syntax.OpCharClass:
		// Small classes only, such as [ec] or the [Kk] of a case-folded letter.
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(set) >= 8 {
					return nil, false
				}
				set = append(set, strings.ToLower(string(r)))
			}
		}
		slices.Sort(set)
		return slices.Compact(set), true
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			set, ok := exactSet(sub)
			if !ok || len(all)+len(set) > maxExact {
				return nil, false
			}
			all = append(all, set...)
		}
		return all, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			set, ok := exactSet(sub)
			if !ok {
				return nil, false
			}
			if out = product(out, set); out == nil {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

// product concatenates every string of a with every string of b; nil when too many.
func product(a, b []string) []string {
	if len(a)*len(b) > maxExact {
		return nil
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// usable returns set sorted and deduplicated, or nil when it contains the empty string (a
// match may then contain no literal at all).
func usable(set []string) []string {
	if len(set) == 0 || slices.Contains(set, "") {
		return nil
	}
	set = slices.Clone(set)
	slices.Sort(set)
	return slices.Compact(set)
}

func betterKeys(a, b []string) bool {
	minLen := func(ks []string) int {
		n := 1 << 30
		for _, k := range ks {
			n = min(n, len(k))
		}
		return n
	}
	if ma, mb := minLen(a), minLen(b); ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

// lowerASCII lower-cases ASCII letters only, keeping every byte offset. normalize has folded
// the non-ASCII letters whose case folds into ASCII (Kelvin sign, long s), so a lower-case
// literal occurs here wherever the case-insensitive pattern could match.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// findAll is re.FindAllStringIndex(s, -1), run only on the lines of s that contain a key.
// lower is lowerASCII(s).
func (m matcher) findAll(s, lower string) [][]int {
	if m.keys == nil {
		return m.re.FindAllStringIndex(s, -1)
	}
	var starts []int
	for _, k := range m.keys {
		for off := 0; off < len(lower); {
			i := strings.Index(lower[off:], k)
			if i < 0 {
				break
			}
			i += off
			starts = append(starts, strings.LastIndexByte(lower[:i], '\n')+1)
			end := strings.IndexByte(lower[i:], '\n')
			if end < 0 {
				break
			}
			off = i + end + 1
		}
	}
	if len(starts) == 0 {
		return nil
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	var out [][]int
	for _, start := range starts {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		for _, loc := range m.re.FindAllStringIndex(s[start:end], -1) {
			out = append(out, []int{loc[0] + start, loc[1] + start})
		}
	}
	return out
}

// findAllSubmatch is findAll for FindAllStringSubmatchIndex.
func (m matcher) findAllSubmatch(s, lower string) [][]int {
	var out [][]int
	for _, line := range m.findAll(s, lower) {
		// Re-run with submatches on the matched line only; the match is found again first.
		start := strings.LastIndexByte(s[:line[0]], '\n') + 1
		end := strings.IndexByte(s[line[0]:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += line[0]
		}
		for _, loc := range m.re.FindAllStringSubmatchIndex(s[start:end], -1) {
			if loc[0]+start != line[0] {
				continue
			}
			for i := range loc {
				if loc[i] >= 0 {
					loc[i] += start
				}
			}
			out = append(out, loc)
		}
	}
	return out
}

// matchString is re.MatchString(s) with the filter.
func (m matcher) matchString(s, lower string) bool {
	if m.keys != nil {
		found := false
		for _, k := range m.keys {
			if strings.Contains(lower, k) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return m.re.MatchString(s)
}
