package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
)

// Trend is the per-feature trend read model (schema rm_trend): one row
// per feature result with the version it executed, its outcome, its
// duration (the sum of its steps' execution times) and its pixel
// difference (the sum over its steps), numbered in the order results
// finished. A failed result also records the last result of the same
// feature that had succeeded before it finished, and that one's version,
// so that what changed since can be shown.
//
// Tables:
//
//	results (feature_result_id, run_id, feature_id, feature_version,
//	         requested_at, started_at, finished_at, finish_order, status,
//	         success, execution_time, pixel_diff, removed,
//	         last_success_result, last_success_version)
//
// finish_order is 1, 2, 3, ... over all results in log order, handed out
// by the model, so it is the same after a rebuild. A status changed by a
// user afterwards (ResultStatusChanged) counts from then on; it does not
// change the last success recorded for results that finished before.
type Trend struct{}

// NewTrend returns the trend read model.
func NewTrend() *Trend { return &Trend{} }

var (
	_ ReadModel = (*Trend)(nil)
	_ Queuer    = (*Trend)(nil)
)

// Name returns "trend".
func (*Trend) Name() string { return "trend" }

// Version returns the version of the tables and Apply logic.
func (*Trend) Version() int { return 1 }

// DDL creates the tables.
func (*Trend) DDL() string {
	return `
CREATE TABLE results (
	feature_result_id bigint PRIMARY KEY,
	run_id bigint NOT NULL,
	feature_id bigint NOT NULL,
	feature_version integer NOT NULL,
	requested_at timestamptz NOT NULL,
	started_at timestamptz,
	finished_at timestamptz,
	finish_order bigint,
	status text NOT NULL DEFAULT '',
	success boolean NOT NULL DEFAULT false,
	execution_time bigint NOT NULL DEFAULT 0,
	pixel_diff bigint NOT NULL DEFAULT 0,
	steps integer NOT NULL DEFAULT 0,
	removed boolean NOT NULL DEFAULT false,
	last_success_result bigint,
	last_success_version integer);
CREATE UNIQUE INDEX results_finish_order ON results (finish_order);
CREATE INDEX results_feature ON results (feature_id, finish_order DESC) WHERE finish_order IS NOT NULL;`
}

// EventTypes lists the run events the trend needs.
func (*Trend) EventTypes() []string {
	return []string{
		eventschemas.TypeRunRequested, eventschemas.TypeResultStarted, eventschemas.TypeStepRecorded,
		eventschemas.TypeResultFinished, eventschemas.TypeResultStatusChanged, eventschemas.TypeResultRemoved,
	}
}

// Apply projects one event.
func (m *Trend) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// Queue queues the statements for one event.
func (*Trend) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.RunRequested:
		for _, r := range e.Results {
			b.Queue(`INSERT INTO results (feature_result_id, run_id, feature_id, feature_version, requested_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (feature_result_id) DO NOTHING`,
				r.FeatureResultID, e.RunID, e.FeatureID, e.FeatureVersion, e.RequestedAt)
		}
	case *eventschemas.ResultStarted:
		b.Queue(`UPDATE results SET started_at = $2 WHERE feature_result_id = $1`, e.FeatureResultID, e.StartedAt)
	case *eventschemas.StepRecorded:
		b.Queue(`UPDATE results SET execution_time = execution_time + $2, pixel_diff = pixel_diff + $3,
				steps = steps + 1
			WHERE feature_result_id = $1 AND finish_order IS NULL`,
			e.FeatureResultID, e.ExecutionTimeMS, e.PixelDiff)
	case *eventschemas.ResultFinished:
		// The last success is looked up before this row changes, so a
		// result is never its own last success.
		b.Queue(`UPDATE results r SET status = $2, success = $3, finished_at = $4,
				finish_order = (SELECT coalesce(max(finish_order), 0) + 1 FROM results),
				last_success_result = (SELECT p.feature_result_id FROM results p
					WHERE p.feature_id = r.feature_id AND p.success AND NOT p.removed
						AND p.finish_order IS NOT NULL
					ORDER BY p.finish_order DESC LIMIT 1),
				last_success_version = (SELECT p.feature_version FROM results p
					WHERE p.feature_id = r.feature_id AND p.success AND NOT p.removed
						AND p.finish_order IS NOT NULL
					ORDER BY p.finish_order DESC LIMIT 1)
			WHERE r.feature_result_id = $1 AND r.finish_order IS NULL`,
			e.FeatureResultID, e.Status, e.Success, e.FinishedAt)
	case *eventschemas.ResultStatusChanged:
		b.Queue(`UPDATE results SET status = $2, success = $3 WHERE feature_result_id = $1`,
			e.FeatureResultID, e.Status, e.Success)
	case *eventschemas.ResultRemoved:
		b.Queue(`UPDATE results SET removed = true WHERE feature_result_id = $1`, e.FeatureResultID)
	default:
		return fmt.Errorf("trend: unexpected payload %T", ev.Payload)
	}
	return nil
}

