package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ScheduleView is a feature's schedule as the schedules model has it: the
// expression and zone exactly as the user gave them, the owner the runs
// run as, and the latest recorded tick.
type ScheduleView struct {
	FeatureID    int64  `json:"feature_id"`
	FeatureName  string `json:"feature_name"`
	DepartmentID int64  `json:"department_id"`
	Expression   string `json:"schedule"`
	Zone         string `json:"original_timezone"`
	OwnerID      int64  `json:"owner_id"`
	// Owner is the owner's account, nil when the accounts model does not
	// know it (any more).
	Owner   *AccountRef `json:"owner"`
	CatchUp string      `json:"catch_up"`
	// Since is when the schedule was set; it has no ticks before.
	Since time.Time `json:"since"`
	// Active is false once the schedule was cleared.
	Active    bool      `json:"active"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
	// LastTick is the nominal instant of the latest tick recorded as fired
	// or missed, nil when there is none.
	LastTick *time.Time `json:"last_tick"`
}

// TickView is one tick of a schedule: fired (claimed for a run) or missed
// (every scheduler was down).
type TickView struct {
	// Stream is the tick stream; it is also the correlation id of the
	// tick's run.
	Stream       string    `json:"stream"`
	Tick         string    `json:"tick"`
	Outcome      string    `json:"outcome"`
	NominalUTC   time.Time `json:"nominal_utc"`
	NominalLocal string    `json:"nominal_local"`
	Shifted      bool      `json:"shifted"`
	Expression   string    `json:"schedule"`
	Zone         string    `json:"original_timezone"`
	// CatchUp is true for a missed tick fired late by the run_once policy.
	CatchUp bool `json:"catch_up"`
	// RecordedAt is when the tick was claimed (fired) or noticed (missed).
	RecordedAt time.Time `json:"recorded_at"`
	Actor      string    `json:"actor"`
	// RunID is the requested run of a fired tick, nil until the request
	// is recorded (and for missed ticks).
	RunID          *int64     `json:"run_id"`
	RunRequestedAt *time.Time `json:"run_requested_at"`
	// RunRefused is why the run commands refused the run of a fired tick
	// (nil when they did not, and for missed ticks); RunRefusedCategory
	// is its kind ("not_found", "forbidden" or "invalid").
	RunRefused         *string    `json:"run_refused"`
	RunRefusedCategory *string    `json:"run_refused_category"`
	RunRefusedAt       *time.Time `json:"run_refused_at"`
}

// ChangeView is one change of a feature's schedule: "set" (with the new
// schedule) or "cleared".
type ChangeView struct {
	Revision   int64   `json:"revision"`
	Kind       string  `json:"kind"`
	Expression *string `json:"schedule"`
	Zone       *string `json:"original_timezone"`
	OwnerID    *int64  `json:"owner_id"`
	CatchUp    *string `json:"catch_up"`
	// Actor is the envelope's actor, e.g. "account-3".
	Actor string `json:"actor"`
	// ActorAccount is the actor's account when it is one the accounts
	// model knows.
	ActorAccount  *AccountRef `json:"actor_account"`
	OccurredAt    time.Time   `json:"occurred_at"`
	CorrelationID string      `json:"correlation_id"`
}

// ScheduledFeature is the schedules model's copy of a feature.
type ScheduledFeature struct {
	FeatureID    int64
	DepartmentID int64
	Name         string
	Deleted      bool
}

// ActiveSchedule is a schedule that fires: active, of a feature that is
// not deleted.
type ActiveSchedule struct {
	FeatureID  int64
	Expression string
	Zone       string
	OwnerID    int64
	CatchUp    string
	Since      time.Time
	// LastTick is the nominal instant of the latest tick recorded as fired
	// or missed, zero when there is none.
	LastTick time.Time
}

// UnrequestedTick is a fired tick whose run request is not recorded.
type UnrequestedTick struct {
	FeatureID int64
	OwnerID   int64
	Stream    string
	Tick      string
	EventID   uuid.UUID
	ClaimedAt time.Time
}

// ScheduleReader queries the schedules read model. Owner and actor names
// come from the accounts model, joined at read time.
type ScheduleReader struct{ pool *pgxpool.Pool }

// NewScheduleReader returns a reader on pool.
func NewScheduleReader(pool *pgxpool.Pool) *ScheduleReader { return &ScheduleReader{pool: pool} }

const scheduleQuery = `SELECT s.feature_id, f.feature_name, f.department_id, s.expression, s.zone,
		s.owner_id, a.account_id, a.name, a.email, s.catch_up, s.since, s.active, s.changed_at,
		s.changed_by, (SELECT max(t.nominal_utc) FROM rm_schedules.ticks t WHERE t.feature_id = s.feature_id)
	FROM rm_schedules.schedules s
	JOIN rm_schedules.features f ON f.feature_id = s.feature_id AND NOT f.deleted
	LEFT JOIN rm_accounts.accounts a ON a.account_id = s.owner_id`

// List returns the active schedules of the live features of the
// departments (all departments when all is set), by feature id.
func (r *ScheduleReader) List(ctx context.Context, departments []int64, all bool) ([]ScheduleView, error) {
	rows, err := r.pool.Query(ctx, scheduleQuery+`
		WHERE s.active AND ($2 OR f.department_id = ANY($1)) ORDER BY s.feature_id`, departments, all)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSchedule)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// Get returns the latest schedule of live feature id, active or cleared;
// ok is false when the feature never had one (or is deleted).
func (r *ScheduleReader) Get(ctx context.Context, featureID int64) (ScheduleView, bool, error) {
	rows, err := r.pool.Query(ctx, scheduleQuery+` WHERE s.feature_id = $1`, featureID)
	if err != nil {
		return ScheduleView{}, false, fmt.Errorf("get schedule of feature %d: %w", featureID, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scanSchedule)
	if errors.Is(err, pgx.ErrNoRows) {
		return ScheduleView{}, false, nil
	}
	if err != nil {
		return ScheduleView{}, false, fmt.Errorf("get schedule of feature %d: %w", featureID, err)
	}
	return v, true, nil
}

func scanSchedule(row pgx.CollectableRow) (ScheduleView, error) {
	var (
		v           ScheduleView
		aID         *int64
		aName, mail *string
		last        *time.Time
	)
	if err := row.Scan(&v.FeatureID, &v.FeatureName, &v.DepartmentID, &v.Expression, &v.Zone, &v.OwnerID,
		&aID, &aName, &mail, &v.CatchUp, &v.Since, &v.Active, &v.ChangedAt, &v.ChangedBy, &last); err != nil {
		return v, err
	}
	if aID != nil {
		v.Owner = &AccountRef{UserID: *aID, Name: *aName, Email: *mail}
	}
	v.Since, v.ChangedAt = v.Since.UTC(), v.ChangedAt.UTC()
	v.LastTick = utcOrNil(last)
	return v, nil
}

// Feature returns the model's copy of feature id; ok is false when the
// model has never seen it saved or deleted.
func (r *ScheduleReader) Feature(ctx context.Context, id int64) (ScheduledFeature, bool, error) {
	f := ScheduledFeature{FeatureID: id}
	err := r.pool.QueryRow(ctx, `SELECT department_id, feature_name, deleted FROM rm_schedules.features
		WHERE feature_id = $1`, id).Scan(&f.DepartmentID, &f.Name, &f.Deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("feature %d of the schedules model: %w", id, err)
	}
	return f, true, nil
}

// TickQuery selects a page of a schedule's ticks, newest first.
type TickQuery struct {
	// Before, when not zero, keeps the ticks whose nominal instant is
	// before it (the next page after a page ending there).
	Before time.Time
	// Limit is the page size.
	Limit int
}

// Ticks returns the ticks of feature id's schedule, newest first.
func (r *ScheduleReader) Ticks(ctx context.Context, featureID int64, q TickQuery) ([]TickView, error) {
	rows, err := r.pool.Query(ctx, `SELECT stream, tick, outcome, nominal_utc, nominal_local, shifted,
			expression, zone, catch_up, recorded_at, actor, run_id, run_requested_at,
			refusal, refusal_category, refused_at
		FROM rm_schedules.ticks
		WHERE feature_id = $1 AND ($2::timestamptz IS NULL OR nominal_utc < $2)
		ORDER BY nominal_utc DESC LIMIT $3`, featureID, nullIfZero(q.Before), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("ticks of feature %d: %w", featureID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TickView, error) {
		var (
			v                  TickView
			requested, refused *time.Time
		)
		err := row.Scan(&v.Stream, &v.Tick, &v.Outcome, &v.NominalUTC, &v.NominalLocal, &v.Shifted,
			&v.Expression, &v.Zone, &v.CatchUp, &v.RecordedAt, &v.Actor, &v.RunID, &requested,
			&v.RunRefused, &v.RunRefusedCategory, &refused)
		v.NominalUTC, v.RecordedAt, v.RunRequestedAt = v.NominalUTC.UTC(), v.RecordedAt.UTC(), utcOrNil(requested)
		v.RunRefusedAt = utcOrNil(refused)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("ticks of feature %d: %w", featureID, err)
	}
	return out, nil
}

// Changes returns every change of feature id's schedule, oldest first.
func (r *ScheduleReader) Changes(ctx context.Context, featureID int64) ([]ChangeView, error) {
	rows, err := r.pool.Query(ctx, `SELECT c.revision, c.kind, c.expression, c.zone, c.owner_id, c.catch_up,
			c.actor, a.account_id, a.name, a.email, c.occurred_at, c.correlation_id
		FROM rm_schedules.changes c
		LEFT JOIN rm_accounts.accounts a ON a.account_id = c.actor_account AND c.actor_account <> 0
		WHERE c.feature_id = $1 ORDER BY c.revision`, featureID)
	if err != nil {
		return nil, fmt.Errorf("schedule changes of feature %d: %w", featureID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ChangeView, error) {
		var (
			v           ChangeView
			aID         *int64
			aName, mail *string
		)
		err := row.Scan(&v.Revision, &v.Kind, &v.Expression, &v.Zone, &v.OwnerID, &v.CatchUp, &v.Actor,
			&aID, &aName, &mail, &v.OccurredAt, &v.CorrelationID)
		if aID != nil {
			v.ActorAccount = &AccountRef{UserID: *aID, Name: *aName, Email: *mail}
		}
		v.OccurredAt = v.OccurredAt.UTC()
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("schedule changes of feature %d: %w", featureID, err)
	}
	return out, nil
}

// Built reports whether the schedules model has been built: until a
// projector has built it once, its tables do not exist.
func (r *ScheduleReader) Built(ctx context.Context) (bool, error) {
	var built bool
	if err := r.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
		schemaOf(Schedules{}.Name())).Scan(&built); err != nil {
		return false, fmt.Errorf("schedules model built: %w", err)
	}
	return built, nil
}

// Active returns the schedules that fire, by feature id, each with its
// latest recorded tick. It is what the scheduler's Source reads.
func (r *ScheduleReader) Active(ctx context.Context) ([]ActiveSchedule, error) {
	rows, err := r.pool.Query(ctx, `SELECT s.feature_id, s.expression, s.zone, s.owner_id, s.catch_up, s.since,
			(SELECT max(t.nominal_utc) FROM rm_schedules.ticks t WHERE t.feature_id = s.feature_id)
		FROM rm_schedules.schedules s
		LEFT JOIN rm_schedules.features f ON f.feature_id = s.feature_id
		WHERE s.active AND NOT coalesce(f.deleted, false)
		ORDER BY s.feature_id`)
	if err != nil {
		return nil, fmt.Errorf("active schedules: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ActiveSchedule, error) {
		var (
			a    ActiveSchedule
			last *time.Time
		)
		err := row.Scan(&a.FeatureID, &a.Expression, &a.Zone, &a.OwnerID, &a.CatchUp, &a.Since, &last)
		a.Since = a.Since.UTC()
		if last != nil {
			a.LastTick = last.UTC()
		}
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("active schedules: %w", err)
	}
	return out, nil
}

// Unrequested returns the fired ticks whose run request is not recorded,
// oldest claim first, leaving out those whose run was refused and those of
// deleted features (whose runs can no longer be requested).
func (r *ScheduleReader) Unrequested(ctx context.Context) ([]UnrequestedTick, error) {
	rows, err := r.pool.Query(ctx, `SELECT t.feature_id, t.owner_id, t.stream, t.tick, t.event_id, t.recorded_at
		FROM rm_schedules.ticks t
		LEFT JOIN rm_schedules.features f ON f.feature_id = t.feature_id
		WHERE t.outcome = 'fired' AND t.run_id IS NULL AND t.refusal IS NULL AND NOT coalesce(f.deleted, false)
		ORDER BY t.recorded_at, t.stream`)
	if err != nil {
		return nil, fmt.Errorf("unrequested ticks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (UnrequestedTick, error) {
		var u UnrequestedTick
		err := row.Scan(&u.FeatureID, &u.OwnerID, &u.Stream, &u.Tick, &u.EventID, &u.ClaimedAt)
		u.ClaimedAt = u.ClaimedAt.UTC()
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("unrequested ticks: %w", err)
	}
	return out, nil
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// nullIfZero is nil for the zero time, so that SQL sees NULL.
func nullIfZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
