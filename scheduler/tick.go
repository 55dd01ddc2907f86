package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// errClaimedElsewhere is the conflict of a tick claim: another scheduler
// was first. It is how replicas lose a tick and never an error.
var errClaimedElsewhere = errors.New("tick claimed elsewhere")

// handleDue handles every tick of e that is due: those after e's cursor
// up to now. A tick at most Grace late fires; a later one is recorded as
// missed, except that under run_once the last of a run of missed ticks
// fires late when no tick that is on time follows it. The cursor moves
// past a tick once its claim is settled (fired, missed, or lost to another
// scheduler); an error leaves it there for the next poll.
func (s *Scheduler) handleDue(ctx context.Context, e *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dispatched.Store(false)
	now := s.cfg.Clock.Now()
	fires, more := e.spec.Between(e.cursor, now, s.cfg.BatchLimit)
	if more {
		e.backlog.Store(true)
		s.logger.WarnContext(ctx, "tick backlog larger than one batch", "feature_id", e.sched.FeatureID,
			"from", e.cursor, "batch", len(fires))
	}
	for i, f := range fires {
		if ctx.Err() != nil {
			return
		}
		r := TickResult{FeatureID: e.sched.FeatureID, Fire: f, Outcome: Fired}
		var err error
		switch late := now.Sub(f.At); {
		case late <= s.cfg.Grace:
			r.RunID, err = s.fire(ctx, e.sched, f, false)
		case e.sched.CatchUp == schedule.CatchUpRunOnce && i == len(fires)-1 && !more:
			r.CatchUp = true
			r.RunID, err = s.fire(ctx, e.sched, f, true)
		default:
			r.Outcome = Missed
			err = s.miss(ctx, e.sched, f)
		}
		switch {
		case errors.Is(err, errClaimedElsewhere):
			r.Outcome = ClaimedElsewhere
		case err != nil:
			r.Outcome, r.Err = Failed, err
		}
		s.report(ctx, r)
		if r.Outcome == Failed && !errors.Is(err, errRunNotRequested) {
			e.backlog.Store(true)
			return
		}
		e.cursor = f.At
	}
}

// errRunNotRequested marks a tick that was claimed but whose run request
// failed: the tick is settled, the run is finished later.
var errRunNotRequested = errors.New("run not requested")

// fire claims a tick and requests its run.
func (s *Scheduler) fire(ctx context.Context, sched schedule.Schedule, f schedule.Fire, catchUp bool) (int64, error) {
	stream := schedule.TickStream(sched.FeatureID, f)
	now := s.cfg.Clock.Now()
	id, err := s.appendTick(ctx, stream, eventstore.NoStream(), sched.Actor(), &eventschemas.ScheduleTickFired{
		TickTime: schedule.TickTime(sched, f), OwnerID: sched.OwnerID,
		CorrelationID: stream, CatchUp: catchUp, At: now.UTC(),
	})
	if err != nil {
		return 0, err
	}
	runID, err := s.request(ctx, Claim{
		FeatureID: sched.FeatureID, OwnerID: sched.OwnerID, Stream: stream, Tick: f.ID(),
		EventID: id, ClaimedAt: now,
	})
	if err != nil {
		if refused(err) {
			s.settle(stream, false)
		}
		return 0, fmt.Errorf("%w: %w", errRunNotRequested, err)
	}
	return runID, nil
}

// refused reports whether err is the run commands refusing a run for good:
// the feature was deleted or has no steps to run, the owner was deleted or
// lost run_feature. Asking again with the same request cannot succeed: the
// refusal is recorded in the tick stream (ScheduleTickRunRefused) and no
// scheduler asks again.
func refused(err error) bool {
	return errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrForbidden) ||
		errors.Is(err, domain.ErrInvalid)
}

// settle marks a claim's tick stream as dealt with by this scheduler;
// listed says whether the latest snapshot listed it.
func (s *Scheduler) settle(stream string, listed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled[stream] = listed
}

// miss records a tick as missed.
func (s *Scheduler) miss(ctx context.Context, sched schedule.Schedule, f schedule.Fire) error {
	stream := schedule.TickStream(sched.FeatureID, f)
	_, err := s.appendTick(ctx, stream, eventstore.NoStream(), s.cfg.Identity, &eventschemas.ScheduleTickMissed{
		TickTime: schedule.TickTime(sched, f), DetectedAt: s.cfg.Clock.Now().UTC(),
	})
	return err
}

