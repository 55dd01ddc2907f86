package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// executed runs feature id once with the run commands, as a runner would:
// one step per status, finished with finish (left running when "").
func (w *runWorld) executed(featureID int64, finish string, statuses ...string) (runID, resultID int64) {
	w.t.Helper()
	ctx := context.Background()
	out := w.request(actor(w.t, 5, role.Devops, 3), featureID)
	held, err := w.runs.Claim(ctx, runnerMeta(), out.ResultIDs[0], out.RunID, "r1", time.Now().Add(time.Hour), time.Now)
	if err != nil {
		w.t.Fatal(err)
	}
	for i, st := range statuses {
		err := held.Record(ctx, eventschemas.StepRecorded{Sequence: i + 1, Index: i, StepName: "s", Status: st,
			Success: st != eventschemas.StatusFailed, Current: "a.png", Screenshots: []string{"a.png"}})
		if err != nil {
			w.t.Fatal(err)
		}
	}
	if finish != "" {
		if _, err := held.Finish(ctx, finish, "", "", 0); err != nil {
			w.t.Fatal(err)
		}
	}
	return out.RunID, out.ResultIDs[0]
}

// events counts the events of a stream.
func (w *runWorld) events(stream string) int {
	w.t.Helper()
	h, _, err := w.log.Load(context.Background(), stream)
	if err != nil {
		w.t.Fatal(err)
	}
	return len(h)
}

func TestRunResultCorrections(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	rr := commands.NewRunResults(w.log)
	devops, manager := actor(t, 5, role.Devops, 3), actor(t, 6, role.Manager, 3)
	otherManager, admin := actor(t, 7, role.Manager, 4), actor(t, 1, role.Superuser)
	feat := w.create(devops, def("Checkout", 3, stepOf(`Goto URL "http://127.0.0.1/"`), stepOf("Press Enter")))
	runID, res := w.executed(feat, eventschemas.StatusFailed, eventschemas.StatusSuccess, eventschemas.StatusFailed)
	_, running := w.executed(feat, "", eventschemas.StatusSuccess)
	stream := "result-" + itoa(res)

	tests := []struct {
		name    string
		do      func() (bool, error)
		wantErr error
		changed bool
	}{
		{"the same status changes nothing", func() (bool, error) {
			_, ok, err := rr.ChangeStepStatus(ctx, meta(), manager, res, 2, eventschemas.StatusFailed)
			return ok, err
		}, nil, false},
		{"without change_result_status", func() (bool, error) {
			_, ok, err := rr.ChangeStepStatus(ctx, meta(), devops, res, 2, eventschemas.StatusSuccess)
			return ok, err
		}, domain.ErrForbidden, false},
		{"another department", func() (bool, error) {
			_, ok, err := rr.ChangeStepStatus(ctx, meta(), otherManager, res, 2, eventschemas.StatusSuccess)
			return ok, err
		}, domain.ErrNotFound, false},
		{"a step that was not recorded", func() (bool, error) {
			_, ok, err := rr.ChangeStepStatus(ctx, meta(), manager, res, 3, eventschemas.StatusSuccess)
			return ok, err
		}, domain.ErrNotFound, false},
		{"a status steps do not have", func() (bool, error) {
			_, ok, err := rr.ChangeStepStatus(ctx, meta(), manager, res, 2, eventschemas.StatusCanceled)
			return ok, err
		}, domain.ErrInvalid, false},
		{"the override", func() (bool, error) {
			_, ok, err := rr.ChangeStepStatus(ctx, meta(), manager, res, 2, eventschemas.StatusSuccess)
			return ok, err
		}, nil, true},
		{"a running result", func() (bool, error) {
			_, ok, err := rr.ChangeResultStatus(ctx, meta(), manager, running, eventschemas.StatusSuccess)
			return ok, err
		}, domain.ErrConflict, false},
		{"an image the step does not have", func() (bool, error) {
			_, err := rr.RemoveScreenshot(ctx, meta(), admin, res, 1, "b.png")
			return false, err
		}, domain.ErrNotFound, false},
		{"an image, removed", func() (bool, error) {
			_, err := rr.RemoveScreenshot(ctx, meta(), admin, res, 1, "a.png")
			return err == nil, err
		}, nil, true},
		{"and removed again", func() (bool, error) {
			_, err := rr.RemoveScreenshot(ctx, meta(), admin, res, 1, "a.png")
			return false, err
		}, domain.ErrNotFound, false},
		{"archived", func() (bool, error) {
			_, ok, err := rr.ArchiveResult(ctx, meta(), manager, res, true)
			return ok, err
		}, nil, true},
		{"a saved result is not removed", func() (bool, error) {
			_, err := rr.RemoveResult(ctx, meta(), admin, res)
			return false, err
		}, domain.ErrConflict, false},
		{"nor its run", func() (bool, error) {
			_, err := rr.RemoveRun(ctx, meta(), admin, runID)
			return false, err
		}, commands.ErrSavedResults, false},
	}
	for _, tt := range tests {
		before := w.events(stream)
		changed, err := tt.do()
		switch {
		case tt.wantErr == nil && err != nil, tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
		case changed != tt.changed:
			t.Errorf("%s: changed %v, want %v", tt.name, changed, tt.changed)
		}
		if grew := w.events(stream) - before; (grew > 0) != tt.changed {
			t.Errorf("%s: %d events appended", tt.name, grew)
		}
	}
	if n := w.events("run-" + itoa(runID)); n != 1 {
		t.Errorf("the run with a saved result has %d events, want its request only", n)
	}

	// Once the feature is deleted, its results stay visible in the
	// department the run pinned.
	if _, err := w.features.Delete(ctx, meta(), admin, feat); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rr.ArchiveResult(ctx, meta(), manager, res, false); err != nil {
		t.Errorf("unarchive after the feature's deletion: %v", err)
	}
	if _, _, err := rr.ArchiveResult(ctx, meta(), otherManager, res, true); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another department after the deletion: %v, want ErrNotFound", err)
	}
	if _, err := rr.RemoveRun(ctx, meta(), admin, runID); err != nil {
		t.Errorf("remove the run once nothing is saved: %v", err)
	}
	if _, err := rr.RemoveResult(ctx, meta(), admin, res); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("remove a result of a removed run: %v, want ErrNotFound", err)
	}
}

