// Package steps is Cometa's step language: one catalogue of step
// definitions, the matcher that turns a sentence into a definition and its
// values, and the executor that runs a feature's steps in a browser.
//
// The catalogue feeds three consumers: the API's action list
// (Catalogue.Actions), the API's validation of saved steps
// (Catalogue.Validate) and Session.Run.
package steps

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// StepType is the kind of a catalogue entry as the actions endpoint
// reports it. Every step of this runner drives a browser.
type StepType string

// StepTypeBrowser is the only step type this catalogue has.
const StepTypeBrowser StepType = "BROWSER"

// Action is one catalogue entry as GET /backend/api/actions/ lists it.
type Action struct {
	// Name is the step pattern, e.g. `Goto URL "{url}"` (action_name).
	Name string
	// Values is the number of `{` in the pattern, as Cometa counts them.
	Values int
	// Description says what the step does, with an example.
	Description string
	// StepType is BROWSER.
	StepType StepType
}

// Errors of this package; test with errors.Is.
var (
	// ErrUnknownStep: a sentence matches no step of the catalogue. The
	// error is an *UnknownStepError.
	ErrUnknownStep = errors.New("unknown step")
	// ErrInvalidFlow: Loop/End Loop or If/Else/End If do not pair up.
	ErrInvalidFlow = errors.New("invalid step structure")
	// ErrNoSteps: a run was given no steps.
	ErrNoSteps = errors.New("no steps found in the feature")
)

// UnknownStepError is a sentence no step matches, with the closest one.
type UnknownStepError struct {
	Sentence string
	// Closest is the pattern most similar to the sentence.
	Closest string
}

func (e *UnknownStepError) Error() string {
	return fmt.Sprintf("unknown step: %s (the closest known step is: %s)", e.Sentence, e.Closest)
}

// Is makes errors.Is(err, ErrUnknownStep) true.
func (e *UnknownStepError) Is(target error) bool { return target == ErrUnknownStep }

// kind is the role of a definition in the executor's control flow.
type kind int

const (
	kindAction kind = iota
	kindComment
	kindLoop
	kindEndLoop
	kindBreakLoop
	kindContinueLoop
	kindIf
	kindElse
	kindEndIf
	kindSubfeature
)

// definition is one step of the catalogue.
type definition struct {
	pattern     string
	description string
	kind        kind
	run         handler
	// lenient names parameters holding JavaScript, where an undefined
	// $name is left as written instead of being an error.
	lenient []string
	// docstring names the parameter a docstring replaces, if any.
	docstring string
	// raw steps get no substitution at all (comments, sub-features).
	raw bool
	// noScreenshot steps never take a screenshot (the browser is gone).
	noScreenshot bool
	// checks validate parameter values by name: Validate runs them on the
	// values as written (as far as they hold no variables), the executor
	// on the substituted values before the handler runs.
	checks map[string]check

	re      *regexp.Regexp
	names   []string
	literal int // characters of literal text: the more, the more specific
	shape   string
}

// Catalogue is the set of known steps. It is immutable after NewCatalogue
// and safe for concurrent use.
type Catalogue struct {
	defs []*definition
}

// NewCatalogue returns the catalogue of every step this runner executes.
func NewCatalogue() *Catalogue {
	var all []definition
	for _, family := range [][]definition{
		navigationSteps(), windowSteps(), mouseSteps(), keyboardSteps(), formSteps(),
		assertionSteps(), scrollSteps(), javascriptSteps(), variableSteps(), controlSteps(),
	} {
		all = append(all, family...)
	}
	c := &Catalogue{}
	seen := map[string]bool{}
	for i := range all {
		d := &all[i]
		if seen[d.pattern] {
			panic("steps: duplicate pattern " + d.pattern)
		}
		seen[d.pattern] = true
		compile(d)
		c.defs = append(c.defs, d)
	}
	return c
}

var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// compile turns a behave "parse" pattern into an anchored regular
// expression: literal text as written, each {name} a lazy capture.
func compile(d *definition) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(d.pattern, -1) {
		lit := d.pattern[last:m[0]]
		b.WriteString(regexp.QuoteMeta(lit))
		d.literal += utf8.RuneCountInString(lit)
		name := d.pattern[m[2]:m[3]]
		d.names = append(d.names, name)
		b.WriteString(`(.*?)`)
		last = m[1]
	}
	lit := d.pattern[last:]
	b.WriteString(regexp.QuoteMeta(lit))
	d.literal += utf8.RuneCountInString(lit)
	b.WriteString(`$`)
	d.re = regexp.MustCompile(b.String())
	d.shape = shapeOf(placeholder.ReplaceAllString(d.pattern, ""))
}

