package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
)

// RunQueue is the runners' read model: one row per feature result with
// where it stands (allocated, queued, claimed, finished), who holds it and
// until when. Runners read from it the results waiting for a runner, the
// claims whose lease expired, and a feature's unfinished results (kill).
// It only points runners at work: the claim itself is decided on the
// result's stream, so a lagging row can cost a failed claim, never a
// result executed twice.
//
// The queued results of a deleted department leave the queue (their rows
// become "dropped"), and so do those of a run requested in it that the log
// records after its deletion: no runner is pointed at them. A result
// claimed already keeps its row and runs to its end.
type RunQueue struct{}

// NewRunQueue returns the run queue read model.
func NewRunQueue() *RunQueue { return &RunQueue{} }

// Name returns "runqueue".
func (*RunQueue) Name() string { return "runqueue" }

// Version returns the version of the tables and Apply logic. Version 3:
// rows carry the department their run was requested in, and a deleted
// department's queued results leave the queue.
func (*RunQueue) Version() int { return 3 }

// The states of a row. A dropped row was queued in a department deleted
// since; it is listed nowhere, but a claim that raced the deletion still
// makes it claimed, so that its lease is watched and its end recorded.
const (
	queueAllocated = "allocated"
	queueQueued    = "queued"
	queueDropped   = "dropped"
	queueClaimed   = "claimed"
	queueFinished  = "finished"
)

// DDL creates the tables. queued_commit and queued_prepare are the log
// position of the RunRequested that queued the result: the queue's order.
// department_id is the department the run was requested in (0 until the
// RunRequested is seen); deleted_departments lists those deleted so far.
func (*RunQueue) DDL() string {
	return `
CREATE TABLE results (
	feature_result_id bigint PRIMARY KEY,
	feature_id bigint NOT NULL,
	department_id bigint NOT NULL DEFAULT 0,
	run_id bigint NOT NULL DEFAULT 0,
	state text NOT NULL,
	runner text NOT NULL DEFAULT '',
	lease_until timestamptz,
	killed boolean NOT NULL DEFAULT false,
	queued_commit bigint NOT NULL DEFAULT 0,
	queued_prepare bigint NOT NULL DEFAULT 0);
CREATE INDEX results_queued ON results (queued_commit, queued_prepare) WHERE state = 'queued';
CREATE INDEX results_claimed ON results (lease_until) WHERE state = 'claimed';
CREATE INDEX results_feature ON results (feature_id) WHERE state IN ('queued', 'claimed');
CREATE INDEX results_department ON results (department_id) WHERE state = 'queued';
CREATE TABLE runs (run_id bigint PRIMARY KEY, feature_id bigint NOT NULL);
CREATE TABLE deleted_departments (department_id bigint PRIMARY KEY);`
}

// EventTypes lists the events the model projects.
func (*RunQueue) EventTypes() []string {
	return []string{
		eventschemas.TypeResultAllocated, eventschemas.TypeRunRequested, eventschemas.TypeResultClaimed,
		eventschemas.TypeLeaseRenewed, eventschemas.TypeRunKilled, eventschemas.TypeResultFinished,
		eventschemas.TypeResultRemoved, eventschemas.TypeDepartmentDeleted,
	}
}

// Apply projects one event.
func (m *RunQueue) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	return applyQueued(ctx, tx, m, ev)
}

