package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
)

// Schedules is the read model of feature schedules (schema rm_schedules):
//
//	schedules (feature_id, expression, zone, owner_id, catch_up, since,
//	           active, changed_at, changed_by): the latest schedule of each
//	           feature that ever had one; active is false once cleared
//	changes   (feature_id, revision, kind, expression, zone, owner_id,
//	           catch_up, actor, actor_account, occurred_at,
//	           correlation_id): every FeatureScheduled ("set") and
//	           ScheduleCleared ("cleared"), by schedule stream revision
//	ticks     (stream, feature_id, tick, outcome, nominal_local,
//	           nominal_utc, shifted, expression, zone, owner_id, catch_up,
//	           event_id, recorded_at, actor, run_id, run_requested_at,
//	           refusal, refusal_category, refused_at): one row per tick
//	           stream, "fired" or "missed" as its first event says; run_id
//	           is set by ScheduleTickRunRequested, the refusal columns by
//	           ScheduleTickRunRefused
//	features  (feature_id, department_id, feature_name, deleted): the
//	           model's own copy of what department scoping and a deleted
//	           feature need; a feature of a deleted department counts as
//	           deleted
//	gone_departments (department_id): the deleted departments, so that a
//	           feature saved into one later is deleted too
//
// A schedule fires only while it is active and its feature is not deleted;
// ScheduleSource (the scheduler's Source) reads exactly that. Everything
// comes from the events and their envelopes, so a rebuild gives the same
// rows.
type Schedules struct{}

var (
	_ ReadModel = Schedules{}
	_ Queuer    = Schedules{}
)

// NewSchedules returns the schedules read model.
func NewSchedules() Schedules { return Schedules{} }

// Name returns "schedules".
func (Schedules) Name() string { return "schedules" }

// Version is the version of the tables below. Version 3: refused runs.
func (Schedules) Version() int { return 3 }

// DDL creates the tables.
func (Schedules) DDL() string {
	return `
CREATE TABLE schedules (
	feature_id bigint PRIMARY KEY,
	expression text NOT NULL,
	zone text NOT NULL,
	owner_id bigint NOT NULL,
	catch_up text NOT NULL,
	since timestamptz NOT NULL,
	active boolean NOT NULL,
	changed_at timestamptz NOT NULL,
	changed_by text NOT NULL
);
CREATE TABLE changes (
	feature_id bigint NOT NULL,
	revision bigint NOT NULL,
	kind text NOT NULL,
	expression text,
	zone text,
	owner_id bigint,
	catch_up text,
	actor text NOT NULL,
	actor_account bigint NOT NULL,
	occurred_at timestamptz NOT NULL,
	correlation_id text NOT NULL,
	PRIMARY KEY (feature_id, revision)
);
CREATE TABLE ticks (
	stream text PRIMARY KEY,
	feature_id bigint NOT NULL,
	tick text NOT NULL,
	outcome text NOT NULL,
	nominal_local text NOT NULL,
	nominal_utc timestamptz NOT NULL,
	shifted boolean NOT NULL,
	expression text NOT NULL,
	zone text NOT NULL,
	owner_id bigint NOT NULL,
	catch_up boolean NOT NULL,
	event_id uuid NOT NULL,
	recorded_at timestamptz NOT NULL,
	actor text NOT NULL,
	run_id bigint,
	run_requested_at timestamptz,
	refusal text,
	refusal_category text,
	refused_at timestamptz
);
CREATE INDEX ticks_feature ON ticks (feature_id, nominal_utc DESC);
CREATE INDEX ticks_unrequested ON ticks (recorded_at)
	WHERE outcome = 'fired' AND run_id IS NULL AND refusal IS NULL;
CREATE TABLE features (
	feature_id bigint PRIMARY KEY,
	department_id bigint NOT NULL,
	feature_name text NOT NULL,
	deleted boolean NOT NULL DEFAULT false
);
CREATE TABLE gone_departments (department_id bigint PRIMARY KEY);`
}

// EventTypes lists the schedule and tick events, the feature events that
// carry a feature's department, name and deletion, and DepartmentDeleted.
func (Schedules) EventTypes() []string {
	return []string{
		eventschemas.TypeFeatureScheduled, eventschemas.TypeScheduleCleared,
		eventschemas.TypeScheduleTickFired, eventschemas.TypeScheduleTickMissed,
		eventschemas.TypeScheduleTickRunRequested, eventschemas.TypeScheduleTickRunRefused,
		eventschemas.TypeFeatureSaved, eventschemas.TypeFeatureDeleted,
		eventschemas.TypeDepartmentDeleted,
	}
}

// The outcomes of a tick as the ticks table names them.
const (
	TickFired  = "fired"
	TickMissed = "missed"
)

// The kinds of a schedule change as the changes table names them.
const (
	ChangeSet     = "set"
	ChangeCleared = "cleared"
)

