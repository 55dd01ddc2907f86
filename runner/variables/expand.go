package variables

import (
	"strings"
)

// Mode says what Expand does with $NAME when the run has no such variable.
type Mode int

const (
	// Strict makes an undefined variable an error naming it.
	Strict Mode = iota
	// Lenient leaves an undefined $NAME as written. JavaScript code uses
	// it: `${x}` in a template literal and `$el` are not variables.
	Lenient
)

// Expand substitutes text in one pass, so substituted values are never
// scanned again:
//
//   - $NAME and ${NAME} (NAME: a letter or _ then letters, digits, _) by the
//     variable's value, decrypted if it is ciphertext. The longest name is
//     taken, so $user never rewrites the start of $username. $$ is a
//     literal $.
//   - %name by the job parameter name (e.g. %index, %js_return) when the
//     run has one; any other %word is left as written (date formats use %Y).
//
// Then a result that is itself ciphertext is decrypted, and dynamic dates
// (#today;<format>;<unit>=<+|-><n>) are replaced.
func (s *Set) Expand(text string, mode Mode) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if strings.ContainsAny(text, "$%") {
		var b strings.Builder
		b.Grow(len(text))
		for i := 0; i < len(text); {
			c := text[i]
			switch {
			case c == '$' && i+1 < len(text) && text[i+1] == '$':
				b.WriteByte('$')
				i += 2
			case c == '$' && i+1 < len(text) && text[i+1] == '{':
				n := identLen(text[i+2:])
				if n == 0 || i+2+n >= len(text) || text[i+2+n] != '}' {
					b.WriteByte(c)
					i++
					continue
				}
				name := text[i+2 : i+2+n]
				if err := s.writeVar(&b, name, text[i:i+3+n], mode); err != nil {
					return "", err
				}
				i += 3 + n
			case c == '$':
				n := identLen(text[i+1:])
				if n == 0 {
					b.WriteByte(c)
					i++
					continue
				}
				name := text[i+1 : i+1+n]
				if err := s.writeVar(&b, name, text[i:i+1+n], mode); err != nil {
					return "", err
				}
				i += 1 + n
			case c == '%':
				n := identLen(text[i+1:])
				if v, ok := s.params[text[i+1:i+1+n]]; ok && n > 0 {
					b.WriteString(v)
				} else {
					b.WriteString(text[i : i+1+n])
				}
				i += 1 + n
			default:
				b.WriteByte(c)
				i++
			}
		}
		text = b.String()
	}

	if strings.HasPrefix(text, s.opts.EncryptedPrefix) {
		plain, err := s.decrypt(text)
		if err != nil {
			return "", err
		}
		text = plain
	}
	return expandDates(text, s.opts.Now()), nil
}

func (s *Set) writeVar(b *strings.Builder, name, written string, mode Mode) error {
	v, ok, err := s.lookup(name)
	if err != nil {
		return err
	}
	if !ok {
		if mode == Lenient {
			b.WriteString(written)
			return nil
		}
		return &UndefinedError{Name: name}
	}
	b.WriteString(v)
	return nil
}

// identLen is the length of the identifier at the start of s.
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if letter || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return i
	}
	return len(s)
}

// References lists the variable names that text mentions as $NAME or
// ${NAME}, in order of first appearance, for "variables in use".
func References(text string) []string {
	var names []string
	seen := map[string]bool{}
	for i := 0; i < len(text); i++ {
		if text[i] != '$' || i+1 >= len(text) {
			continue
		}
		if text[i+1] == '$' {
			i++
			continue
		}
		start := i + 1
		if text[start] == '{' {
			start++
		}
		n := identLen(text[start:])
		if n == 0 {
			continue
		}
		name := text[start : start+n]
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		i = start + n - 1
	}
	return names
}
