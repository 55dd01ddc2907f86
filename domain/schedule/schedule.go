// Package schedule is the pure domain of feature schedules: which
// expressions and zones are accepted, when a schedule fires (see Spec for
// the daylight saving rules), and the decision to set or clear a schedule.
// It does no I/O besides reading the zone database and reads no clock: the
// time comes in with the command.
package schedule

import (
	"strconv"
	"strings"
	"time"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// CatchUp is what happens to ticks that every scheduler missed.
type CatchUp string

const (
	// CatchUpSkip records missed ticks and runs none of them. It is the
	// default.
	CatchUpSkip CatchUp = "skip"
	// CatchUpRunOnce records missed ticks and runs the latest of them late,
	// once, unless a tick that fired on time follows them.
	CatchUpRunOnce CatchUp = "run_once"
)

// Schedule is the active schedule of one feature. Expression and Zone are
// exactly what the user gave (Zone "UTC" when none was given).
type Schedule struct {
	FeatureID  int64
	Expression string
	Zone       string
	// OwnerID is the account whose permissions scheduled runs use.
	OwnerID int64
	CatchUp CatchUp
	// Since is when this schedule was set; it has no ticks before.
	Since time.Time
}

// Spec parses the schedule. A stored schedule was validated when it was
// set, so an error here means the zone database lost a zone.
func (s Schedule) Spec() (*Spec, error) { return Parse(s.Expression, s.Zone) }

// Actor is the envelope actor of the schedule's runs and fired ticks.
func (s Schedule) Actor() string { return "account-" + strconv.FormatInt(s.OwnerID, 10) }

// State is what the schedule stream says about a feature's schedule.
type State struct {
	Schedule
	// Active is false before the first FeatureScheduled and after
	// ScheduleCleared.
	Active bool
}

// Stream is the stream of a feature's schedule events.
func Stream(featureID int64) string { return "schedule-" + strconv.FormatInt(featureID, 10) }

// TickStream is the stream that claims one tick of a feature's schedule.
// The name holds the instant the tick fires, so the same instant fires at
// most once per feature even if the schedule is changed and set back.
func TickStream(featureID int64, f Fire) string {
	return "tick-" + strconv.FormatInt(featureID, 10) + "-" + f.ID()
}

// Set asks to set a feature's schedule. The empty Expression (or one of
// only spaces) clears it; Zone, OwnerID and CatchUp are then ignored.
type Set struct {
	FeatureID  int64
	Expression string
	// Zone is an IANA zone name; empty means UTC.
	Zone    string
	OwnerID int64
	// CatchUp is empty for CatchUpSkip.
	CatchUp CatchUp
	// Now is the command's clock reading.
	Now time.Time
}

// Decide returns the events that apply cmd to the schedule in state: none
// when the schedule already is what cmd asks for, FeatureScheduled for a
// new or changed schedule, ScheduleCleared to remove one. Every refusal
// is a *domain.FieldError (matching domain.ErrInvalid) naming the field and
// the problem. Whether the feature exists and whether the actor may edit it
// are the caller's checks: they need read models.
func (state State) Decide(cmd Set) ([]eventschemas.Payload, error) {
	if cmd.FeatureID <= 0 {
		return nil, domain.Invalid("feature_id", "feature id %d: not a feature id", cmd.FeatureID)
	}
	if strings.TrimSpace(cmd.Expression) == "" {
		if !state.Active {
			return nil, nil
		}
		return []eventschemas.Payload{&eventschemas.ScheduleCleared{
			FeatureID: cmd.FeatureID, At: cmd.Now.UTC(),
		}}, nil
	}

	policy := cmd.CatchUp
	if policy == "" {
		policy = CatchUpSkip
	}
	if policy != CatchUpSkip && policy != CatchUpRunOnce {
		return nil, domain.Invalid("catch_up", "catch-up policy %q: want %q or %q",
			policy, CatchUpSkip, CatchUpRunOnce)
	}
	if cmd.OwnerID <= 0 {
		return nil, domain.Invalid("owner_id", "a schedule needs an owner account, got %d", cmd.OwnerID)
	}
	spec, err := Parse(cmd.Expression, cmd.Zone)
	if err != nil {
		return nil, err
	}
	if _, ok := spec.Next(cmd.Now); !ok {
		return nil, domain.Invalid(fieldExpression, "cron expression %q: never fires", cmd.Expression)
	}

	next := Schedule{
		FeatureID: cmd.FeatureID, Expression: cmd.Expression, Zone: spec.Zone(),
		OwnerID: cmd.OwnerID, CatchUp: policy,
	}
	if state.Active && state.SameSettings(next) {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.FeatureScheduled{
		FeatureID: next.FeatureID, Expression: next.Expression, Zone: next.Zone,
		OwnerID: next.OwnerID, CatchUp: string(next.CatchUp), At: cmd.Now.UTC(),
	}}, nil
}

// SameSettings reports whether s and o are the same schedule of the same
// feature, whenever each was set.
func (s Schedule) SameSettings(o Schedule) bool {
	return s.FeatureID == o.FeatureID && s.Expression == o.Expression && s.Zone == o.Zone &&
		s.OwnerID == o.OwnerID && s.CatchUp == o.CatchUp
}

// Evolve applies one event of the schedule stream to state (see
// domain.Fold). Events of other types leave it unchanged.
func (state State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.FeatureScheduled:
		return State{Active: true, Schedule: Schedule{
			FeatureID: e.FeatureID, Expression: e.Expression, Zone: e.Zone,
			OwnerID: e.OwnerID, CatchUp: CatchUp(e.CatchUp), Since: e.At,
		}}
	case *eventschemas.ScheduleCleared:
		return State{Schedule: Schedule{FeatureID: e.FeatureID}}
	}
	return state
}

// TickTime returns the nominal time fields of a tick event.
func TickTime(s Schedule, f Fire) eventschemas.TickTime {
	return eventschemas.TickTime{
		FeatureID: s.FeatureID, Tick: f.ID(), Expression: s.Expression, Zone: s.Zone,
		NominalLocal: f.Nominal, NominalUTC: f.At.UTC(), Shifted: f.Shifted,
	}
}