// request asks for the run of a claimed tick and records that it did. The
// run request is idempotent on the tick's key, so a claim finished twice
// (by its claimer, late, and by another scheduler) still runs once; of two
// records only the first is appended.
func (s *Scheduler) request(ctx context.Context, c Claim) (int64, error) {
	runID, err := s.runs.RequestRun(ctx, RunRequest{
		Key: RunKey(c.Stream), FeatureID: c.FeatureID, OwnerID: c.OwnerID,
		CorrelationID: c.Stream, CausationID: c.EventID.String(),
	})
	if err != nil && refused(err) {
		return 0, s.recordRefusal(ctx, c, err)
	}
	if err != nil {
		return 0, fmt.Errorf("request run of tick %q: %w", c.Stream, err)
	}
	_, err = s.appendTick(ctx, c.Stream, eventstore.Exact(0), s.cfg.Identity, &eventschemas.ScheduleTickRunRequested{
		FeatureID: c.FeatureID, Tick: c.Tick, RunID: runID, CorrelationID: c.Stream,
		At: s.cfg.Clock.Now().UTC(),
	})
	if err != nil && !errors.Is(err, errClaimedElsewhere) {
		return 0, err
	}
	return runID, nil
}

// recordRefusal records in the tick stream of claim c that its run was
// refused with refusal, and returns refusal wrapped. When the record
// cannot be appended, it returns that error instead, which is no refusal:
// the claim stays unfinished and is asked for again later.
func (s *Scheduler) recordRefusal(ctx context.Context, c Claim, refusal error) error {
	_, err := s.appendTick(ctx, c.Stream, eventstore.Exact(0), s.cfg.Identity, &eventschemas.ScheduleTickRunRefused{
		FeatureID: c.FeatureID, Tick: c.Tick, CorrelationID: c.Stream,
		Category: domain.Category(refusal), Reason: refusal.Error(), At: s.cfg.Clock.Now().UTC(),
	})
	if err != nil && !errors.Is(err, errClaimedElsewhere) {
		return fmt.Errorf("record the refused run of tick %q (%v): %w", c.Stream, refusal, err)
	}
	return fmt.Errorf("request run of tick %q: %w", c.Stream, refusal)
}

// finishClaims requests the runs of fired ticks whose claimer did not
// record the request within Grace (it stopped, or lost the store).
func (s *Scheduler) finishClaims(ctx context.Context) {
	s.mu.Lock()
	claims := slices.Clone(s.pending)
	s.mu.Unlock()
	now := s.cfg.Clock.Now()
	for _, c := range claims {
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		_, done := s.settled[c.Stream]
		s.mu.Unlock()
		if done || now.Sub(c.ClaimedAt) <= s.cfg.Grace {
			continue
		}
		runID, err := s.finishClaim(ctx, c)
		switch {
		case err != nil && refused(err):
			s.logger.WarnContext(ctx, "scheduled run refused", "tick_stream", c.Stream, "err", err)
			s.settle(c.Stream, true)
			continue
		case err != nil:
			if ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "finish claimed tick", "tick_stream", c.Stream, "err", err)
			}
			continue
		}
		s.settle(c.Stream, true)
		if runID != 0 {
			s.logger.InfoContext(ctx, "claimed tick finished", "tick_stream", c.Stream, "run_id", runID,
				"claimed_at", c.ClaimedAt)
		}
	}
}

// finishClaim requests the run of claim c unless its tick stream shows
// that the request was recorded since (the Source may lag behind it); the
// run id is 0 then.
func (s *Scheduler) finishClaim(ctx context.Context, c Claim) (int64, error) {
	events, err := s.log.Store().ReadStream(ctx, c.Stream, eventstore.StreamQuery{Count: 2})
	if err != nil {
		return 0, fmt.Errorf("read tick stream %q: %w", c.Stream, err)
	}
	if len(events) > 1 {
		return 0, nil
	}
	return s.request(ctx, c)
}

// appendTick appends one event to a tick stream and returns its id. Each
// attempt gets a new random event id: with ids derived from the tick, the
// store would take a second replica's claim for a retry of the first and
// acknowledge it, and both would fire. A conflict is errClaimedElsewhere.
func (s *Scheduler) appendTick(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	actor string, p eventschemas.Payload) (uuid.UUID, error) {
	typ, version, data, err := s.log.Registry().Encode(p)
	if err != nil {
		return uuid.Nil, fmt.Errorf("append to stream %q: %w", stream, err)
	}
	id := uuid.New()
	_, err = s.log.Store().Append(ctx, stream, expected, eventstore.EventData{
		ID: id, Type: typ, SchemaVersion: version, Data: data,
		OccurredAt: s.cfg.Clock.Now().UTC(), Actor: actor, CorrelationID: stream,
	})
	switch {
	case errors.Is(err, eventstore.ErrConflict):
		return uuid.Nil, fmt.Errorf("append %s to stream %q: %w", typ, stream, errClaimedElsewhere)
	case err != nil:
		return uuid.Nil, fmt.Errorf("append %s to stream %q: %w", typ, stream, err)
	}
	return id, nil
}
