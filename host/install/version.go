package install

import (
	"strconv"
	"strings"
)

// compareVersions orders two semantic versions (as abi/manifest accepts them): -1, 0 or +1.
// Build metadata is ignored; a pre-release is lower than its release; pre-release identifiers
// compare numerically when both are numbers, else as text, and a shorter list is lower.
func compareVersions(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	aCore, aPre, _ := strings.Cut(a, "-")
	bCore, bPre, _ := strings.Cut(b, "-")
	if c := compareDotted(strings.Split(aCore, "."), strings.Split(bCore, "."), true); c != 0 {
		return c
	}
	switch {
	case aPre == bPre:
		return 0
	case aPre == "":
		return 1
	case bPre == "":
		return -1
	}
	return compareDotted(strings.Split(aPre, "."), strings.Split(bPre, "."), false)
}

func compareDotted(a, b []string, numeric bool) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		an, aErr := strconv.ParseUint(a[i], 10, 64)
		bn, bErr := strconv.ParseUint(b[i], 10, 64)
		switch {
		case aErr == nil && bErr == nil:
			if an != bn {
				return cmpInt(an, bn)
			}
		case numeric || (aErr != nil && bErr != nil):
			if a[i] != b[i] {
				return strings.Compare(a[i], b[i])
			}
		case aErr == nil: // numeric identifiers are lower than alphanumeric ones
			return -1
		default:
			return 1
		}
	}
	return cmpInt(uint64(len(a)), uint64(len(b)))
}

func cmpInt(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
