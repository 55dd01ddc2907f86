// Package slug derives the URL- and path-safe names Cometa keeps beside
// department, application and feature names.
package slug

import (
	"strings"

	"github.com/gosimple/unidecode"
)

// Make returns the slug of s the way Cometa's slugifier makes it: letters
// transliterated to ASCII, case kept, apostrophes dropped, every other run
// of characters that are not letters, digits or '_' turned into one '-',
// and no '-' at either end. "Any text" gives "Any-text", "Qualität" gives
// "Qualitat".
//
// TODO(slug): transliteration is gosimple/unidecode's table, a port of the
// one Cometa's slugifier uses; scripts where the two tables differ give
// other slugs than Cometa would.
func Make(s string) string {
	s = unidecode.Unidecode(s)
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r == '\'':
			continue
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return b.String()
}
