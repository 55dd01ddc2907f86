package eventschemas

import "time"

// Event types of schedules. FeatureScheduled and ScheduleCleared live in
// the schedule stream ("schedule-<feature_id>"); the tick events live in one
// stream per tick ("tick-<feature_id>-<tick>"), whose first event claims the
// tick: it is appended with "no stream" expected, so a tick is fired or
// recorded as missed exactly once.
const (
	TypeFeatureScheduled         = "FeatureScheduled"
	TypeScheduleCleared          = "ScheduleCleared"
	TypeScheduleTickFired        = "ScheduleTickFired"
	TypeScheduleTickMissed       = "ScheduleTickMissed"
	TypeScheduleTickRunRequested = "ScheduleTickRunRequested"
	TypeScheduleTickRunRefused   = "ScheduleTickRunRefused"
)

// scheduleSchemas lists the schemas of the schedule events.
func scheduleSchemas() []Schema {
	return []Schema{
		v1[FeatureScheduled](),
		v1[ScheduleCleared](),
		v1[ScheduleTickFired](),
		v1[ScheduleTickMissed](),
		v1[ScheduleTickRunRequested](),
		v1[ScheduleTickRunRefused](),
	}
}

// FeatureScheduled sets (or replaces) the schedule of a feature. Expression
// and Zone are stored exactly as the user gave them: nothing is converted
// to UTC. Zone is an IANA name, "UTC" when none was given. OwnerID is the
// account the scheduled runs run as. CatchUp is "skip" (missed ticks are
// only recorded) or "run_once" (after missed ticks, the latest one runs).
type FeatureScheduled struct {
	FeatureID  int64     `json:"feature_id"`
	Expression string    `json:"expression"`
	Zone       string    `json:"zone"`
	OwnerID    int64     `json:"owner_id"`
	CatchUp    string    `json:"catch_up"`
	At         time.Time `json:"at"`
}

// EventType returns TypeFeatureScheduled.
func (*FeatureScheduled) EventType() string { return TypeFeatureScheduled }

// ScheduleCleared removes the schedule of a feature.
type ScheduleCleared struct {
	FeatureID int64     `json:"feature_id"`
	At        time.Time `json:"at"`
}

// EventType returns TypeScheduleCleared.
func (*ScheduleCleared) EventType() string { return TypeScheduleCleared }

// TickTime is the nominal time of a tick, shared by the tick events.
// NominalLocal is the local wall time the expression matched, as
// "2006-01-02T15:04" in Zone; NominalUTC is the instant the tick fires,
// which is the end of the gap when Shifted (the wall time did not exist
// because of a spring-forward change). Tick is NominalUTC as
// "20060102T150405Z", the tick's identity within its schedule.
type TickTime struct {
	FeatureID    int64     `json:"feature_id"`
	Tick         string    `json:"tick"`
	Expression   string    `json:"expression"`
	Zone         string    `json:"zone"`
	NominalLocal string    `json:"nominal_local"`
	NominalUTC   time.Time `json:"nominal_utc"`
	Shifted      bool      `json:"shifted"`
}

// ScheduleTickFired claims a tick for running. The envelope's actor is the
// schedule's owner and its correlation id is CorrelationID, which the run
// carries too. CatchUp is true when the tick was missed and fired late
// under the "run_once" policy. At is when the tick was claimed.
type ScheduleTickFired struct {
	TickTime
	OwnerID       int64     `json:"owner_id"`
	CorrelationID string    `json:"correlation_id"`
	CatchUp       bool      `json:"catch_up"`
	At            time.Time `json:"at"`
}

// EventType returns TypeScheduleTickFired.
func (*ScheduleTickFired) EventType() string { return TypeScheduleTickFired }

// ScheduleTickMissed records a tick that no scheduler claimed in time (all
// were down) and that was therefore not run. DetectedAt is when a
// scheduler noticed.
type ScheduleTickMissed struct {
	TickTime
	DetectedAt time.Time `json:"detected_at"`
}

// EventType returns TypeScheduleTickMissed.
func (*ScheduleTickMissed) EventType() string { return TypeScheduleTickMissed }

// ScheduleTickRunRequested follows ScheduleTickFired in the tick's stream
// once the run has been requested. A fired tick without it was claimed by a
// scheduler that stopped before requesting the run; any scheduler finishes
// such a tick (the request is idempotent on the tick).
type ScheduleTickRunRequested struct {
	FeatureID     int64     `json:"feature_id"`
	Tick          string    `json:"tick"`
	RunID         int64     `json:"run_id"`
	CorrelationID string    `json:"correlation_id"`
	At            time.Time `json:"at"`
}

// EventType returns TypeScheduleTickRunRequested.
func (*ScheduleTickRunRequested) EventType() string { return TypeScheduleTickRunRequested }

// ScheduleTickRunRefused follows ScheduleTickFired in the tick's stream, in
// place of ScheduleTickRunRequested, when the run commands refused the run
// for good: the feature was deleted or has no steps, its department was
// deleted, the owner was deleted or may no longer run it. No scheduler asks
// for the tick's run again. Category is the refusal's kind as
// domain.Category names it ("not_found", "forbidden" or "invalid") and
// Reason the refusal's message.
type ScheduleTickRunRefused struct {
	FeatureID     int64     `json:"feature_id"`
	Tick          string    `json:"tick"`
	CorrelationID string    `json:"correlation_id"`
	Category      string    `json:"category"`
	Reason        string    `json:"reason"`
	At            time.Time `json:"at"`
}

// EventType returns TypeScheduleTickRunRefused.
func (*ScheduleTickRunRefused) EventType() string { return TypeScheduleTickRunRefused }