// Queue queues the statements for one event. Each is idempotent on its
// key, so applying an event twice changes nothing.
func (Schedules) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.FeatureScheduled:
		b.Queue(`INSERT INTO schedules (feature_id, expression, zone, owner_id, catch_up, since, active,
				changed_at, changed_by)
			VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8)
			ON CONFLICT (feature_id) DO UPDATE SET expression = $2, zone = $3, owner_id = $4, catch_up = $5,
				since = $6, active = true, changed_at = $7, changed_by = $8`,
			e.FeatureID, e.Expression, e.Zone, e.OwnerID, e.CatchUp, e.At, ev.OccurredAt, ev.Actor)
		queueChange(b, ev, e.FeatureID, ChangeSet, &e.Expression, &e.Zone, &e.OwnerID, &e.CatchUp)
	case *eventschemas.ScheduleCleared:
		b.Queue(`UPDATE schedules SET active = false, changed_at = $2, changed_by = $3 WHERE feature_id = $1`,
			e.FeatureID, ev.OccurredAt, ev.Actor)
		queueChange(b, ev, e.FeatureID, ChangeCleared, nil, nil, nil, nil)
	case *eventschemas.ScheduleTickFired:
		queueTick(b, ev, e.TickTime, TickFired, e.OwnerID, e.CatchUp, e.At)
	case *eventschemas.ScheduleTickMissed:
		queueTick(b, ev, e.TickTime, TickMissed, 0, false, e.DetectedAt)
	case *eventschemas.ScheduleTickRunRequested:
		// Only the first record of a tick counts (there is one: it is
		// appended at revision 1 of the tick stream).
		b.Queue(`UPDATE ticks SET run_id = $2, run_requested_at = $3
			WHERE stream = $1 AND run_id IS NULL AND refusal IS NULL`, ev.Stream, e.RunID, e.At)
	case *eventschemas.ScheduleTickRunRefused:
		// Like a request, a refusal is appended at revision 1: one of the
		// two, once.
		b.Queue(`UPDATE ticks SET refusal = $2, refusal_category = $3, refused_at = $4
			WHERE stream = $1 AND run_id IS NULL AND refusal IS NULL`, ev.Stream, e.Reason, e.Category, e.At)
	case *eventschemas.FeatureSaved:
		b.Queue(`INSERT INTO features (feature_id, department_id, feature_name) VALUES ($1, $2, $3)
			ON CONFLICT (feature_id) DO UPDATE SET department_id = $2, feature_name = $3`,
			e.FeatureID, e.Definition.DepartmentID, e.Definition.FeatureName)
		// A deleted feature is never saved again, so deleted can only have
		// been set by its department's deletion.
		b.Queue(`UPDATE features
			SET deleted = EXISTS (SELECT 1 FROM gone_departments g WHERE g.department_id = $2)
			WHERE feature_id = $1`, e.FeatureID, e.Definition.DepartmentID)
	case *eventschemas.FeatureDeleted:
		b.Queue(`INSERT INTO features (feature_id, department_id, feature_name, deleted) VALUES ($1, 0, '', true)
			ON CONFLICT (feature_id) DO UPDATE SET deleted = true`, e.FeatureID)
	case *eventschemas.DepartmentDeleted:
		b.Queue(`INSERT INTO gone_departments (department_id) VALUES ($1) ON CONFLICT (department_id) DO NOTHING`,
			e.DepartmentID)
		b.Queue(`UPDATE features SET deleted = true WHERE department_id = $1`, e.DepartmentID)
	default:
		return fmt.Errorf("schedules: unexpected payload %T", ev.Payload)
	}
	return nil
}

func queueChange(b *pgx.Batch, ev Event, featureID int64, kind string, expr, zone *string, owner *int64,
	catchUp *string) {
	b.Queue(`INSERT INTO changes (feature_id, revision, kind, expression, zone, owner_id, catch_up, actor,
			actor_account, occurred_at, correlation_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (feature_id, revision) DO NOTHING`,
		featureID, int64(ev.Revision), kind, expr, zone, owner, catchUp, ev.Actor, accountOfActor(ev.Actor),
		ev.OccurredAt, ev.CorrelationID)
}

// queueTick records the first event of a tick stream; a tick stream has
// exactly one, so a second is ignored.
func queueTick(b *pgx.Batch, ev Event, t eventschemas.TickTime, outcome string, owner int64, catchUp bool,
	at time.Time) {
	b.Queue(`INSERT INTO ticks (stream, feature_id, tick, outcome, nominal_local, nominal_utc, shifted,
			expression, zone, owner_id, catch_up, event_id, recorded_at, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (stream) DO NOTHING`,
		ev.Stream, t.FeatureID, t.Tick, outcome, t.NominalLocal, t.NominalUTC, t.Shifted, t.Expression, t.Zone,
		owner, catchUp, ev.ID, at, ev.Actor)
}

// Apply changes the tables for one event.
func (m Schedules) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	return applyQueued(ctx, tx, m, ev)
}
