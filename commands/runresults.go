package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// RunResults carries out what users do to recorded runs and results:
// archive ("SAVED") and remove them, override a step's or a result's
// status, remove a screenshot from a step. The runner's own commands are
// Runs'.
//
// A result or run is visible to an actor who may act in the current
// department of its feature (the department pinned by the run when the
// feature was deleted); any other is reported as not found, so that its
// existence does not leak. Permissions are checked after visibility.
//
// The results and runs of a deleted department (the one their run was
// requested in) stay readable to whoever sees them, but no longer change:
// every correction is domain.ErrNotFound, for a SUPERUSER too, as the
// department's features are (see inLiveDepartment).
type RunResults struct {
	log *Log
}

// NewRunResults returns the result commands.
func NewRunResults(log *Log) *RunResults { return &RunResults{log: log} }

// ErrSavedResults is the conflict of removing a run some of whose results
// are saved (archived): the others were removed. Cometa's wording.
var ErrSavedResults = fmt.Errorf("Unable to remove some feature results since they are marked as SAVED.: %w",
	domain.ErrConflict)

// resultHistory is a result's stream with what the corrections need:
// the lifecycle as the domain folds it, and per step its status (after
// overrides) and its images still attached.
type resultHistory struct {
	run.Result
	revision uint64
	// status is the result's status after overrides.
	status string
	steps  map[int]*stepFacts
}

type stepFacts struct {
	status string
	images []string
}

// loadResult reads feature result id's stream; a result never allocated
// or removed is domain.ErrNotFound.
func (c *RunResults) loadResult(ctx context.Context, id int64) (resultHistory, error) {
	history, _, err := c.log.Load(ctx, run.ResultStream(id))
	if err != nil {
		return resultHistory{}, err
	}
	return foldResultHistory(id, history)
}

func foldResultHistory(id int64, history []Recorded) (resultHistory, error) {
	h := resultHistory{Result: run.FoldResult(payloadsOf(history)), steps: map[int]*stepFacts{}}
	if !h.Allocated || h.Removed {
		return h, domain.NotFound("feature result", id)
	}
	h.revision = history[len(history)-1].Revision
	h.status = h.Status
	for _, r := range history {
		switch e := r.Payload.(type) {
		case *eventschemas.StepRecorded:
			f := &stepFacts{status: e.Status}
			for _, name := range append([]string{e.Current, e.Template, e.Difference}, e.Screenshots...) {
				if name != "" && !slices.Contains(f.images, name) {
					f.images = append(f.images, name)
				}
			}
			h.steps[e.Sequence] = f
		case *eventschemas.ScreenshotTaken:
			h.addImage(e.Sequence, e.Name)
		case *eventschemas.ScreenshotCompared:
			h.addImage(e.Sequence, e.Baseline)
			h.addImage(e.Sequence, e.Diff)
		case *eventschemas.StepStatusChanged:
			if f := h.steps[e.Sequence]; f != nil {
				f.status = e.Status
			}
		case *eventschemas.ResultStatusChanged:
			h.status = e.Status
		case *eventschemas.ScreenshotRemoved:
			if f := h.steps[e.Sequence]; f != nil {
				f.images = slices.DeleteFunc(f.images, func(n string) bool { return n == e.Name })
			}
		}
	}
	return h, nil
}

func (h *resultHistory) addImage(seq int, name string) {
	if f := h.steps[seq]; f != nil && name != "" && !slices.Contains(f.images, name) {
		f.images = append(f.images, name)
	}
}

// notRunning refuses a correction of a result that a runner still holds.
func (h resultHistory) notRunning() error {
	if h.Claimed && !h.Finished {
		return domain.Conflict("feature result %d is still running; kill it or wait for it to finish", h.ID)
	}
	return nil
}

// visible returns domain.ErrNotFound unless actor may act in the current
// department of feature featureID or, once the feature is deleted, in the
// department run runID pinned (pinned itself when the caller has it).
func (c *RunResults) visible(ctx context.Context, actor access.Actor, what string, id, featureID, runID,
	pinned int64) error {
	if actor.SeesAllDepartments() {
		return nil
	}
	history, _, err := c.log.Load(ctx, feature.Stream(featureID))
	if err != nil {
		return err
	}
	dept := pinned
	if s := feature.Fold(payloadsOf(history)); s.Exists && !s.Deleted {
		dept = s.Current().DepartmentID
	} else if dept == 0 && runID != 0 {
		rs, err := c.loadRun(ctx, runID)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		dept = rs.Requested.DepartmentID
	}
	if dept == 0 || !actor.InDepartment(dept) {
		return domain.NotFound(what, id)
	}
	return nil
}