// Queue queues the statements for one event. Every statement is
// idempotent and a row only moves forward (allocated, queued, dropped,
// claimed, finished), so replaying an event changes nothing.
func (*RunQueue) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.ResultAllocated:
		b.Queue(`INSERT INTO results (feature_result_id, feature_id, state) VALUES ($1, $2, $3)
			ON CONFLICT (feature_result_id) DO NOTHING`, e.FeatureResultID, e.FeatureID, queueAllocated)
	case *eventschemas.RunRequested:
		commit, prepare, err := posArgs(ev.Position)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO runs (run_id, feature_id) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING`,
			e.RunID, e.FeatureID)
		// A run whose department was deleted before the log recorded it
		// (its request passed the department check just before the
		// deletion) is dropped at once.
		for _, r := range e.Results {
			b.Queue(`INSERT INTO results (feature_result_id, feature_id, department_id, run_id, state,
					queued_commit, queued_prepare)
				VALUES ($1, $2, $3, $4, CASE WHEN EXISTS (SELECT 1 FROM deleted_departments
					WHERE department_id = $3) THEN $8::text ELSE $5::text END, $6, $7)
				ON CONFLICT (feature_result_id) DO UPDATE SET run_id = excluded.run_id,
					department_id = excluded.department_id,
					queued_commit = excluded.queued_commit, queued_prepare = excluded.queued_prepare,
					state = CASE WHEN results.state = 'allocated' THEN excluded.state ELSE results.state END`,
				r.FeatureResultID, e.FeatureID, e.DepartmentID, e.RunID, queueQueued, commit, prepare,
				queueDropped)
		}
	case *eventschemas.ResultClaimed:
		b.Queue(`UPDATE results SET state = $2, runner = $3, lease_until = $4, run_id = $5
			WHERE feature_result_id = $1 AND state IN ('allocated', 'queued', 'dropped')`,
			e.FeatureResultID, queueClaimed, e.Runner, e.LeaseUntil, e.RunID)
	case *eventschemas.LeaseRenewed:
		b.Queue(`UPDATE results SET lease_until = greatest(lease_until, $2) WHERE feature_result_id = $1`,
			e.FeatureResultID, e.LeaseUntil)
	case *eventschemas.RunKilled:
		b.Queue(`UPDATE results SET killed = true WHERE feature_result_id = $1`, e.FeatureResultID)
	case *eventschemas.ResultFinished:
		b.Queue(`UPDATE results SET state = $2 WHERE feature_result_id = $1`, e.FeatureResultID, queueFinished)
	case *eventschemas.ResultRemoved:
		// A removed result that never ran leaves the queue; one that ran
		// (only a finished one can be removed) is finished already.
		b.Queue(`UPDATE results SET state = $2
			WHERE feature_result_id = $1 AND state IN ('allocated', 'queued', 'dropped')`,
			e.FeatureResultID, queueFinished)
	case *eventschemas.DepartmentDeleted:
		// The department's waiting results leave the queue; claimed ones
		// run to their end. Their streams are not changed: the runs model
		// still shows them queued (killTask ends them), and the runner's
		// claim refuses them should a runner have read them before.
		b.Queue(`INSERT INTO deleted_departments (department_id) VALUES ($1) ON CONFLICT DO NOTHING`,
			e.DepartmentID)
		b.Queue(`UPDATE results SET state = $2 WHERE department_id = $1 AND state = 'queued'`,
			e.DepartmentID, queueDropped)
	default:
		return fmt.Errorf("runqueue: unexpected payload %T", ev.Payload)
	}
	return nil
}

// RunQueueReader queries the run queue read model, and the variables read
// model for the variables a run snapshots.
type RunQueueReader struct{ pool *pgxpool.Pool }

// NewRunQueueReader returns a reader on pool.
func NewRunQueueReader(pool *pgxpool.Pool) *RunQueueReader { return &RunQueueReader{pool: pool} }

// Queued returns up to limit results waiting for a runner, oldest first.
func (r *RunQueueReader) Queued(ctx context.Context, limit int) ([]run.Ref, error) {
	return r.refs(ctx, "queued results", `SELECT feature_result_id, run_id FROM rm_runqueue.results
		WHERE state = 'queued' ORDER BY queued_commit, queued_prepare LIMIT $1`, limit)
}

// Expired returns up to limit claimed results whose lease ended before t.
func (r *RunQueueReader) Expired(ctx context.Context, t time.Time, limit int) ([]run.Ref, error) {
	return r.refs(ctx, "expired leases", `SELECT feature_result_id, run_id FROM rm_runqueue.results
		WHERE state = 'claimed' AND lease_until < $2 ORDER BY lease_until LIMIT $1`, limit, t)
}

// Unfinished returns the queued and running results of a feature.
func (r *RunQueueReader) Unfinished(ctx context.Context, featureID int64) ([]run.Ref, error) {
	return r.refs(ctx, "unfinished results", `SELECT feature_result_id, run_id FROM rm_runqueue.results
		WHERE feature_id = $2 AND state IN ('queued', 'claimed') ORDER BY feature_result_id LIMIT $1`,
		100000, featureID)
}

func (r *RunQueueReader) refs(ctx context.Context, what, query string, args ...any) ([]run.Ref, error) {
	rows, err := r.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (run.Ref, error) {
		var ref run.Ref
		err := row.Scan(&ref.FeatureResultID, &ref.RunID)
		return ref, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// MaxID returns the highest run id ("run") or feature result id ("result")
// projected, a seed for commands.IDs; 0 when the model was never built.
func (r *RunQueueReader) MaxID(ctx context.Context, kind string) (int64, error) {
	var query string
	switch kind {
	case "run":
		query = `SELECT coalesce(max(run_id), 0) FROM rm_runqueue.runs`
	case "result":
		query = `SELECT coalesce(max(feature_result_id), 0) FROM rm_runqueue.results`
	default:
		return 0, fmt.Errorf("run queue ids: kind %q: %w", kind, ErrInvalid)
	}
	var exists bool
	if err := r.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'rm_runqueue')").
		Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var id int64
	if err := r.pool.QueryRow(ctx, query).Scan(&id); err != nil {
		return 0, fmt.Errorf("highest %s id: %w", kind, err)
	}
	return id, nil
}

// RunVariables lists the live variables a run of feature may see: the
// department's based "department", the department's and environment's
// based "environment", and the feature's based "feature" (a query over
// the variables read model; commands.Runs picks one per name).
func (r *RunQueueReader) RunVariables(ctx context.Context, department, environment, feature int64) (
	[]eventschemas.RunVariable, error) {
	rows, err := r.pool.Query(ctx, `SELECT variable_id, variable_name, based, variable_value, encrypted
		FROM rm_variables.variables
		WHERE NOT deleted AND (
			(based = 'department' AND department_id = $1) OR
			(based = 'environment' AND department_id = $1 AND environment_id = $2) OR
			(based = 'feature' AND feature_id = $3))
		ORDER BY variable_id`, department, environment, feature)
	if err != nil {
		return nil, fmt.Errorf("variables of a run of feature %d: %w", feature, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (eventschemas.RunVariable, error) {
		var (
			v         eventschemas.RunVariable
			value     string
			encrypted bool
		)
		if err := row.Scan(&v.VariableID, &v.Name, &v.Based, &value, &encrypted); err != nil {
			return v, err
		}
		v.Value = eventschemas.Plaintext(value)
		if encrypted {
			c, err := eventschemas.Ciphertext(value)
			if err != nil {
				return v, fmt.Errorf("variable %d: %w", v.VariableID, err)
			}
			v.Value = c
		}
		return v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("variables of a run of feature %d: %w", feature, err)
	}
	return out, nil
}
