package commands

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// Held is a feature result claimed by one runner: the handle through which
// that runner records what it does. It keeps the result's state and the
// revision it last wrote, and appends every event with that revision
// expected, so a write lands only while the runner still holds the result.
// When the stream moved (a kill was requested, another runner ended an
// expired lease) the append conflicts; Held reloads, decides again, and a
// runner that lost the result gets run.ErrNotHolder.
//
// A Held is safe for concurrent use (steps and lease renewal write from
// different goroutines).
type Held struct {
	log    *Log
	id     int64
	runner string
	actor  string
	corr   string
	now    func() time.Time

	mu    sync.Mutex
	state run.Result
	rev   uint64
	cmd   uuid.UUID
}

// Claim hands feature result id of run runID to runner until leaseUntil,
// with the result's current revision expected: of two runners claiming the
// same result, exactly one succeeds and the other gets an error matching
// domain.ErrConflict (as does a claim of a finished or killed result). A
// result of a run that was never requested, or whose department has been
// deleted, is domain.ErrNotFound (see claimable). meta.Actor and
// meta.CorrelationID are stamped on every event the Held writes; now is
// its clock.
func (r *Runs) Claim(ctx context.Context, meta Meta, id, runID int64, runner string, leaseUntil time.Time,
	now func() time.Time) (*Held, error) {
	if err := r.claimable(ctx, runID); err != nil {
		return nil, fmt.Errorf("claim feature result %d: %w", id, err)
	}
	h := &Held{log: r.log, id: id, runner: runner, actor: meta.Actor, corr: meta.CorrelationID, now: now,
		cmd: uuid.New()}
	if err := h.reload(ctx); err != nil {
		return nil, fmt.Errorf("claim feature result %d: %w", id, err)
	}
	if _, err := h.do(ctx, run.Claim{RunID: runID, Runner: runner, Now: meta.Now, LeaseUntil: leaseUntil}); err != nil {
		return nil, fmt.Errorf("claim feature result %d: %w", id, err)
	}
	return h, nil
}

// claimable refuses, as not found, the claim of a result of run runID when
// the run was never requested or the department it was requested in has
// been deleted. The run queue drops such a department's queued results,
// but a runner may have read one before (from the queue or the log); this
// check stops it from starting it. It reads the department's stream just
// before the claim is appended, so a deletion appended between the two
// lets that one result run to its end, as any result claimed before the
// deletion does.
func (r *Runs) claimable(ctx context.Context, runID int64) error {
	history, _, err := r.log.Load(ctx, run.Stream(runID))
	if err != nil {
		return fmt.Errorf("load run %d: %w", runID, err)
	}
	s := run.Fold(payloadsOf(history))
	if !s.Exists {
		return domain.NotFound("run", runID)
	}
	dept := s.Requested.DepartmentID
	gone, err := departmentDeleted(ctx, r.log, dept)
	if err != nil {
		return err
	}
	if gone {
		return fmt.Errorf("run %d: its department %d was deleted: %w", runID, dept, domain.ErrNotFound)
	}
	return nil
}

// ID returns the feature result's id.
func (h *Held) ID() int64 { return h.id }

// State returns the result as the runner last saw it.
func (h *Held) State() run.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// Start records the browser the result executes in.
func (h *Held) Start(ctx context.Context, e eventschemas.ResultStarted) error {
	_, err := h.do(ctx, run.Start{Runner: h.runner, Event: e})
	return h.wrap("start", err)
}

// Record appends one executed step with its screenshot events.
func (h *Held) Record(ctx context.Context, step eventschemas.StepRecorded, extra ...eventschemas.Payload) error {
	_, err := h.do(ctx, run.Record{Runner: h.runner, Step: step, Extra: extra})
	return h.wrap(fmt.Sprintf("record step %d", step.Sequence), err)
}

// Renew extends the lease to until.
func (h *Held) Renew(ctx context.Context, until time.Time) error {
	_, err := h.do(ctx, run.Renew{Runner: h.runner, Until: until})
	return h.wrap("renew lease", err)
}

// Finish ends the result. A result whose kill was requested ends
// Canceled; the returned status is the one recorded.
func (h *Held) Finish(ctx context.Context, status, reason, log string, notReached int) (string, error) {
	events, err := h.do(ctx, run.Finish{Runner: h.runner, Status: status, Reason: reason, Log: log,
		NotReached: notReached, Now: h.now()})
	if err != nil {
		return "", h.wrap("finish", err)
	}
	for _, p := range events {
		if f, ok := p.(*eventschemas.ResultFinished); ok {
			return f.Status, nil
		}
	}
	return status, nil
}

func (h *Held) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s of feature result %d: %w", op, h.id, err)
}

// do decides c on the state the runner knows and appends the events with
// its revision expected; after a conflict it reloads and decides again,
// at most maxAttempts times.
func (h *Held) do(ctx context.Context, c run.ResultCommand) ([]eventschemas.Payload, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for attempt := 1; ; attempt++ {
		payloads, err := h.state.Decide(c)
		if err != nil || len(payloads) == 0 {
			return nil, err
		}
		meta := Meta{Actor: h.actor, CorrelationID: h.corr, CommandID: h.cmd, Now: h.now()}
		res, err := h.log.Append(ctx, run.ResultStream(h.id), eventstore.Exact(h.rev), meta, payloads...)
		if err == nil {
			h.rev = res.NextRevision
			for _, p := range payloads {
				h.state = h.state.Evolve(p)
			}
			return payloads, nil
		}
		if !errors.Is(err, eventstore.ErrConflict) || attempt == maxAttempts {
			return nil, err
		}
		if err := h.reloadLocked(ctx); err != nil {
			return nil, err
		}
	}
}

func (h *Held) reload(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reloadLocked(ctx)
}

func (h *Held) reloadLocked(ctx context.Context) error {
	history, _, err := h.log.Load(ctx, run.ResultStream(h.id))
	if err != nil {
		return err
	}
	h.state = run.FoldResult(payloadsOf(history))
	if len(history) > 0 {
		h.rev = history[len(history)-1].Revision
	}
	return nil
}

// KillResult asks feature result id of run runID to stop (see run.Kill):
// a queued one ends Canceled at once, a running one is stopped by its
// runner. killedBy is the asking account (0 for a service). changed is
// false when the result had already finished or been killed.
func (r *Runs) KillResult(ctx context.Context, meta Meta, id, runID int64, reason string, killedBy int64) (
	eventstore.AppendResult, bool, error) {
	res, changed, err := Handle(ctx, r.log, run.ResultStream(id), meta, func(s run.Result) ([]eventschemas.Payload, error) {
		if s.RunID != 0 {
			runID = s.RunID
		}
		return s.Decide(run.Kill{RunID: runID, Reason: reason, By: killedBy, Now: meta.Now.UTC()})
	})
	if err != nil {
		return res, false, fmt.Errorf("kill feature result %d: %w", id, err)
	}
	return res, changed, nil
}

// KillFeature kills every unfinished result of a feature (Cometa's
// killTask) and returns the ids it asked to stop.
func (r *Runs) KillFeature(ctx context.Context, meta Meta, featureID int64, reason string, killedBy int64) (
	[]int64, eventstore.AppendResult, error) {
	if r.running == nil {
		return nil, eventstore.AppendResult{}, errors.New("kill feature: no source of running results")
	}
	list, err := r.running.Unfinished(ctx, featureID)
	if err != nil {
		return nil, eventstore.AppendResult{}, fmt.Errorf("kill feature %d: %w", featureID, err)
	}
	var killed []int64
	var last eventstore.AppendResult
	for _, u := range list {
		res, changed, err := r.KillResult(ctx, meta, u.FeatureResultID, u.RunID, reason, killedBy)
		if err != nil {
			return killed, last, fmt.Errorf("kill feature %d: %w", featureID, err)
		}
		if changed {
			killed, last = append(killed, u.FeatureResultID), res
		}
	}
	return killed, last, nil
}

// ExpireLease ends feature result id when its runner let the lease run out
// before meta.Now (see run.Expire). expired is false when the result was
// not running or its lease was still valid.
func (r *Runs) ExpireLease(ctx context.Context, meta Meta, id int64, detectedBy string) (bool, error) {
	_, changed, err := Handle(ctx, r.log, run.ResultStream(id), meta, func(s run.Result) ([]eventschemas.Payload, error) {
		return s.Decide(run.Expire{DetectedBy: detectedBy, Now: meta.Now.UTC()})
	})
	if err != nil {
		return false, fmt.Errorf("expire the lease of feature result %d: %w", id, err)
	}
	return changed, nil
}

// Baselines returns the baselines of a feature.
func (r *Runs) Baselines(ctx context.Context, featureID int64) (run.Baselines, error) {
	history, _, err := r.log.Load(ctx, run.BaselineStream(featureID))
	if err != nil {
		return run.Baselines{}, fmt.Errorf("load baselines of feature %d: %w", featureID, err)
	}
	return run.FoldBaselines(payloadsOf(history)), nil
}

// RecordBaseline records b as the baseline of its key unless the key has
// one already; it returns the baseline in force and whether it is b.
func (r *Runs) RecordBaseline(ctx context.Context, meta Meta, b eventschemas.BaselineRecorded) (
	eventschemas.BaselineRecorded, bool, error) {
	var current run.Baselines
	_, recorded, err := Handle(ctx, r.log, run.BaselineStream(b.FeatureID), meta, func(s run.Baselines) ([]eventschemas.Payload, error) {
		current = s
		return s.Decide(run.RecordBaseline{Baseline: b})
	})
	if err != nil {
		return eventschemas.BaselineRecorded{}, false, fmt.Errorf("record baseline of feature %d: %w", b.FeatureID, err)
	}
	key := run.BaselineKey(b.StepID, b.Occurrence, b.BrowserKey)
	if recorded {
		b.Key = key
		return b, true, nil
	}
	return current.ByKey[key], false, nil
}
