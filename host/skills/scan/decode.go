package scan

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	// Escaped bytes in string literals: \x63\x75…, \143\165…, \u0063…
	escapesRE  = lazy(`(?:\\x[0-9A-Fa-f]{2}|\\[0-7]{3}|\\u00[0-9A-Fa-f]{2}){8,}`)
	charCodeRE = lazy(`(?i)fromCharCode\(\s*((?:\d+\s*,\s*)+\d+)\s*\)|((?:\bchr\(\s*\d+\s*\)\s*[+.,]\s*){3,}\bchr\(\s*\d+\s*\))`)
	charCodeM  matcher // charCodeRE with its filter (set in init)
	digitsRE   = lazy(`\d+`)
)

// Blob lengths worth decoding: 40 base64 characters (30 bytes), and 80 hex digits (40
// bytes), so SHA-256 digests (64 hex digits) are never taken for hidden text.
const (
	minBase64Run = 40
	minHexRun    = 80
)

// blobRuns finds maximal runs of base64 characters (both alphabets) at least minBase64Run
// long, in one linear pass: a regexp for this is slow on large files.
func blobRuns(s string) [][2]int {
	var out [][2]int
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isBase64Char(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minBase64Run {
			out = append(out, [2]int{start, i})
		}
		start = -1
	}
	return out
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// decodeBlobs finds encoded text (base64, hex, escaped bytes, character codes), decodes what
// turns out to be text, and scans that too. Encoded text in a skill is itself worth a look:
// instructions and commands have no reason to hide. Blobs that decode to binary (images, key
// material, digests) are left alone, except long escaped or hex byte strings, which look like
// shellcode.
func (s *scanner) decodeBlobs(c *ctx, n text) {
	if c.depth >= maxDecodeDepth {
		return
	}
	for _, run := range blobRuns(n.s) {
		blob := strings.TrimPrefix(n.s[run[0]:run[1]], "0x")
		line := n.lineAt(run[0])
		if isHex(blob) {
			// Digests and hex dumps; long hex is decoded as hex.
			if len(blob) < minHexRun || len(blob)%2 != 0 {
				continue
			}
			dec, err := hex.DecodeString(blob)
			if err != nil {
				continue
			}
			switch {
			case textual(string(dec)):
				c.add(line, Obfuscation, Caution, "obfuscation-hex", "contains hex-encoded text", "hex → "+string(dec))
				s.nested(c, line, "hex:", string(dec), kindShell)
			case len(blob) >= 256:
				c.add(line, Obfuscation, Caution, "obfuscation-hex-blob", "contains a long hex-encoded binary blob", blob)
			}
			continue
		}
		if dec, ok := decodeBase64(blob); ok && textual(dec) {
			c.add(line, Obfuscation, Caution, "obfuscation-base64", "contains base64-encoded text", "base64 → "+dec)
			s.nested(c, line, "base64:", dec, kindShell)
		}
	}
	for _, m := range escapesRE.FindAllStringIndex(n.s, -1) {
		dec := unescapeBytes(n.s[m[0]:m[1]])
		line := n.lineAt(m[0])
		if textual(dec) {
			c.add(line, Obfuscation, Caution, "obfuscation-escapes", "spells text out as escaped bytes", "escapes → "+dec)
			s.nested(c, line, "escapes:", dec, kindShell)
		} else if len(dec) >= 16 {
			c.add(line, Obfuscation, Caution, "obfuscation-shellcode", "contains escaped binary bytes, as shellcode does", n.s[m[0]:m[1]])
		}
	}
	for _, m := range charCodeM.findAll(n.s, lowerASCII(n.s)) {
		var b strings.Builder
		for _, d := range digitsRE.FindAllString(n.s[m[0]:m[1]], -1) {
			if v, err := strconv.Atoi(d); err == nil && v > 0 && v < 0x110000 {
				b.WriteRune(rune(v))
			}
		}
		if dec := b.String(); textual(dec) || len(dec) >= 4 {
			line := n.lineAt(m[0])
			s.nested(c, line, "charcodes:", dec, kindShell)
		}
	}
}

// decodeBase64 tries standard and URL-safe alphabets, padded or not. A run may hold padding
// in the middle (two blobs side by side): only the first is decoded.
func decodeBase64(blob string) (string, bool) {
	trimmed := blob
	if i := strings.IndexByte(trimmed, '='); i >= 0 {
		trimmed = trimmed[:i]
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(trimmed); err == nil {
			return string(b), true
		}
	}
	return "", false
}

// textual reports whether decoded bytes are readable text: valid UTF-8, at least 12
// characters, almost all printable, with some letters. Random binary practically never is.
func textual(s string) bool {
	if len(s) < 12 || !utf8.ValidString(s) {
		return false
	}
	printable, letters, total := 0, 0, 0
	for _, r := range s {
		total++
		switch {
		case r == '\n' || r == '\r' || r == '\t' || r >= 0x20 && r != 0x7f && r != utf8.RuneError:
			printable++
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			letters++
		}
	}
	return printable*100 >= total*97 && letters*4 >= total
}

// unescapeBytes decodes \xNN, \NNN (octal) and \u00NN escapes.
func unescapeBytes(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			i++
			continue
		}
		switch s[i+1] {
		case 'x':
			v, _ := strconv.ParseUint(s[i+2:i+4], 16, 8)
			b = append(b, byte(v))
			i += 4
		case 'u':
			v, _ := strconv.ParseUint(s[i+2:i+6], 16, 8)
			b = append(b, byte(v))
			i += 6
		default:
			v, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b = append(b, byte(v))
			i += 4
		}
	}
	return string(b)
}
