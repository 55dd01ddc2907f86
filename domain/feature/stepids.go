package feature

import (
	"fmt"
	"slices"
)

// AssignStepIDs gives every incoming step its stable id. A step keeps the
// id the client sent when that id belongs to a step of any earlier version
// (known) and is not already taken in this list. A step without one takes
// the id of the first unclaimed step of the current version (prev) with
// the same keyword and sentence; failing that, the id of the unclaimed
// step at the same index (an edit in place); failing that, a new id from
// newID. newID is the command layer's generator: the domain makes no ids.
func AssignStepIDs(prev []Step, known func(id string) bool, incoming []Step, newID func() string) ([]Step, error) {
	out := slices.Clone(incoming)
	taken := make(map[string]bool, len(out))
	for i, st := range out {
		if st.StepID != "" && known(st.StepID) && !taken[st.StepID] {
			taken[st.StepID] = true
			continue
		}
		out[i].StepID = ""
	}
	for i, st := range out {
		if st.StepID != "" {
			continue
		}
		for _, p := range prev {
			if !taken[p.StepID] && p.Keyword == st.Keyword && p.Content == st.Content {
				out[i].StepID = p.StepID
				taken[p.StepID] = true
				break
			}
		}
	}
	for i := range out {
		if out[i].StepID == "" && i < len(prev) && !taken[prev[i].StepID] {
			out[i].StepID = prev[i].StepID
			taken[prev[i].StepID] = true
		}
	}
	for i := range out {
		if out[i].StepID != "" {
			continue
		}
		if newID == nil {
			return nil, fmt.Errorf("assign step ids: step %d needs a new id and the command has no generator", i+1)
		}
		id := newID()
		if id == "" || taken[id] || known(id) {
			return nil, fmt.Errorf("assign step ids: generator gave %q, which is empty or already used", id)
		}
		out[i].StepID = id
		taken[id] = true
	}
	return out, nil
}
