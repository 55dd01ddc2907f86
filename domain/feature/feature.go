// Package feature is the feature aggregate: a test case, its definition
// and its ordered steps. Every save appends a complete new version
// (FeatureSaved), so any version can be read back, compared step by step
// (Diff) and restored.
//
// Rules enforced on every version: step sentences are known to the
// runner's catalogue (enabled steps), loops do not nest, End Loop, Else
// and End If are balanced, sub-feature references resolve to exactly one
// feature and never form a cycle, sleep steps get a timeout of their
// seconds plus 5, and step ids are stable across versions.
package feature

import (
	"fmt"
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Stream returns the name of feature id's stream.
func Stream(id int64) string { return fmt.Sprintf("feature-%d", id) }

// State is a feature as its events made it.
type State struct {
	ID        int64
	Exists    bool
	Deleted   bool
	CreatedBy int64
	FolderID  int64
	// Versions holds every saved definition: Versions[n-1] is version n.
	Versions []Definition
	// RestoredFrom[n-1] is the version that version n restored, or 0.
	RestoredFrom []int
}

// Fold returns the state after history.
func Fold(history []eventschemas.Payload) State { return domain.Fold(State{}, history) }

// Evolve returns the state after p. It never changes the slices of the
// state it was given, so older states stay valid.
func (s State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.FeatureCreated:
		s = State{ID: e.FeatureID, Exists: true, CreatedBy: e.CreatedBy}
	case *eventschemas.FeatureSaved:
		s.Versions = append(slices.Clip(s.Versions), e.Definition)
		s.RestoredFrom = append(slices.Clip(s.RestoredFrom), e.RestoredFrom)
	case *eventschemas.FeatureMovedToFolder:
		s.FolderID = e.FolderID
	case *eventschemas.FeatureDeleted:
		s.Deleted = true
	}
	return s
}

// Version is the number of the current version: the count of FeatureSaved.
func (s State) Version() int { return len(s.Versions) }

// Current returns the current definition (the zero Definition before the
// first save).
func (s State) Current() Definition {
	if len(s.Versions) == 0 {
		return Definition{}
	}
	return s.Versions[len(s.Versions)-1]
}

// At returns version n of the definition; an unknown version is
// domain.ErrNotFound.
func (s State) At(n int) (Definition, error) {
	if n < 1 || n > len(s.Versions) {
		return Definition{}, fmt.Errorf("feature %d version %d: %w", s.ID, n, domain.ErrNotFound)
	}
	return s.Versions[n-1], nil
}

// knownStep reports whether id is the id of a step of any version.
func (s State) knownStep(id string) bool {
	for _, d := range s.Versions {
		for _, st := range d.Steps {
			if st.StepID == id {
				return true
			}
		}
	}
	return false
}

// Command is a request to change a feature.
type Command interface {
	decide(State) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s State) Decide(c Command) ([]eventschemas.Payload, error) { return c.decide(s) }

func (s State) live(id int64) error {
	switch {
	case !s.Exists || s.Deleted:
		return domain.NotFound("feature", id)
	case s.ID != id:
		return domain.Conflict("command for feature %d on the stream of feature %d", id, s.ID)
	}
	return nil
}