// inLiveDepartment returns domain.ErrNotFound, naming what and id, when
// department dept has been deleted. It reads the department's stream, so
// a deletion a moment ago counts.
func (c *RunResults) inLiveDepartment(ctx context.Context, what string, id, dept int64) error {
	gone, err := departmentDeleted(ctx, c.log, dept)
	if err != nil {
		return err
	}
	if gone {
		return fmt.Errorf("%s %d: its department %d was deleted: %w", what, id, dept, domain.ErrNotFound)
	}
	return nil
}

// resultInLiveDepartment is inLiveDepartment for a result: the department
// of its run, read from the run's stream. A result that was never claimed
// nor killed does not name its run; it is taken to belong to its
// feature's last department, the one such a result was requested in
// unless the feature moved since.
func (c *RunResults) resultInLiveDepartment(ctx context.Context, h resultHistory) error {
	var dept int64
	if h.RunID != 0 {
		history, _, err := c.log.Load(ctx, run.Stream(h.RunID))
		if err != nil {
			return err
		}
		dept = run.Fold(payloadsOf(history)).Requested.DepartmentID
	} else {
		history, _, err := c.log.Load(ctx, feature.Stream(h.FeatureID))
		if err != nil {
			return err
		}
		dept = feature.Fold(payloadsOf(history)).Current().DepartmentID
	}
	if dept == 0 {
		return nil
	}
	return c.inLiveDepartment(ctx, "feature result", h.ID, dept)
}

// Correctable returns domain.ErrNotFound when feature result id does not
// exist, was removed, or belongs to a deleted department, so that a
// caller correcting several results at once can leave those out before it
// appends anything. Visibility and permissions are not checked here.
func (c *RunResults) Correctable(ctx context.Context, id int64) error {
	h, err := c.loadResult(ctx, id)
	if err != nil {
		return fmt.Errorf("feature result %d: %w", id, err)
	}
	return c.resultInLiveDepartment(ctx, h)
}

// correct runs one correction on a result's stream: it loads the result,
// checks visibility and the permission flag, lets decide choose the events
// and appends them with the revision it loaded (re-deciding after a lost
// race). ok is false when nothing changed.
func (c *RunResults) correct(ctx context.Context, meta Meta, actor access.Actor, id int64, flag role.Flag,
	decide func(h resultHistory) ([]eventschemas.Payload, error)) (eventstore.AppendResult, bool, error) {
	checked := false
	return c.log.Execute(ctx, run.ResultStream(id), meta, func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
		if !exists {
			return nil, domain.NotFound("feature result", id)
		}
		h, err := foldResultHistory(id, history)
		if err != nil {
			return nil, err
		}
		if !checked {
			if err := c.visible(ctx, actor, "feature result", id, h.FeatureID, h.RunID, 0); err != nil {
				return nil, err
			}
			if err := c.resultInLiveDepartment(ctx, h); err != nil {
				return nil, err
			}
			if flag != "" {
				if err := actor.Require(string(flag)); err != nil {
					return nil, err
				}
			}
			checked = true
		}
		return decide(h)
	})
}

// ArchiveResult marks feature result id as saved (archived) or unmarks it.
// It needs change_result_status, the flag Cometa's UI uses for it.
func (c *RunResults) ArchiveResult(ctx context.Context, meta Meta, actor access.Actor, id int64, archived bool) (
	eventstore.AppendResult, bool, error) {
	res, ok, err := c.correct(ctx, meta, actor, id, role.ChangeResultStatus, func(h resultHistory) ([]eventschemas.Payload, error) {
		return h.Decide(run.ArchiveResult{Archived: archived})
	})
	if err != nil {
		return res, false, fmt.Errorf("archive feature result %d: %w", id, err)
	}
	return res, ok, nil
}

