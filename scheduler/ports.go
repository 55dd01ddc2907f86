// Package scheduler turns feature schedules into run requests, exactly once
// per tick, and records the ticks that every scheduler missed.
//
// A tick is claimed by appending ScheduleTickFired to the tick's own stream
// (schedule.TickStream) with "no stream" expected. Every replica computes
// the same ticks from the same schedules, so every replica tries; the store
// lets one append through and the others get a conflict, which is the
// normal way to lose and is logged at Debug only. The winner then asks a
// RunRequester for the run and records ScheduleTickRunRequested in the same
// stream, or ScheduleTickRunRefused when the run commands refuse the run for
// good (then nobody asks again). A winner that stops between the two leaves a fired tick without
// that record; any scheduler finishes such a tick once it is older than the
// grace period, which is safe because a run request is idempotent on its
// Key, derived from the tick.
//
// Ticks that come due while no scheduler runs are found when one starts
// again: every tick after a schedule's last recorded tick (or after it was
// set) that is later than the grace period is claimed as ScheduleTickMissed
// in its tick stream, again with "no stream" expected, and is not run,
// unless the schedule's catch-up policy is run_once, in which case the
// latest of them is fired late.
//
// See docs/scheduling.md for the daylight saving rules.
package scheduler

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain/schedule"
)

// RunRequest asks for one run of a feature on behalf of a schedule tick.
type RunRequest struct {
	// Key identifies the request; it is derived from the tick (RunKey), so
	// the same tick always asks with the same Key.
	Key       uuid.UUID
	FeatureID int64
	// OwnerID is the account the run runs as: its actor is
	// "account-<OwnerID>".
	OwnerID int64
	// CorrelationID is the tick stream's name; the run's events carry it.
	CorrelationID string
	// CausationID is the id of the ScheduleTickFired event.
	CausationID string
}

// RunRequester starts runs. The runner implements it.
type RunRequester interface {
	// RequestRun requests a run and returns its id. It must be idempotent
	// on req.Key: a second call with the same Key (after a crash, or from
	// another replica finishing the tick) starts no second run and returns
	// the first run's id.
	RequestRun(ctx context.Context, req RunRequest) (runID int64, err error)
}

// runKeySpace is the UUID namespace of run request keys.
var runKeySpace = uuid.MustParse("6f1c2a4e-9b3d-4c5e-8a7f-3e2d1c0b9a87")

// RunKey returns the run request key of a tick stream.
func RunKey(tickStream string) uuid.UUID { return uuid.NewSHA1(runKeySpace, []byte(tickStream)) }

// Source tells the scheduler which schedules are active and where each
// stands. A read model implements it; LogSource folds the event log.
type Source interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Snapshot is the scheduler's view of the schedules at one moment.
type Snapshot struct {
	// Schedules are the active schedules, one per feature.
	Schedules []Active
	// Unrequested are fired ticks whose run request is not recorded yet.
	Unrequested []Claim
}

// Active is an active schedule and its latest recorded tick.
type Active struct {
	schedule.Schedule
	// LastTick is the fire instant of the latest tick recorded as fired
	// or missed, zero when there is none.
	LastTick time.Time
}

// Claim is a fired tick: the ScheduleTickFired event that claimed it.
type Claim struct {
	FeatureID int64
	OwnerID   int64
	// Stream is the tick stream; it is also the run's correlation id.
	Stream string
	Tick   string
	// EventID is the id of the ScheduleTickFired event.
	EventID   uuid.UUID
	ClaimedAt time.Time
}

// Clock is the scheduler's time. Tests drive a fake one.
type Clock interface {
	Now() time.Time
	// WakeAt returns a channel that receives once the clock has reached t,
	// at once when it already has.
	WakeAt(t time.Time) <-chan time.Time
}

// SystemClock is the machine's clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// WakeAt returns time.After(time.Until(t)).
func (SystemClock) WakeAt(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }
