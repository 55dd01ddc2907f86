package run_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cometa-es/cometa/domain"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
)

const (
	runnerA = "runner-a"
	runnerB = "runner-b"
)

var lease = t0.Add(time.Minute)

func allocated() []ev {
	return []ev{&eventschemas.ResultAllocated{FeatureResultID: 81, FeatureID: 12}}
}

func claimed() []ev {
	return append(allocated(), &eventschemas.ResultClaimed{FeatureResultID: 81, RunID: 40, Runner: runnerA,
		ClaimedAt: t0, LeaseUntil: lease})
}

func killed() []ev {
	return append(claimed(), &eventschemas.RunKilled{FeatureResultID: 81, RunID: 40, FeatureID: 12,
		Reason: "killed by account 2", KilledBy: 2})
}

func finished(status string) []ev {
	return append(claimed(), &eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: status,
		Success: status == eventschemas.StatusSuccess, FinishedAt: t0})
}

func step(seq int, status string) eventschemas.StepRecorded {
	return eventschemas.StepRecorded{FeatureResultID: 81, Sequence: seq, Index: seq - 1, StepID: "s-1",
		StepName: `Goto URL "x"`, BelongsTo: 12, Status: status, Success: status != eventschemas.StatusFailed,
		ExecutionTimeMS: 12, Screenshots: []string{}}
}

func TestDecideResult(t *testing.T) {
	t.Parallel()
	first := step(1, eventschemas.StatusSuccess)
	afterFirst := append(claimed(), &first)
	second := step(2, eventschemas.StatusFailed)
	noShots := step(1, eventschemas.StatusSkipped)
	noShots.Screenshots = nil
	withShots := step(1, eventschemas.StatusSkipped)
	dt.Run(t, run.Result{}, []dt.Case[run.ResultCommand]{
		{Name: "allocate", When: run.Allocate{ID: 81, FeatureID: 12}, Then: allocated()},
		{Name: "allocate twice", Given: allocated(), When: run.Allocate{ID: 81, FeatureID: 12},
			Err: domain.ErrConflict},
		{Name: "allocate without feature", When: run.Allocate{ID: 81}, Err: domain.ErrInvalid},

		{Name: "claim", Given: allocated(), When: run.Claim{RunID: 40, Runner: runnerA, Now: t0, LeaseUntil: lease},
			Then: claimed()[1:]},
		{Name: "claim claimed", Given: claimed(), When: run.Claim{RunID: 40, Runner: runnerB, Now: t0,
			LeaseUntil: lease}, Err: domain.ErrConflict, Message: "claimed by runner-a"},
		{Name: "claim finished", Given: finished(eventschemas.StatusCanceled), When: run.Claim{RunID: 40,
			Runner: runnerB, Now: t0, LeaseUntil: lease}, Err: domain.ErrConflict},
		{Name: "claim with lease in the past", Given: allocated(), When: run.Claim{RunID: 40, Runner: runnerA,
			Now: t0, LeaseUntil: t0}, Err: domain.ErrInvalid},
		{Name: "claim unknown", When: run.Claim{RunID: 40, Runner: runnerA, Now: t0, LeaseUntil: lease},
			Err: domain.ErrNotFound},

		{Name: "start", Given: claimed(), When: run.Start{Runner: runnerA, Event: eventschemas.ResultStarted{
			Browser: chrome, BrowserVersion: "Chrome/156", PID: 7, StartedAt: t0}},
			Then: []ev{&eventschemas.ResultStarted{FeatureResultID: 81, Runner: runnerA, Browser: chrome,
				BrowserVersion: "Chrome/156", PID: 7, StartedAt: t0}}},
		{Name: "start by another runner", Given: claimed(), When: run.Start{Runner: runnerB},
			Err: domain.ErrConflict},

		{Name: "record first step", Given: claimed(), When: run.Record{Runner: runnerA, Step: first},
			Then: []ev{&first}},
		{Name: "record next step with screenshots", Given: afterFirst, When: run.Record{Runner: runnerA,
			Step: second, Extra: []ev{&eventschemas.ScreenshotTaken{Name: "a.png", Width: 3, Height: 2}}},
			Then: []ev{&second, &eventschemas.ScreenshotTaken{FeatureResultID: 81, Sequence: 2, Name: "a.png",
				Width: 3, Height: 2}}},
		{Name: "nil screenshots become empty", Given: claimed(), When: run.Record{Runner: runnerA, Step: noShots},
			Then: []ev{&withShots}},
		{Name: "record out of sequence", Given: claimed(), When: run.Record{Runner: runnerA, Step: second},
			Err: domain.ErrInvalid, Fields: []string{"sequence"}},
		{Name: "record with contradicting success", Given: claimed(), When: run.Record{Runner: runnerA,
			Step: func() eventschemas.StepRecorded { s := first; s.Success = false; return s }()},
			Err: domain.ErrInvalid, Fields: []string{"success"}},
		{Name: "record unknown status", Given: claimed(), When: run.Record{Runner: runnerA,
			Step: func() eventschemas.StepRecorded { s := first; s.Status = "Passed"; return s }()},
			Err: domain.ErrInvalid, Fields: []string{"status"}},
		{Name: "record a foreign event", Given: claimed(), When: run.Record{Runner: runnerA, Step: first,
			Extra: []ev{&eventschemas.RunRemoved{RunID: 40}}}, Err: domain.ErrInvalid, Fields: []string{"extra"}},
		{Name: "record by another runner", Given: claimed(), When: run.Record{Runner: runnerB, Step: first},
			Err: domain.ErrConflict},
		{Name: "record after a kill request", Given: killed(), When: run.Record{Runner: runnerA, Step: first},
			Then: []ev{&first}},
		{Name: "record after finish", Given: finished(eventschemas.StatusFailed), When: run.Record{Runner: runnerA,
			Step: first}, Err: domain.ErrConflict, Message: "has finished"},

		{Name: "renew", Given: claimed(), When: run.Renew{Runner: runnerA, Until: lease.Add(time.Minute)},
			Then: []ev{&eventschemas.LeaseRenewed{FeatureResultID: 81, Runner: runnerA, LeaseUntil: lease.Add(time.Minute)}}},
		{Name: "renew never shortens", Given: claimed(), When: run.Renew{Runner: runnerA, Until: t0}},
		{Name: "renew by another runner", Given: claimed(), When: run.Renew{Runner: runnerB, Until: lease.Add(time.Minute)},
			Err: domain.ErrConflict},

		{Name: "finish", Given: claimed(), When: run.Finish{Runner: runnerA, Status: eventschemas.StatusSuccess,
			Log: "ok", Now: t0},
			Then: []ev{&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusSuccess,
				Success: true, Log: "ok", FinishedAt: t0}}},
		{Name: "finish failed with steps not reached", Given: claimed(), When: run.Finish{Runner: runnerA,
			Status: eventschemas.StatusFailed, Reason: "element not found", NotReached: 3, Now: t0},
			Then: []ev{&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusFailed,
				Reason: "element not found", NotReached: 3, FinishedAt: t0}}},
		{Name: "finish after a kill is Canceled", Given: killed(), When: run.Finish{Runner: runnerA,
			Status: eventschemas.StatusSuccess, Now: t0},
			Then: []ev{&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusCanceled,
				Reason: "killed by account 2", FinishedAt: t0}}},
		{Name: "finish with unknown status", Given: claimed(), When: run.Finish{Runner: runnerA, Status: "Skipped"},
			Err: domain.ErrInvalid},
		{Name: "finish twice", Given: finished(eventschemas.StatusSuccess), When: run.Finish{Runner: runnerA,
			Status: eventschemas.StatusSuccess}, Err: domain.ErrConflict},

		{Name: "kill queued result finishes it", Given: allocated(), When: run.Kill{RunID: 40, Reason: "killed",
			By: 2, Now: t0},
			Then: []ev{
				&eventschemas.RunKilled{FeatureResultID: 81, RunID: 40, FeatureID: 12, Reason: "killed", KilledBy: 2},
				&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusCanceled,
					Reason: "killed before it started", FinishedAt: t0},
			}},
		{Name: "kill running result asks its runner", Given: claimed(), When: run.Kill{RunID: 40, By: 2, Now: t0},
			Then: []ev{&eventschemas.RunKilled{FeatureResultID: 81, RunID: 40, FeatureID: 12,
				Reason: "aborted: the run was killed", KilledBy: 2}}},
		{Name: "kill twice", Given: killed(), When: run.Kill{RunID: 40, By: 2, Now: t0}},
		{Name: "kill finished", Given: finished(eventschemas.StatusSuccess), When: run.Kill{RunID: 40, Now: t0}},

		{Name: "expire", Given: claimed(), When: run.Expire{DetectedBy: runnerB, Now: lease.Add(time.Second)},
			Then: []ev{
				&eventschemas.LeaseExpired{FeatureResultID: 81, Runner: runnerA, LeaseUntil: lease,
					DetectedBy: runnerB, DetectedAt: lease.Add(time.Second)},
				&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusFailed,
					Reason: "the runner runner-a stopped renewing its lease, which expired at " +
						"2026-05-01T10:01:00Z; the result was ended by runner-b",
					FinishedAt: lease.Add(time.Second)},
			}},
		{Name: "expire a killed result", Given: killed(), When: run.Expire{DetectedBy: runnerB,
			Now: lease.Add(time.Second)},
			Then: []ev{
				&eventschemas.LeaseExpired{FeatureResultID: 81, Runner: runnerA, LeaseUntil: lease,
					DetectedBy: runnerB, DetectedAt: lease.Add(time.Second)},
				&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusCanceled,
					Reason: "killed by account 2; the runner runner-a stopped renewing its lease, which expired at " +
						"2026-05-01T10:01:00Z; the result was ended by runner-b",
					FinishedAt: lease.Add(time.Second)},
			}},
		{Name: "lease not expired yet", Given: claimed(), When: run.Expire{DetectedBy: runnerB, Now: lease}},
		{Name: "renewed lease not expired", Given: append(claimed(), &eventschemas.LeaseRenewed{FeatureResultID: 81,
			Runner: runnerA, LeaseUntil: lease.Add(time.Hour)}), When: run.Expire{DetectedBy: runnerB,
			Now: lease.Add(time.Second)}},
		{Name: "expire finished", Given: finished(eventschemas.StatusSuccess), When: run.Expire{DetectedBy: runnerB,
			Now: lease.Add(time.Hour)}},

		{Name: "archive", Given: finished(eventschemas.StatusSuccess), When: run.ArchiveResult{Archived: true},
			Then: []ev{&eventschemas.ResultArchived{FeatureResultID: 81, Archived: true}}},
		{Name: "remove", Given: finished(eventschemas.StatusSuccess), When: run.RemoveResult{},
			Then: []ev{&eventschemas.ResultRemoved{FeatureResultID: 81}}},
		{Name: "remove archived", Given: append(finished(eventschemas.StatusSuccess),
			&eventschemas.ResultArchived{FeatureResultID: 81, Archived: true}), When: run.RemoveResult{},
			Err: domain.ErrConflict, Message: "archived"},
		{Name: "remove running", Given: claimed(), When: run.RemoveResult{}, Err: domain.ErrConflict},
		{Name: "claim removed", Given: append(allocated(), &eventschemas.ResultRemoved{FeatureResultID: 81}),
			When: run.Claim{RunID: 40, Runner: runnerA, Now: t0, LeaseUntil: lease}, Err: domain.ErrNotFound},
	})
}

func TestNotHolderIsConflict(t *testing.T) {
	t.Parallel()
	s := run.FoldResult(claimed())
	_, err := s.Decide(run.Renew{Runner: runnerB, Until: lease.Add(time.Hour)})
	if !errors.Is(err, domain.ErrConflict) || !errors.Is(err, run.ErrNotHolder) {
		t.Errorf("error %v is not ErrNotHolder, a conflict", err)
	}
}
