package steps

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
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