// RemoveResult removes feature result id from the lists. It needs
// remove_feature_result; a saved result, or one of a saved run, and one
// still running are refused with domain.ErrConflict. A run whose results
// are all removed disappears from the lists with them.
func (c *RunResults) RemoveResult(ctx context.Context, meta Meta, actor access.Actor, id int64) (
	eventstore.AppendResult, error) {
	res, _, err := c.correct(ctx, meta, actor, id, role.RemoveFeatureResult, func(h resultHistory) ([]eventschemas.Payload, error) {
		if h.RunID != 0 {
			rs, err := c.loadRun(ctx, h.RunID)
			if err != nil {
				return nil, err
			}
			if rs.Archived {
				return nil, domain.Conflict("Feature result that you are trying to remove belongs to a run marked as SAVED")
			}
		}
		return h.Decide(run.RemoveResult{})
	})
	if err != nil {
		return res, fmt.Errorf("remove feature result %d: %w", id, err)
	}
	return res, nil
}

// ChangeResultStatus overrides the status of finished feature result id
// (Success, Failed or Canceled). It needs change_result_status.
func (c *RunResults) ChangeResultStatus(ctx context.Context, meta Meta, actor access.Actor, id int64, status string) (
	eventstore.AppendResult, bool, error) {
	res, ok, err := c.correct(ctx, meta, actor, id, role.ChangeResultStatus, func(h resultHistory) ([]eventschemas.Payload, error) {
		switch status {
		case eventschemas.StatusSuccess, eventschemas.StatusFailed, eventschemas.StatusCanceled:
		default:
			return nil, domain.Invalid("status", "must be Success, Failed or Canceled, not %q", status)
		}
		if err := h.notRunning(); err != nil {
			return nil, err
		}
		if !h.Finished {
			return nil, domain.Conflict("feature result %d has not run yet", id)
		}
		if h.status == status {
			return nil, nil
		}
		return []eventschemas.Payload{&eventschemas.ResultStatusChanged{FeatureResultID: id, Status: status,
			Success: status == eventschemas.StatusSuccess, ChangedBy: actor.AccountID}}, nil
	})
	if err != nil {
		return res, false, fmt.Errorf("change the status of feature result %d: %w", id, err)
	}
	return res, ok, nil
}

// ChangeStepStatus overrides the status of the step with sequence of
// finished feature result id (Success, Failed or Skipped). It needs
// change_result_status.
func (c *RunResults) ChangeStepStatus(ctx context.Context, meta Meta, actor access.Actor, id int64, sequence int,
	status string) (eventstore.AppendResult, bool, error) {
	res, ok, err := c.correct(ctx, meta, actor, id, role.ChangeResultStatus, func(h resultHistory) ([]eventschemas.Payload, error) {
		switch status {
		case eventschemas.StatusSuccess, eventschemas.StatusFailed, eventschemas.StatusSkipped:
		default:
			return nil, domain.Invalid("status", "must be Success, Failed or Skipped, not %q", status)
		}
		step := h.steps[sequence]
		if step == nil {
			return nil, domain.NotFound("step result of sequence", int64(sequence))
		}
		if err := h.notRunning(); err != nil {
			return nil, err
		}
		if step.status == status {
			return nil, nil
		}
		return []eventschemas.Payload{&eventschemas.StepStatusChanged{FeatureResultID: id, Sequence: sequence,
			Status: status, Success: status != eventschemas.StatusFailed, ChangedBy: actor.AccountID}}, nil
	})
	if err != nil {
		return res, false, fmt.Errorf("change the status of step %d of feature result %d: %w", sequence, id, err)
	}
	return res, ok, nil
}

// RemoveScreenshot takes image name off the step with sequence of feature
// result id. It needs remove_screenshot; an image the step does not have
// (any more) is domain.ErrNotFound. Deleting the file, once nothing refers
// to it, is the caller's business.
func (c *RunResults) RemoveScreenshot(ctx context.Context, meta Meta, actor access.Actor, id int64, sequence int,
	name string) (eventstore.AppendResult, error) {
	res, _, err := c.correct(ctx, meta, actor, id, role.RemoveScreenshot, func(h resultHistory) ([]eventschemas.Payload, error) {
		step := h.steps[sequence]
		if step == nil || !slices.Contains(step.images, name) {
			return nil, fmt.Errorf("screenshot %q of step %d: %w", name, sequence, domain.ErrNotFound)
		}
		if err := h.notRunning(); err != nil {
			return nil, err
		}
		return []eventschemas.Payload{&eventschemas.ScreenshotRemoved{FeatureResultID: id, Sequence: sequence,
			Name: name, RemovedBy: actor.AccountID}}, nil
	})
	if err != nil {
		return res, fmt.Errorf("remove screenshot from feature result %d: %w", id, err)
	}
	return res, nil
}

