package feature

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Step is one authored step of a feature, with its stable id.
type Step = eventschemas.FeatureStep

// The step types Cometa knows. Substeps are inlined from sub-features and
// never stored: Expand makes them.
const (
	TypeNormal     = "normal"
	TypeSubfeature = "subfeature"
	TypeLoop       = "loop"
	TypeSubstep    = "substep"
)

// Step limits: a step's timeout is 1 to MaxStepTimeout seconds; a sleep
// step's timeout is its seconds (rounded up) plus SleepGrace.
//
// A timeout of 0 is a step that gives none: it gets DefaultStepTimeout, as
// Cometa's model default does for a step saved without one. (Cometa itself
// would run a step saved with an explicit 0 without any time limit; a
// feature here always has one.) Negative timeouts and timeouts above
// MaxStepTimeout are refused.
const (
	DefaultStepTimeout = 60
	MaxStepTimeout     = 7200
	SleepGrace         = 5
	MaxActionLength    = 255
)

// Catalogue validates a step sentence against the steps the runner knows,
// and its values as far as they can be checked before a run. Its error
// should name the closest known step or the refused value; Decide adds the
// step's position and field.
type Catalogue interface {
	Validate(sentence string) error
}

// FlowCatalogue is a Catalogue that also checks a whole executed step list
// as the runner does before it runs one (every step known, loops and
// conditions paired); *steps.Catalogue is one. When the Catalogue a command
// is given is one, a save is checked with it too, so that what saves, runs.
// An error of one step may carry its 0-based index in the list through a
// StepIndex() int method; it is then reported on that step's position.
type FlowCatalogue interface {
	Catalogue
	ValidateFlow(contents []string) error
}

// Sentences of the step language that the domain itself understands.
var (
	loopStep       = regexp.MustCompile(`^Loop "(.*)" times starting at "(.*)" and do$`)
	ifStep         = regexp.MustCompile(`^If "(.*)" "(.*)" "(.*)"$`)
	subfeatureByID = regexp.MustCompile(`^Run feature with id "(.+)" before continuing$`)
	subfeatureName = regexp.MustCompile(`^Run feature with name "(.+)" before continuing$`)
	sleepStep      = regexp.MustCompile(`^I (?:can )?sleep "(\d+(?:\.\d+)?)" seconds$`)
)

// keywords maps the lower-case keyword to Cometa's spelling.
var keywords = map[string]string{"given": "Given", "when": "When", "then": "Then", "and": "and"}

// normalizeStep checks one step at 1-based position pos and fills Cometa's
// defaults: keyword Given, type normal (subfeature for a "Run feature"
// step), timeout 60, and seconds+5 for a sleep step.
func normalizeStep(pos int, st Step) (Step, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, domain.InvalidStep(pos, field, fmt.Errorf(format, args...)))
	}

	if st.Keyword == "" {
		st.Keyword = "Given"
	} else if k, ok := keywords[strings.ToLower(strings.TrimSpace(st.Keyword))]; ok {
		st.Keyword = k
	} else {
		bad("step_keyword", "must be Given, When, Then or and")
	}

	st.Content = strings.TrimSpace(st.Content)
	if err := domain.CheckFreeText("step_content", st.Content); err != nil {
		bad("step_content", "must be valid UTF-8 without NUL characters")
	} else if st.Content == "" {
		bad("step_content", "must not be empty")
	}

	st.Action = strings.TrimSpace(st.Action)
	if len([]rune(st.Action)) > MaxActionLength || domain.CheckFreeText("step_action", st.Action) != nil {
		bad("step_action", "must be valid text of at most %d characters", MaxActionLength)
	}

	switch {
	case isSubfeature(st.Content):
		st.Type = TypeSubfeature
	case st.Type == "", st.Type == TypeNormal, st.Type == TypeSubfeature:
		st.Type = TypeNormal
	case st.Type == TypeLoop:
	default:
		bad("step_type", "must be normal, subfeature or loop")
	}

	switch {
	case st.Timeout == 0:
		st.Timeout = DefaultStepTimeout
	case st.Timeout < 0 || st.Timeout > MaxStepTimeout:
		bad("timeout", "must be 1 to %d seconds", MaxStepTimeout)
	}
	if m := sleepStep.FindStringSubmatch(st.Content); m != nil {
		secs, err := strconv.ParseFloat(m[1], 64)
		if err != nil || math.Ceil(secs)+SleepGrace > MaxStepTimeout {
			bad("step_content", "a sleep of %s seconds exceeds the step timeout limit of %d seconds", m[1], MaxStepTimeout)
		} else {
			st.Timeout = int(math.Ceil(secs)) + SleepGrace
		}
	}
	return st, errors.Join(errs...)
}

