package variables

import "strings"

// Literal returns what Expand makes of the beginning of text whatever the
// run's variables, parameters and clock are: the text up to its first
// $NAME, ${NAME}, %name or #today, with $$ already turned into $. whole
// reports that this is all of text, so that Expand can only return prefix
// itself. A value that is ciphertext (DefaultEncryptedPrefix) is decrypted
// by Expand, so nothing of it is literal.
//
// Callers check step parameters before a run with it (a saved step whose
// value can never be valid is refused); a value that is not whole can be
// checked only as far as its prefix goes.
func Literal(text string) (prefix string, whole bool) {
	var b strings.Builder
	b.Grow(len(text))
	whole = true
scan:
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '$' && i+1 < len(text) && text[i+1] == '$':
			b.WriteByte('$')
			i += 2
		case c == '$' && i+1 < len(text) && text[i+1] == '{':
			n := identLen(text[i+2:])
			if n > 0 && i+2+n < len(text) && text[i+2+n] == '}' {
				whole = false
				break scan
			}
			b.WriteByte(c)
			i++
		case c == '$' && identLen(text[i+1:]) > 0, c == '%' && identLen(text[i+1:]) > 0:
			whole = false
			break scan
		default:
			b.WriteByte(c)
			i++
		}
	}
	prefix = b.String()
	if at := strings.Index(prefix, "#today"); at >= 0 {
		prefix, whole = prefix[:at], false
	}
	if strings.HasPrefix(prefix, DefaultEncryptedPrefix) {
		return "", false
	}
	return prefix, whole
}
