package run

import (
	"fmt"
	"maps"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// BaselineKey identifies the baseline of one compare step in one browser:
// the step's stable id, its occurrence in the run (1 unless a loop or a
// sub-feature used twice repeats it) and the browser key. Positions are
// not part of it, so moving a step keeps its baseline.
func BaselineKey(stepID string, occurrence int, browserKey string) string {
	return fmt.Sprintf("%s#%d@%s", stepID, occurrence, browserKey)
}

// Baselines are the baselines of one feature, by key.
type Baselines struct {
	FeatureID int64
	ByKey     map[string]eventschemas.BaselineRecorded
}

// FoldBaselines returns the baselines after history.
func FoldBaselines(history []eventschemas.Payload) Baselines {
	return domain.Fold(Baselines{}, history)
}

// Evolve returns the baselines after p. The map of the receiver is never
// changed, so older states stay valid.
func (s Baselines) Evolve(p eventschemas.Payload) Baselines {
	if e, ok := p.(*eventschemas.BaselineRecorded); ok {
		m := make(map[string]eventschemas.BaselineRecorded, len(s.ByKey)+1)
		maps.Copy(m, s.ByKey)
		m[e.Key] = *e
		s.ByKey, s.FeatureID = m, e.FeatureID
	}
	return s
}

// BaselineCommand is a request to change a feature's baselines.
type BaselineCommand interface {
	decide(Baselines) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s Baselines) Decide(c BaselineCommand) ([]eventschemas.Payload, error) { return c.decide(s) }

// RecordBaseline makes a screenshot the baseline of its key, unless the key
// has one already (a run that raced this one recorded it first): then
// nothing changes and the caller compares against that one.
type RecordBaseline struct {
	Baseline eventschemas.BaselineRecorded
}

func (c RecordBaseline) decide(s Baselines) ([]eventschemas.Payload, error) {
	b := c.Baseline
	switch {
	case b.FeatureID <= 0:
		return nil, domain.Invalid("feature_id", "must be positive")
	case s.FeatureID != 0 && s.FeatureID != b.FeatureID:
		return nil, domain.Conflict("baseline of feature %d on the stream of feature %d", b.FeatureID, s.FeatureID)
	case b.StepID == "" || b.Occurrence < 1 || b.Name == "":
		return nil, domain.Invalid("key", "a baseline names its step, occurrence and screenshot")
	case b.Width <= 0 || b.Height <= 0:
		return nil, domain.Invalid("size", "a baseline has a size")
	}
	b.Key = BaselineKey(b.StepID, b.Occurrence, b.BrowserKey)
	if _, ok := s.ByKey[b.Key]; ok {
		return nil, nil
	}
	return []eventschemas.Payload{&b}, nil
}