// Actions lists the catalogue for the actions endpoint, in catalogue order.
func (c *Catalogue) Actions() []Action {
	out := make([]Action, 0, len(c.defs))
	for _, d := range c.defs {
		out = append(out, Action{
			Name:        d.pattern,
			Values:      strings.Count(d.pattern, "{"),
			Description: d.description,
			StepType:    StepTypeBrowser,
		})
	}
	return out
}

// Match is a sentence matched to its step.
type Match struct {
	// Pattern is the matched step's pattern.
	Pattern string
	// Sentence is the step line as written (without its docstring).
	Sentence string
	// Values are the quoted parameters by name, as written (before
	// variable substitution).
	Values map[string]string
	// Docstring is the multi-line text given with the step, if any.
	Docstring string

	def *definition
}

// Match finds the step a step_content belongs to. A content whose first
// line is followed by a line of """ (or ”') carries the text up to the
// closing quotes as a docstring. When several steps match, the one with
// the most literal text wins (`I can see "x" on page` over `I can see
// "x"`).
func (c *Catalogue) Match(content string) (Match, error) {
	sentence, doc := splitDocstring(content)
	var best *definition
	var values []string
	for _, d := range c.defs {
		m := d.re.FindStringSubmatch(sentence)
		if m == nil {
			continue
		}
		if best == nil || d.literal > best.literal {
			best, values = d, m[1:]
		}
	}
	if best == nil {
		return Match{}, &UnknownStepError{Sentence: sentence, Closest: c.Closest(sentence)}
	}
	out := Match{Pattern: best.pattern, Sentence: sentence, Docstring: doc, def: best,
		Values: make(map[string]string, len(values))}
	for i, name := range best.names {
		out.Values[name] = values[i]
	}
	return out, nil
}

// Validate reports whether content is a known step whose values it can
// run. For an unknown one the error is an *UnknownStepError naming the
// closest step; for a value the step refuses (a URL that is not http or
// https, a number out of range) it is one *ValueError per value. Values
// holding variables ($NAME, %index, #today) are checked only as far as
// they are literal: the rest is checked when the step runs.
func (c *Catalogue) Validate(content string) error {
	m, err := c.Match(content)
	if err != nil {
		return err
	}
	return checkValues(m, m.valuesWithDocstring(), true)
}

// valuesWithDocstring is Values with the docstring in the parameter it
// replaces, as the executor passes them.
func (m Match) valuesWithDocstring() map[string]string {
	if m.def.docstring == "" || m.Docstring == "" {
		return m.Values
	}
	out := make(map[string]string, len(m.Values)+1)
	for k, v := range m.Values {
		out[k] = v
	}
	out[m.def.docstring] = m.Docstring
	return out
}

// Closest returns the pattern most similar to sentence: quoted values are
// ignored and the rest compared case-insensitively, by edit distance over
// words first (a missing or extra word) and over characters second (a
// typo).
func (c *Catalogue) Closest(sentence string) string {
	target := shapeOf(sentence)
	words := strings.Fields(target)
	best, bestScore := "", -1
	for _, d := range c.defs {
		score := 1000*levenshtein(words, strings.Fields(d.shape)) + levenshtein([]rune(target), []rune(d.shape))
		if bestScore < 0 || score < bestScore {
			best, bestScore = d.pattern, score
		}
	}
	return best
}

var quoted = regexp.MustCompile(`"[^"]*"`)

// shapeOf is a sentence without its quoted values, lower case, single
// spaced: `Goto URL "x"` and `Goto URL "{url}"` have the same shape.
func shapeOf(s string) string {
	s = quoted.ReplaceAllString(s, `""`)
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// levenshtein is the edit distance between two sequences.
func levenshtein[T comparable](ra, rb []T) int {
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// splitDocstring separates a step line from the docstring written after it
// between lines of """ (or ”').
func splitDocstring(content string) (sentence, doc string) {
	content = strings.ReplaceAll(content, "\r\n", "\n")
	content = strings.ReplaceAll(content, "\u00a0", " ")
	lines := strings.Split(content, "\n")
	for i := 1; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if fence != `"""` && fence != `'''` {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == fence {
				end = j
				break
			}
		}
		head := strings.TrimSpace(strings.Join(lines[:i], " "))
		return head, dedent(lines[i+1 : end])
	}
	return strings.TrimSpace(content), ""
}

// dedent removes the indentation common to all non-blank lines.
func dedent(lines []string) string {
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			l = l[indent:]
		}
		out[i] = l
	}
	return strings.Join(out, "\n")
}
