package steps

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// flow pairs the control steps of a step list: for a Loop its End Loop, for
// an If its Else (or -1) and End If, for an Else its End If.
type flow struct {
	end    []int // Loop -> End Loop, If -> End If, Else -> End If
	elseAt []int // If -> Else or -1
}

// buildFlow checks that loops and conditions pair up: loops do not nest
// (as in Cometa), conditions may, a block closes inside the block that
// opened it, and Break/Continue Loop appear only inside a loop.
func buildFlow(matches []Match) (flow, error) {
	f := flow{end: make([]int, len(matches)), elseAt: make([]int, len(matches))}
	for i := range f.end {
		f.end[i], f.elseAt[i] = -1, -1
	}
	type open struct {
		at int
		k  kind
	}
	var stack []open
	loopDepth := 0
	var errs []error
	fail := func(i int, format string, args ...any) {
		errs = append(errs, &StepError{Index: i, Sentence: matches[i].Sentence, Err: fmt.Errorf(format, args...)})
	}
	for i, m := range matches {
		switch m.def.kind {
		case kindLoop:
			if loopDepth > 0 {
				fail(i, "loops cannot be nested")
			}
			loopDepth++
			stack = append(stack, open{i, kindLoop})
		case kindIf:
			stack = append(stack, open{i, kindIf})
		case kindElse:
			if len(stack) == 0 || stack[len(stack)-1].k != kindIf {
				fail(i, "Else without an open If")
				continue
			}
			top := stack[len(stack)-1].at
			if f.elseAt[top] >= 0 {
				fail(i, "a second Else for the If of step %d", top+1)
				continue
			}
			f.elseAt[top] = i
		case kindEndIf:
			if len(stack) == 0 || stack[len(stack)-1].k != kindIf {
				fail(i, "End If without an open If")
				continue
			}
			top := stack[len(stack)-1].at
			stack = stack[:len(stack)-1]
			f.end[top] = i
			if e := f.elseAt[top]; e >= 0 {
				f.end[e] = i
			}
		case kindEndLoop:
			if len(stack) == 0 || stack[len(stack)-1].k != kindLoop {
				fail(i, "End Loop without an open Loop")
				continue
			}
			f.end[stack[len(stack)-1].at] = i
			stack = stack[:len(stack)-1]
			loopDepth--
		case kindBreakLoop, kindContinueLoop:
			if loopDepth == 0 {
				fail(i, "outside of a Loop")
			}
		}
	}
	for _, o := range stack {
		if o.k == kindLoop {
			fail(o.at, "Loop without End Loop")
		} else {
			fail(o.at, "If without End If")
		}
	}
	if len(errs) > 0 {
		return flow{}, fmt.Errorf("%w: %w", ErrInvalidFlow, errors.Join(errs...))
	}
	return f, nil
}

// StepError is a problem of one step of a step list, at its 0-based
// Index; its text names the 1-based position.
type StepError struct {
	Index int
	// Sentence is the step as written, when Err does not name it already.
	Sentence string
	Err      error
}

func (e *StepError) Error() string {
	if e.Sentence == "" {
		return fmt.Sprintf("step %d: %v", e.Index+1, e.Err)
	}
	return fmt.Sprintf("step %d %q: %v", e.Index+1, e.Sentence, e.Err)
}

// Unwrap returns Err.
func (e *StepError) Unwrap() error { return e.Err }

// StepIndex returns Index, for callers that find it through an interface
// (the domain's feature validation maps it to the step's position).
func (e *StepError) StepIndex() int { return e.Index }

// ValidateFlow checks a feature's step contents as a whole: every step is
// known and the control steps pair up. Each problem is a *StepError.
func (c *Catalogue) ValidateFlow(contents []string) error {
	matches, err := c.matchAll(contents)
	if err != nil {
		return err
	}
	_, err = buildFlow(matches)
	return err
}

func (c *Catalogue) matchAll(contents []string) ([]Match, error) {
	matches := make([]Match, len(contents))
	var errs []error
	for i, content := range contents {
		m, err := c.Match(content)
		if err != nil {
			errs = append(errs, &StepError{Index: i, Err: err})
			continue
		}
		matches[i] = m
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return matches, nil
}

// SubfeatureRef is the feature a "Run feature with id/name ... before
// continuing" step refers to. Exactly one of ID and Name is set.
type SubfeatureRef struct {
	ID   int
	Name string
}

var (
	subfeatureID   = regexp.MustCompile(`^Run feature with id "(.*)" before continuing$`)
	subfeatureName = regexp.MustCompile(`^Run feature with name "(.*)" before continuing$`)
)

// ParseSubfeature recognises a sub-feature step. ok is false for any other
// sentence; an id that is not a positive integer is an error. The domain
// expands these steps when a feature is saved; at run time they do nothing.
func ParseSubfeature(content string) (ref SubfeatureRef, ok bool, err error) {
	sentence, _ := splitDocstring(content)
	if m := subfeatureID.FindStringSubmatch(sentence); m != nil {
		id, err := strconv.Atoi(strings.TrimSpace(m[1]))
		if err != nil || id <= 0 {
			return SubfeatureRef{}, true, fmt.Errorf("run feature with id %q: not a feature id", m[1])
		}
		return SubfeatureRef{ID: id}, true, nil
	}
	if m := subfeatureName.FindStringSubmatch(sentence); m != nil {
		if strings.TrimSpace(m[1]) == "" {
			return SubfeatureRef{}, true, errors.New("run feature with name: empty name")
		}
		return SubfeatureRef{Name: m[1]}, true, nil
	}
	return SubfeatureRef{}, false, nil
}
