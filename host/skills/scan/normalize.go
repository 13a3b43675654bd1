package scan

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// golang.org/x/text is not a dependency of hermes, so look-alikes are folded with the small
// table below rather than full Unicode confusables data. It covers what is used to disguise
// English keywords and commands in practice: Cyrillic, Greek and Armenian letters that look
// Latin, small capitals and IPA letters, fullwidth forms, mathematical alphanumerics, circled
// letters, and look-alike punctuation (dashes, quotes, slashes, spaces).
var confusables = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
	'ӏ': 'l', 'һ': 'h', 'ɡ': 'g', 'ү': 'y', 'ո': 'n', 'ց': 'g',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
	'Х': 'X', 'У': 'Y', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ԛ': 'Q', 'Ԝ': 'W', 'Ү': 'Y', 'Ӏ': 'I',
	// Greek
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'υ': 'u', 'χ': 'x', 'ε': 'e', 'τ': 't',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Armenian
	'օ': 'o', 'ս': 'u', 'հ': 'h', 'ա': 'w', 'ք': 'p',
	// Latin extended, IPA, small capitals, letterlike symbols
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɩ': 'i', 'ʏ': 'y', 'ɪ': 'i', 'ʟ': 'l', 'ɴ': 'n', 'ʀ': 'r', 'ʜ': 'h',
	'ɢ': 'g', 'ʙ': 'b', 'ᴀ': 'a', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ᴊ': 'j', 'ᴋ': 'k', 'ᴍ': 'm', 'ᴏ': 'o',
	'ᴘ': 'p', 'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ꜱ': 's', 'ℎ': 'h', 'ℓ': 'l', 'ℯ': 'e',
	'ℊ': 'g', 'ℴ': 'o', 'ſ': 's', '\u212a': 'K', 'ⅰ': 'i', 'ⅼ': 'l', 'ⅽ': 'c', 'ⅾ': 'd', 'ⅿ': 'm', 'Ⅰ': 'I', 'Ⅼ': 'L',
	// punctuation that shells and readers take for ASCII
	'‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '―': '-', '−': '-', '﹘': '-', '﹣': '-',
	'‘': '\'', '’': '\'', '‚': '\'', '‛': '\'', '′': '\'', '“': '"', '”': '"', '„': '"', '‟': '"', '″': '"',
	'∕': '/', '⁄': '/', '․': '.', 'ǀ': '|', '∣': '|', 'ː': ':', '꞉': ':', '∶': ':', '⁎': '*', '∗': '*',
	'\u00a0': ' ', '\u1680': ' ', '\u202f': ' ', '\u205f': ' ', '\u3000': ' ',
}

// foldRune maps a look-alike to ASCII; ok is false for every other rune.
func foldRune(r rune) (rune, bool) {
	if r < 0x80 {
		return r, false
	}
	if m, ok := confusables[r]; ok {
		return m, true
	}
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
		return r - 0xFF01 + '!', true
	case r >= 0x2000 && r <= 0x200A: // en/em/thin/hair spaces
		return ' ', true
	case r >= 0x1D400 && r <= 0x1D6A3: // mathematical bold, italic, script, fraktur, … letters
		off := (r - 0x1D400) % 52
		if off < 26 {
			return 'A' + off, true
		}
		return 'a' + off - 26, true
	case r >= 0x1D7CE && r <= 0x1D7FF: // mathematical digits
		return '0' + (r-0x1D7CE)%10, true
	case r >= 0x24B6 && r <= 0x24CF: // circled capitals
		return 'A' + r - 0x24B6, true
	case r >= 0x24D0 && r <= 0x24E9: // circled small letters
		return 'a' + r - 0x24D0, true
	}
	return r, false
}

// isInvisible reports characters that render as nothing (or only change direction) and are
// used to hide or split text.
func isInvisible(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x034F, r == 0x061C, r == 0x115F, r == 0x1160, r == 0x17B4, r == 0x17B5,
		r >= 0x180B && r <= 0x180E, r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E,
		r >= 0x2060 && r <= 0x206F, r == 0x3164, r >= 0xFE00 && r <= 0xFE0F, r == 0xFEFF, r == 0xFFA0,
		r >= 0x1D173 && r <= 0x1D17A, r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return false
}

// isTag reports Unicode tag characters, which mirror ASCII invisibly ("ASCII smuggling").
func isTag(r rune) bool { return r >= 0xE0000 && r <= 0xE007F }

