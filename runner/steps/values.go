package steps

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cometa-es/cometa/runner/variables"
)

// ErrInvalidValue: a step's parameter holds a value the step can never
// accept (a URL that is not http or https, a loop count out of range).
// The error is a *ValueError.
var ErrInvalidValue = errors.New("invalid step value")

// ValueError is a parameter value that a step refuses, found before the
// run by Validate or at run time after substitution.
type ValueError struct {
	// Sentence is the step as written.
	Sentence string
	// Name is the parameter, e.g. "url".
	Name string
	// Value is the value checked: as written for Validate, substituted
	// at run time.
	Value string
	// Reason says what is wrong, naming the value.
	Reason string
}

func (e *ValueError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrInvalidValue) true.
func (e *ValueError) Is(target error) bool { return target == ErrInvalidValue }

// check validates one parameter value. whole is false when value is only
// the literal beginning of the value (variables complete it at run time):
// a check that cannot judge a beginning accepts it. The returned text is
// the reason, "" for a valid value.
type check func(value string, whole bool) string

// checkValues runs the checks of m's step. Before the run (literal) a
// value is checked as far as it holds no variables; at run time values
// are the substituted ones and are checked whole.
func checkValues(m Match, values map[string]string, literal bool) error {
	names := make([]string, 0, len(m.def.checks))
	for name := range m.def.checks {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		v, whole := values[name], true
		if literal {
			v, whole = variables.Literal(v)
		}
		if reason := m.def.checks[name](v, whole); reason != "" {
			errs = append(errs, &ValueError{Sentence: m.Sentence, Name: name, Value: values[name], Reason: reason})
		}
	}
	return errors.Join(errs...)
}

// schemePrefix is a URL scheme and its colon at the start of a text.
var schemePrefix = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// checkURL accepts only absolute http and https URLs with a host. Any
// other scheme would let a feature read what the browser can: files of
// the runner's machine (file:, view-source:file:), the browser's own pages
// (chrome:), or run script outside a page under test (javascript:, data:).
// Of a beginning it judges the scheme, when the beginning has one.
func checkURL(v string, whole bool) string {
	v = strings.TrimSpace(v)
	if !whole {
		m := schemePrefix.FindStringSubmatch(v)
		if m == nil || httpScheme(m[1]) {
			return ""
		}
		return fmt.Sprintf("the URL %q has scheme %q: only http and https URLs can be opened", v, strings.ToLower(m[1]))
	}
	if v == "" {
		return "the URL is empty"
	}
	u, err := url.Parse(v)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Sprintf("the URL %q is not valid: %v", v, err)
	}
	switch {
	case u.Scheme == "":
		return fmt.Sprintf("the URL %q is not absolute: give it with http:// or https://", v)
	case !httpScheme(u.Scheme):
		return fmt.Sprintf("the URL %q has scheme %q: only http and https URLs can be opened", v, u.Scheme)
	case u.Host == "":
		return fmt.Sprintf("the URL %q has no host", v)
	}
	return ""
}

func httpScheme(s string) bool {
	return strings.EqualFold(s, "http") || strings.EqualFold(s, "https")
}

// wholeIn checks a whole number from lo to hi; what names it in reasons
// ("the loop count").
func wholeIn(what string, lo, hi int) check {
	return func(v string, whole bool) string {
		if !whole {
			return ""
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Sprintf("%s %q is not a whole number", what, v)
		}
		if n < lo || n > hi {
			return fmt.Sprintf("%s %d is not between %d and %d", what, n, lo, hi)
		}
		return ""
	}
}

// anyWhole checks a whole number of any size that fits an int.
func anyWhole(what string) check { return wholeIn(what, math.MinInt, math.MaxInt) }

// pixelsIn checks a whole number of pixels from 1 to hi.
func pixelsIn(what string, hi int) check {
	return func(v string, whole bool) string {
		if !whole {
			return ""
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > hi {
			return fmt.Sprintf("%s %q is not a number of pixels from 1 to %d", what, v, hi)
		}
		return ""
	}
}

// finite parses a finite decimal number.
func finite(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// anyPixels checks a number of pixels, fractions and negatives allowed.
func anyPixels(what string) check {
	return func(v string, whole bool) string {
		if _, ok := finite(v); whole && !ok {
			return fmt.Sprintf("%s %q is not a number of pixels", what, v)
		}
		return ""
	}
}

// checkSleep checks a sleep's seconds: a number from 0 to the longest
// step timeout.
func checkSleep(v string, whole bool) string {
	if !whole {
		return ""
	}
	secs, ok := finite(v)
	if !ok || secs < 0 {
		return fmt.Sprintf("%q is not a number of seconds", v)
	}
	if secs > MaxTimeout.Seconds() {
		return fmt.Sprintf("a sleep of %s seconds is longer than the longest step timeout (%s seconds)",
			strings.TrimSpace(v), seconds(MaxTimeout))
	}
	return ""
}

// oneOf checks a value against a fixed list (case as listed).
func oneOf(what string, fold bool, allowed ...string) check {
	return func(v string, whole bool) string {
		if !whole {
			return ""
		}
		t := strings.TrimSpace(v)
		for _, a := range allowed {
			if t == a || (fold && strings.EqualFold(t, a)) {
				return ""
			}
		}
		return fmt.Sprintf("unknown %s %q: use one of %s", what, v, strings.Join(allowed, ", "))
	}
}