func isSubfeature(content string) bool {
	return subfeatureByID.MatchString(content) || subfeatureName.MatchString(content)
}

// EnabledCount is Cometa's "steps" count of a feature: its enabled steps.
func EnabledCount(steps []Step) int {
	n := 0
	for _, st := range steps {
		if st.Enabled {
			n++
		}
	}
	return n
}

// ErrMultiLevelLoop is the error of a loop inside a loop, with Cometa's
// wording.
var ErrMultiLevelLoop = errors.New("Multi level loop are not allowed.")

// checkStructure checks loops and conditions of the executed step list of
// feature featureID: loops do not nest, End Loop closes a Loop, Break Loop
// and Continue Loop are inside one, Else and End If belong to an If, and
// every If opened inside a loop is closed inside it. Errors carry the
// 1-based position of the authored step each comes from; a nested loop
// that a sub-feature brings names that feature.
func checkStructure(featureID int64, steps []ExpandedStep) error {
	type openIf struct {
		pos     int
		sawElse bool
	}
	var ifs []openIf
	loopAt, ifsAtLoop := 0, 0
	var loopFrom int64
	fail := func(pos int, err error) error { return domain.InvalidStep(pos, "step_content", err) }
	for _, st := range steps {
		switch c := st.Content; {
		case loopStep.MatchString(c):
			switch {
			case loopAt != 0 && st.BelongsTo != featureID:
				return fail(st.Position, fmt.Errorf("%w (feature %d, which step %d runs, has a Loop, and it runs "+
					"inside the Loop of step %d)", ErrMultiLevelLoop, st.BelongsTo, st.Position, loopAt))
			case loopAt != 0 && loopFrom != featureID:
				return fail(st.Position, fmt.Errorf("%w (the Loop of feature %d, which step %d runs, is still open)",
					ErrMultiLevelLoop, loopFrom, loopAt))
			case loopAt != 0:
				return fail(st.Position, ErrMultiLevelLoop)
			}
			loopAt, ifsAtLoop, loopFrom = st.Position, len(ifs), st.BelongsTo
		case c == "Break Loop" || c == "Continue Loop":
			if loopAt == 0 {
				return fail(st.Position, fmt.Errorf("%s outside a Loop", c))
			}
		case c == "End Loop":
			switch {
			case loopAt == 0:
				return fail(st.Position, errors.New("End Loop without a Loop"))
			case len(ifs) > ifsAtLoop:
				return fail(st.Position, fmt.Errorf("the If of step %d is not closed before End Loop", ifs[len(ifs)-1].pos))
			}
			loopAt = 0
		case ifStep.MatchString(c):
			ifs = append(ifs, openIf{pos: st.Position})
		case c == "Else":
			switch {
			case len(ifs) == 0 || (loopAt != 0 && len(ifs) == ifsAtLoop):
				return fail(st.Position, errors.New("Else without an If"))
			case ifs[len(ifs)-1].sawElse:
				return fail(st.Position, fmt.Errorf("a second Else for the If of step %d", ifs[len(ifs)-1].pos))
			}
			ifs[len(ifs)-1].sawElse = true
		case c == "End If":
			if len(ifs) == 0 || (loopAt != 0 && len(ifs) == ifsAtLoop) {
				return fail(st.Position, errors.New("End If without an If"))
			}
			ifs = ifs[:len(ifs)-1]
		}
	}
	if loopAt != 0 {
		return fail(loopAt, errors.New("Loop without an End Loop"))
	}
	if len(ifs) > 0 {
		return fail(ifs[len(ifs)-1].pos, errors.New("If without an End If"))
	}
	return nil
}