// TrendPoint is one finished feature result of a trend.
type TrendPoint struct {
	FeatureResultID int64  `json:"feature_result_id"`
	RunID           int64  `json:"run_id"`
	FeatureVersion  int    `json:"feature_version"`
	Status          string `json:"status"`
	Success         bool   `json:"success"`
	// ExecutionTime is the sum of the steps' execution times in ms.
	ExecutionTime int64 `json:"execution_time"`
	PixelDiff     int64 `json:"pixel_diff"`
	Steps         int   `json:"steps"`
	// Duration is the wall time from start to finish in ms, 0 when the
	// result never started (killed while queued).
	Duration   int64     `json:"duration"`
	FinishedAt time.Time `json:"finished_at"`
}

// TrendResult is where one feature result stands in the trend model.
type TrendResult struct {
	FeatureResultID int64
	RunID           int64
	FeatureID       int64
	FeatureVersion  int
	Finished        bool
	Status          string
	Success         bool
	// LastSuccessResult and LastSuccessVersion name the feature's last
	// successful result when this one finished unsuccessfully (0 when
	// there was none, or this one succeeded).
	LastSuccessResult  int64
	LastSuccessVersion int
}

// TrendReader queries the trend read model.
type TrendReader struct{ pool *pgxpool.Pool }

// NewTrendReader returns a reader on pool.
func NewTrendReader(pool *pgxpool.Pool) *TrendReader { return &TrendReader{pool: pool} }

// Last returns the last n finished results of feature id that count
// (neither removed nor canceled), oldest first.
func (r *TrendReader) Last(ctx context.Context, id int64, n int) ([]TrendPoint, error) {
	rows, err := r.pool.Query(ctx, `SELECT * FROM (
			SELECT feature_result_id, run_id, feature_version, status, success, execution_time, pixel_diff,
				steps, coalesce(floor(extract(epoch FROM finished_at - started_at) * 1000)::bigint, 0),
				finished_at, finish_order
			FROM rm_trend.results
			WHERE feature_id = $1 AND finish_order IS NOT NULL AND NOT removed AND status <> $3
			ORDER BY finish_order DESC LIMIT $2) last
		ORDER BY finish_order`, id, n, eventschemas.StatusCanceled)
	if err != nil {
		return nil, fmt.Errorf("trend of feature %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TrendPoint, error) {
		var (
			p     TrendPoint
			order int64
		)
		err := row.Scan(&p.FeatureResultID, &p.RunID, &p.FeatureVersion, &p.Status, &p.Success,
			&p.ExecutionTime, &p.PixelDiff, &p.Steps, &p.Duration, &p.FinishedAt, &order)
		p.FinishedAt = p.FinishedAt.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("trend of feature %d: %w", id, err)
	}
	return out, nil
}

// Result returns feature result id as the trend model has it; ok is false
// for a result whose run was never requested.
func (r *TrendReader) Result(ctx context.Context, id int64) (TrendResult, bool, error) {
	t := TrendResult{FeatureResultID: id}
	var (
		order       *int64
		lastResult  *int64
		lastVersion *int
	)
	err := r.pool.QueryRow(ctx, `SELECT run_id, feature_id, feature_version, finish_order, status, success,
			last_success_result, last_success_version
		FROM rm_trend.results WHERE feature_result_id = $1`, id).
		Scan(&t.RunID, &t.FeatureID, &t.FeatureVersion, &order, &t.Status, &t.Success, &lastResult, &lastVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("trend of feature result %d: %w", id, err)
	}
	t.Finished = order != nil
	if lastResult != nil && lastVersion != nil {
		t.LastSuccessResult, t.LastSuccessVersion = *lastResult, *lastVersion
	}
	return t, true, nil
}