// isBidi reports the explicit direction overrides and isolates used to make code read
// differently from how it runs ("Trojan Source").
func isBidi(r rune) bool { return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 }

// zeroWidthHides reports whether an invisible character at src[i:i+size] splits visible ASCII,
// which is how keywords are hidden from filters. Joiners between emoji or inside non-Latin
// scripts are ordinary typography and not reported.
func zeroWidthHides(src string, i, size int, r rune) bool {
	if isBidi(r) || r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF {
		return false // reported separately, or variation selectors (emoji presentation)
	}
	if r == 0xFEFF && i == 0 {
		return false // a byte-order mark
	}
	prev, _ := utf8.DecodeLastRuneInString(src[:i])
	next, _ := utf8.DecodeRuneInString(src[i+size:])
	if r == 0x200C || r == 0x200D {
		return prev < 0x80 && next < 0x80 && prev > ' ' && next > ' '
	}
	return true
}

// normalize builds the view an agent effectively reads: look-alikes folded to ASCII, invisible
// characters and tag characters removed, HTML character references decoded. Case is kept
// (the command classifier needs it); rules match case-insensitively.
func normalize(t text) text {
	src := t.s
	b := newBuilder(len(src))
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		line := t.line[i]
		switch {
		case r == '&':
			if dec, n, ok := htmlEntity(src[i:]); ok {
				if m, folded := foldRune(dec); folded {
					dec = m
				}
				if !isInvisible(dec) && !isTag(dec) {
					var enc [utf8.UTFMax]byte
					b.str(string(enc[:utf8.EncodeRune(enc[:], dec)]), line)
				}
				i += n
				continue
			}
			b.byte1('&', line)
		case r < 0x80:
			b.byte1(src[i], line)
		case isInvisible(r) || isTag(r):
			// dropped
		default:
			if m, ok := foldRune(r); ok {
				b.byte1(byte(m), line)
			} else {
				b.str(src[i:i+size], line)
			}
		}
		i += size
	}
	return b.text()
}

var namedEntities = map[string]rune{
	"lt": '<', "gt": '>', "amp": '&', "quot": '"', "apos": '\'', "nbsp": ' ', "sol": '/', "bsol": '\\',
	"vert": '|', "verbar": '|', "colon": ':', "period": '.', "dollar": '$', "lpar": '(', "rpar": ')',
	"zwsp": 0x200B, "zwj": 0x200D, "zwnj": 0x200C, "shy": 0xAD, "num": '#', "excl": '!', "tilde": '~',
}

// htmlEntity decodes a character reference at the start of s: &#105; &#x69; &lt;.
func htmlEntity(s string) (rune, int, bool) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return 0, 0, false
	}
	body := s[1:end]
	if body[0] == '#' {
		var v uint64
		var err error
		if len(body) > 1 && (body[1] == 'x' || body[1] == 'X') {
			v, err = strconv.ParseUint(body[2:], 16, 32)
		} else {
			v, err = strconv.ParseUint(body[1:], 10, 32)
		}
		if err != nil || v == 0 || v > unicode.MaxRune {
			return 0, 0, false
		}
		return rune(v), end + 1, true
	}
	if r, ok := namedEntities[strings.ToLower(body)]; ok {
		return r, end + 1, true
	}
	return 0, 0, false
}

// lookalikeWords finds words that mix ASCII letters with look-alikes (іgnore with a Cyrillic
// і), or use fullwidth or mathematical letters: ordinary text in Cyrillic or Greek is made
// of whole words in that script and is not reported. It returns each such word with its offset.
func lookalikeWords(src string) []struct {
	off  int
	word string
} {
	var out []struct {
		off  int
		word string
	}
	start := -1
	ascii, fake, styled := false, false, false
	flush := func(end int) {
		if start >= 0 && fake && (ascii || styled) {
			out = append(out, struct {
				off  int
				word string
			}{start, src[start:end]})
		}
		start, ascii, fake, styled = -1, false, false, false
	}
	for i, r := range src {
		letter := unicode.IsLetter(r) || unicode.IsDigit(r) || r >= 0x1D400 && r <= 0x1D7FF
		if !letter {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
		if r < 0x80 {
			ascii = true
			continue
		}
		if _, ok := foldRune(r); ok {
			fake = true
			if r >= 0xFF01 && r <= 0xFF5E || r >= 0x1D400 && r <= 0x1D7FF || r >= 0x24B6 && r <= 0x24E9 {
				styled = true
			}
		}
	}
	flush(len(src))
	return out
}