// TestDeletedDepartmentResultsFrozen: once the department a run was
// requested in is deleted, no correction of its results or the run goes
// through, for a SUPERUSER either, and nothing is appended; a queued
// result (no run named on its stream) is judged by its feature's
// department.
func TestDeletedDepartmentResultsFrozen(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	rr := commands.NewRunResults(w.log)
	admin := actor(t, 1, role.Superuser)
	feat := w.create(actor(t, 5, role.Devops, 3), def("Frozen", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	runID, res := w.executed(feat, eventschemas.StatusFailed, eventschemas.StatusFailed)
	queued := w.request(actor(t, 5, role.Devops, 3), feat)
	w.h.Append("department-3", &eventschemas.DepartmentDeleted{DepartmentID: 3})
	w.h.Sync()
	before := w.events("result-"+itoa(res)) + w.events("run-"+itoa(runID)) +
		w.events("result-"+itoa(queued.ResultIDs[0]))

	for name, do := range map[string]func() error{
		"archive": func() error { _, _, err := rr.ArchiveResult(ctx, meta(), admin, res, true); return err },
		"status": func() error {
			_, _, err := rr.ChangeResultStatus(ctx, meta(), admin, res, eventschemas.StatusSuccess)
			return err
		},
		"step status": func() error {
			_, _, err := rr.ChangeStepStatus(ctx, meta(), admin, res, 1, eventschemas.StatusSuccess)
			return err
		},
		"screenshot": func() error {
			_, err := rr.RemoveScreenshot(ctx, meta(), admin, res, 1, "a.png")
			return err
		},
		"remove":      func() error { _, err := rr.RemoveResult(ctx, meta(), admin, res); return err },
		"archive run": func() error { _, _, err := rr.ArchiveRun(ctx, meta(), admin, runID, true); return err },
		"remove run":  func() error { _, err := rr.RemoveRun(ctx, meta(), admin, runID); return err },
		"remove queued": func() error {
			_, err := rr.RemoveResult(ctx, meta(), admin, queued.ResultIDs[0])
			return err
		},
		"correctable":    func() error { return rr.Correctable(ctx, res) },
		"queued one too": func() error { return rr.Correctable(ctx, queued.ResultIDs[0]) },
	} {
		if err := do(); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
	after := w.events("result-"+itoa(res)) + w.events("run-"+itoa(runID)) +
		w.events("result-"+itoa(queued.ResultIDs[0]))
	if after != before {
		t.Errorf("the refused corrections appended %d events", after-before)
	}
}