func (c *RunResults) loadRun(ctx context.Context, id int64) (run.State, error) {
	history, _, err := c.log.Load(ctx, run.Stream(id))
	if err != nil {
		return run.State{}, err
	}
	s := run.Fold(payloadsOf(history))
	if !s.Exists || s.Removed {
		return s, domain.NotFound("run", id)
	}
	return s, nil
}

// runCommand runs a decision on a run's stream after the visibility and
// permission checks.
func (c *RunResults) runCommand(ctx context.Context, meta Meta, actor access.Actor, id int64, flag role.Flag,
	decide func(s run.State) ([]eventschemas.Payload, error)) (eventstore.AppendResult, bool, error) {
	checked := false
	return c.log.Execute(ctx, run.Stream(id), meta, func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
		s := run.Fold(payloadsOf(history))
		if !s.Exists || s.Removed {
			return nil, domain.NotFound("run", id)
		}
		if !checked {
			if err := c.visible(ctx, actor, "run", id, s.Requested.FeatureID, 0, s.Requested.DepartmentID); err != nil {
				return nil, err
			}
			if err := c.inLiveDepartment(ctx, "run", id, s.Requested.DepartmentID); err != nil {
				return nil, err
			}
			if flag != "" {
				if err := actor.Require(string(flag)); err != nil {
					return nil, err
				}
			}
			checked = true
		}
		return decide(s)
	})
}

// ArchiveRun marks run id as saved (archived), which protects it from
// removal, or unmarks it. Cometa checks no permission here; the run's
// department is checked.
func (c *RunResults) ArchiveRun(ctx context.Context, meta Meta, actor access.Actor, id int64, archived bool) (
	eventstore.AppendResult, bool, error) {
	res, ok, err := c.runCommand(ctx, meta, actor, id, "", func(s run.State) ([]eventschemas.Payload, error) {
		return s.Decide(run.Archive{RunID: id, Archived: archived})
	})
	if err != nil {
		return res, false, fmt.Errorf("archive run %d: %w", id, err)
	}
	return res, ok, nil
}

// RemoveRun removes run id with its results. It needs remove_feature_runs;
// a saved run is refused, a running result too (kill it first). Results
// marked as saved stay, and so does the run: the others are removed and
// the error is ErrSavedResults, as in Cometa.
func (c *RunResults) RemoveRun(ctx context.Context, meta Meta, actor access.Actor, id int64) (
	eventstore.AppendResult, error) {
	var last eventstore.AppendResult
	var state run.State
	_, _, err := c.runCommand(ctx, meta, actor, id, role.RemoveFeatureRuns, func(s run.State) ([]eventschemas.Payload, error) {
		if s.Archived {
			return nil, domain.Conflict("run %d is marked as SAVED and cannot be removed", id)
		}
		state = s
		return nil, nil // checks only; the results go first
	})
	if err != nil {
		return last, fmt.Errorf("remove run %d: %w", id, err)
	}

	saved := false
	for _, r := range state.Requested.Results {
		res, ok, err := c.log.Execute(ctx, run.ResultStream(r.FeatureResultID), meta,
			func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
				h, err := foldResultHistory(r.FeatureResultID, history)
				if errors.Is(err, domain.ErrNotFound) {
					return nil, nil // removed already
				}
				if err != nil {
					return nil, err
				}
				if h.Archived {
					saved = true
					return nil, nil
				}
				return h.Decide(run.RemoveResult{})
			})
		if err != nil {
			return last, fmt.Errorf("remove run %d: %w", id, err)
		}
		if ok {
			last = res
		}
	}
	if saved {
		return last, fmt.Errorf("remove run %d: %w", id, ErrSavedResults)
	}

	res, _, err := c.runCommand(ctx, meta, actor, id, role.RemoveFeatureRuns, func(s run.State) ([]eventschemas.Payload, error) {
		return s.Decide(run.Remove{RunID: id})
	})
	if err != nil {
		return last, fmt.Errorf("remove run %d: %w", id, err)
	}
	return res, nil
}
