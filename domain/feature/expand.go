package feature

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cometa-es/cometa/domain"
)

// MaxExpandedSteps bounds the executed step list of one feature, so that
// sub-features used many times over cannot blow it up.
const MaxExpandedSteps = 10000

// Referenced is another feature as sub-feature expansion sees it.
type Referenced struct {
	ID                int64
	Name              string
	Steps             []Step
	ContinueOnFailure bool
}

// Lookup finds the features a "Run feature with id|name ..." step may use:
// features that exist and are in the department of the feature being
// expanded. The command layer implements it over its read model; Library
// is an in-memory one.
type Lookup interface {
	FeatureByID(id int64) (Referenced, bool)
	FeaturesByName(name string) []Referenced
}

// Library is a Lookup over a list of features.
type Library []Referenced

// FeatureByID returns the feature with id.
func (l Library) FeatureByID(id int64) (Referenced, bool) {
	for _, f := range l {
		if f.ID == id {
			return f, true
		}
	}
	return Referenced{}, false
}

// FeaturesByName returns the features named name.
func (l Library) FeaturesByName(name string) []Referenced {
	var out []Referenced
	for _, f := range l {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out
}

// ExpandedStep is a step of a feature's full step list: an authored step,
// or a step inlined from a sub-feature right after the step that runs it.
type ExpandedStep struct {
	Step
	// BelongsTo is the feature the step was authored in.
	BelongsTo int64
	// Position is the 1-based position, in the expanded feature, of the
	// authored step this one is or comes from.
	Position int
}

// CycleError is a chain of sub-features that leads back to one of its
// own features. Its message is Cometa's.
type CycleError struct {
	// Trace lists the feature ids from the expanded feature to the
	// repeated one, e.g. [1 7 1].
	Trace []int64
}

func (e *CycleError) Error() string {
	ids := make([]string, len(e.Trace))
	for i, id := range e.Trace {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return "Infinite loop found. Trace: " + strings.Join(ids, " ➔ ")
}

// Expand returns the full step list of feature featureID whose authored
// steps are steps: every authored step in order, and after each enabled
// "Run feature" step the enabled steps of that feature, recursively, as
// TypeSubstep. An inlined step continues on failure when a step or a
// feature on the chain that ran it says so. A reference that resolves to no feature or
// to several, or a chain that returns to a feature already on it, is a
// *domain.FieldError on the authored step; the latter wraps a *CycleError.
//
// The executed steps (see Executed) are checked as a whole: loops and
// conditions must pair up and loops must not nest, also through
// sub-features, which may have changed since featureID was saved (a
// Loop added to a feature that another runs inside its own Loop). Such a
// list is a *domain.FieldError on the authored step too, so that a run of
// it is refused before anything executes.
func Expand(featureID int64, steps []Step, lookup Lookup) ([]ExpandedStep, error) {
	out, err := expand(featureID, steps, lookup)
	if err != nil {
		return nil, err
	}
	if err := checkStructure(featureID, Executed(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// expand is Expand without the check of the executed list.
func expand(featureID int64, steps []Step, lookup Lookup) ([]ExpandedStep, error) {
	out := make([]ExpandedStep, 0, len(steps))
	for i, st := range steps {
		pos := i + 1
		out = append(out, ExpandedStep{Step: st, BelongsTo: featureID, Position: pos})
		if !st.Enabled || st.Type != TypeSubfeature {
			continue
		}
		var err error
		out, err = inline(out, []int64{featureID}, st, pos, false, lookup)
		if err != nil {
			return nil, domain.InvalidStep(pos, "step_content", err)
		}
	}
	return out, nil
}

// inline appends the steps that the sub-feature step st runs, with path the
// chain of features that led to it; force is true when a step or feature
// further up the chain continues on failure.
func inline(out []ExpandedStep, path []int64, st Step, pos int, force bool, lookup Lookup) ([]ExpandedStep, error) {
	ref, err := resolve(st.Content, path, lookup)
	if err != nil {
		return nil, err
	}
	if slices.Contains(path, ref.ID) {
		return nil, &CycleError{Trace: append(slices.Clone(path), ref.ID)}
	}
	path = append(slices.Clone(path), ref.ID)
	force = force || st.ContinueOnFailure || ref.ContinueOnFailure
	for _, sub := range ref.Steps {
		if !sub.Enabled {
			continue
		}
		if sub.Type == TypeSubfeature || isSubfeature(sub.Content) {
			if out, err = inline(out, path, sub, pos, force, lookup); err != nil {
				return nil, err
			}
			continue
		}
		if len(out) >= MaxExpandedSteps {
			return nil, fmt.Errorf("sub-features expand to more than %d steps", MaxExpandedSteps)
		}
		sub.Type = TypeSubstep
		sub.ContinueOnFailure = sub.ContinueOnFailure || force
		out = append(out, ExpandedStep{Step: sub, BelongsTo: ref.ID, Position: pos})
	}
	return out, nil
}

// resolve finds the feature a "Run feature with id|name" sentence names.
//
// TODO(feature): a reference by name to the feature being saved under a
// name it does not have yet is not seen as a cycle (the lookup knows only
// the stored name); by id it is.
// A reference by id to a feature on path is returned without asking the
// lookup, which may not hold the feature being saved.
func resolve(content string, path []int64, lookup Lookup) (Referenced, error) {
	if m := subfeatureByID.FindStringSubmatch(content); m != nil {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return Referenced{}, fmt.Errorf("feature id %q is not a number", m[1])
		}
		if slices.Contains(path, id) {
			return Referenced{ID: id}, nil
		}
		ref, ok := lookup.FeatureByID(id)
		if !ok {
			return Referenced{}, fmt.Errorf("no feature with id %q", m[1])
		}
		return ref, nil
	}
	m := subfeatureName.FindStringSubmatch(content)
	if m == nil {
		return Referenced{}, fmt.Errorf("not a sub-feature step")
	}
	switch refs := lookup.FeaturesByName(m[1]); len(refs) {
	case 0:
		return Referenced{}, fmt.Errorf("no feature named %q", m[1])
	case 1:
		return refs[0], nil
	default:
		return Referenced{}, fmt.Errorf("more than one feature is named %q", m[1])
	}
}

// Executed returns the steps a run executes: the enabled steps of an
// expanded list, without the "Run feature" steps themselves (their
// inlined steps stand in for them). This is Cometa's getJson list.
func Executed(expanded []ExpandedStep) []ExpandedStep {
	var out []ExpandedStep
	for _, st := range expanded {
		if st.Enabled && st.Type != TypeSubfeature {
			out = append(out, st)
		}
	}
	return out
}
