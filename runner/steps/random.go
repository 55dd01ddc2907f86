package steps

import (
	"fmt"
	"math/rand/v2"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

var (
	firstNames = []string{"Alice", "Bruno", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo",
		"Ines", "Jonas", "Keiko", "Luca", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara"}
	lastNames = []string{"Almeida", "Berger", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia",
		"Horvat", "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov"}
	cities    = []string{"Lisbon", "Berlin", "Madrid", "Vienna", "Oslo", "Prague", "Dublin", "Turin", "Ghent", "Tartu"}
	countries = []string{"Portugal", "Germany", "Spain", "Austria", "Norway", "Czechia", "Ireland",
		"Italy", "Belgium", "Estonia"}
	words = []string{"amber", "breeze", "cobalt", "delta", "ember", "fjord", "granite", "harbor",
		"iris", "juniper", "kestrel", "lumen", "meadow", "nimbus", "orchid", "pebble"}
)

func pick(list []string) string { return list[rand.IntN(len(list))] }

func digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + rand.IntN(10)))
	}
	return b.String()
}

// randomKinds are the kinds "Generate random" knows.
//
// TODO(runner): Cometa offers every Faker provider; this is a handful of
// common ones with small built-in word lists.
var randomKinds = map[string]func() string{
	"first_name": func() string { return pick(firstNames) },
	"last_name":  func() string { return pick(lastNames) },
	"name":       func() string { return pick(firstNames) + " " + pick(lastNames) },
	"email": func() string {
		return strings.ToLower(pick(firstNames)+"."+pick(lastNames)) + digits(3) + "@example.org"
	},
	"phone_number": func() string { return "+1 555 " + digits(3) + " " + digits(4) },
	"city":         func() string { return pick(cities) },
	"country":      func() string { return pick(countries) },
	"postalcode":   func() string { return digits(5) },
	"uuid":         func() string { return uuid.NewString() },
	"uid":          func() string { return uuid.NewString() },
	"number":       func() string { return strconv.Itoa(rand.IntN(1000000)) },
	"word":         func() string { return pick(words) },
	"day_of_week":  func() string { return time.Weekday(rand.IntN(7)).String() },
	"day_of_month": func() string { return strconv.Itoa(1 + rand.IntN(28)) },
}

func randomKindNames() []string {
	names := make([]string, 0, len(randomKinds))
	for k := range randomKinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// maxRepeat bounds *, + and {n,} when generating from a pattern.
const maxRepeat = 8

// randomMatching returns a random string that the regular expression
// matches (anchors and word boundaries are ignored).
func randomMatching(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", failf("invalid regular expression %q: %s", pattern, err)
	}
	var b strings.Builder
	if err := generate(&b, re.Simplify(), 0); err != nil {
		return "", failf("cannot generate a string for %q: %s", pattern, err)
	}
	return b.String(), nil
}

func generate(b *strings.Builder, re *syntax.Regexp, depth int) error {
	if depth > 100 || b.Len() > 10000 {
		return fmt.Errorf("the pattern is too large")
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 && rand.IntN(2) == 0 {
				r = unicode.SimpleFold(r)
			}
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		var total int
		for i := 0; i+1 < len(re.Rune); i += 2 {
			total += int(re.Rune[i+1]-re.Rune[i]) + 1
		}
		if total == 0 {
			return fmt.Errorf("an empty character class")
		}
		n := rand.IntN(total)
		for i := 0; i+1 < len(re.Rune); i += 2 {
			size := int(re.Rune[i+1]-re.Rune[i]) + 1
			if n < size {
				b.WriteRune(re.Rune[i] + rune(n))
				break
			}
			n -= size
		}
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte(byte('a' + rand.IntN(26)))
	case syntax.OpCapture:
		return generate(b, re.Sub[0], depth+1)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if err := generate(b, sub, depth+1); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		return generate(b, re.Sub[rand.IntN(len(re.Sub))], depth+1)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, maxRepeat
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + maxRepeat
			}
		}
		for range lo + rand.IntN(hi-lo+1) {
			if err := generate(b, re.Sub[0], depth+1); err != nil {
				return err
			}
		}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	default:
		return fmt.Errorf("unsupported construct %s", re.Op)
	}
	return nil
}
