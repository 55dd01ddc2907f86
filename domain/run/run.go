// Package run is the pure domain of test runs: the run aggregate (one
// request to execute a feature, pinning what it executes), the result
// aggregate (one execution in one browser, claimed by exactly one runner
// under a lease) and the baselines of a feature's visual comparisons.
//
// Nothing here reads a clock or makes an id: times, ids and the runner's
// identity come in with each command. The command layer appends what
// Decide returns with the revision it folded, so every rule below holds
// under concurrency: two runners claiming the same result, a kill racing a
// claim, a late runner writing after its lease was taken over.
package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Stream returns the name of run id's stream.
func Stream(id int64) string { return "run-" + strconv.FormatInt(id, 10) }

// ResultStream returns the name of feature result id's stream.
func ResultStream(id int64) string { return "result-" + strconv.FormatInt(id, 10) }

// BaselineStream returns the name of the stream of feature id's baselines.
func BaselineStream(featureID int64) string { return "baseline-" + strconv.FormatInt(featureID, 10) }

// NoStepsMessage is the error of a run request whose feature has nothing to
// execute.
const NoStepsMessage = "No steps found in the feature: enable at least one step before running it."

// State is a run as its stream made it.
type State struct {
	Exists    bool
	Requested eventschemas.RunRequested
	Archived  bool
	Removed   bool
}

// Fold returns the state after history.
func Fold(history []eventschemas.Payload) State { return domain.Fold(State{}, history) }

// Evolve returns the state after p.
func (s State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.RunRequested:
		s = State{Exists: true, Requested: *e}
	case *eventschemas.RunArchived:
		s.Archived = e.Archived
	case *eventschemas.RunRemoved:
		s.Removed = true
	}
	return s
}

// ID is the run's id, 0 before it was requested.
func (s State) ID() int64 { return s.Requested.RunID }

// HasResult reports whether the run lists feature result id.
func (s State) HasResult(id int64) bool {
	for _, r := range s.Requested.Results {
		if r.FeatureResultID == id {
			return true
		}
	}
	return false
}

// Command is a request to change a run.
type Command interface {
	decide(State) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s State) Decide(c Command) ([]eventschemas.Payload, error) { return c.decide(s) }

// Request opens a run with the given RunRequested. The command layer has
// checked the feature, the actor's permission and department, pinned the
// version and expanded its steps; Request checks what the event itself
// must satisfy: ids set, at least one step (else NoStepsMessage), at least
// one result with a distinct id and a browser object each.
type Request struct {
	Run eventschemas.RunRequested
}

func (c Request) decide(s State) ([]eventschemas.Payload, error) {
	r := c.Run
	if s.Exists {
		return nil, domain.Conflict("run %d already exists", s.ID())
	}
	var errs []error
	if r.RunID <= 0 {
		errs = append(errs, domain.Invalid("run_id", "must be positive"))
	}
	if r.FeatureID <= 0 {
		errs = append(errs, domain.Invalid("feature_id", "must be positive"))
	}
	if r.FeatureVersion < 1 {
		errs = append(errs, domain.Invalid("feature_version", "must be 1 or more"))
	}
	if len(r.Steps) == 0 {
		errs = append(errs, domain.Invalid("steps", NoStepsMessage))
	}
	for i, st := range r.Steps {
		if st.Content == "" {
			errs = append(errs, domain.InvalidStep(i+1, "step_content", fmt.Errorf("must not be empty")))
		}
		if st.Timeout < 0 {
			errs = append(errs, domain.InvalidStep(i+1, "timeout", fmt.Errorf("must not be negative")))
		}
	}
	if len(r.Results) == 0 {
		errs = append(errs, domain.Invalid("browsers", "No browsers selected."))
	}
	seen := map[int64]bool{}
	for _, res := range r.Results {
		switch {
		case res.FeatureResultID <= 0:
			errs = append(errs, domain.Invalid("feature_result_id", "must be positive"))
		case seen[res.FeatureResultID]:
			errs = append(errs, domain.Invalid("feature_result_id", "%d listed twice", res.FeatureResultID))
		}
		seen[res.FeatureResultID] = true
		var obj map[string]any
		if err := json.Unmarshal(res.Browser, &obj); err != nil || obj == nil {
			errs = append(errs, domain.Invalid("browser", "Found invalid browser object"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if r.Parameters == nil {
		r.Parameters = map[string]string{}
	}
	if r.Variables == nil {
		r.Variables = []eventschemas.RunVariable{}
	}
	return []eventschemas.Payload{&r}, nil
}

// Archive marks the run as saved (Archived) or unmarks it.
type Archive struct {
	RunID    int64
	Archived bool
}

func (c Archive) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.RunID); err != nil {
		return nil, err
	}
	if s.Archived == c.Archived {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.RunArchived{RunID: c.RunID, Archived: c.Archived}}, nil
}

// Remove removes the run. A saved (archived) run is refused.
type Remove struct {
	RunID int64
}

func (c Remove) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.RunID); err != nil {
		return nil, err
	}
	if s.Archived {
		return nil, domain.Conflict("run %d is marked as SAVED and cannot be removed", c.RunID)
	}
	return []eventschemas.Payload{&eventschemas.RunRemoved{RunID: c.RunID}}, nil
}

func (s State) live(id int64) error {
	switch {
	case !s.Exists || s.Removed:
		return domain.NotFound("run", id)
	case s.ID() != id:
		return domain.Conflict("command for run %d on the stream of run %d", id, s.ID())
	}
	return nil
}
