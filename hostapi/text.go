package hostapi

import (
	"unicode"
	"unicode/utf8"
)

// CheckText is the one rule for text an admin or a client stores (a name,
// a label, a description): valid UTF-8, at most maxChars characters (runes,
// as a VARCHAR column counts them), and no control characters. Control
// characters (NUL, escape sequences, C1 codes) and the Unicode
// bidirectional overrides and isolates, which make a name read differently
// from what it is, are refused; multiline allows newlines and tabs, for
// descriptions. An empty string passes: whether a field may be empty is
// the caller's rule. The error is a CodeInvalid naming field.
func CheckText(field, s string, maxChars int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	}
	n := 0
	for i, r := range s {
		n++
		if multiline && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) {
			return Invalid(field, "has the control character %U at byte %d", r, i)
		}
	}
	if n > maxChars {
		return Invalid(field, "is %d characters long, at most %d fit", n, maxChars)
	}
	return nil
}

// isBidiControl reports the explicit bidirectional formatting characters
// (embeddings, overrides, isolates and the marks).
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}
