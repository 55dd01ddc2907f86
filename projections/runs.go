package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
)

// Runs is the read model of runs and what they produced (schema rm_runs):
//
//	runs          one row per run (Cometa's Feature_Runs), totals summed
//	              over its live results
//	results       one row per feature result (one execution in one
//	              browser), totals summed from its step events
//	step_results  one row per StepRecorded, ordered by sequence
//	screenshots   the images of each step result, by content-hash name
//	baselines     the reference screenshots of compare steps
//	features      this model's own copy of each feature's name and
//	              current department (for scoping and belongs_to names)
//	last_runs     the newest visible run of each feature
//	feature_last_run (view) the summary Cometa shows as a feature's "info"
//
// Totals are never taken from a client: ok, fails, execution time and
// pixel difference of a result are summed here from its StepRecorded
// events (ok counts Success and Skipped steps, fails Failed ones), total is
// the steps recorded plus those the runner reports not reached, and
// skipped is total - ok - fails. A run's totals are the sums over its live
// (not removed) results. The projector is the single writer of these rows
// and its checkpoint applies each event once, so updating a row per event
// is exact.
//
// Integer step result ids are handed out here in log order (one more than
// the highest so far), so a rebuild gives every step result the same id.
// Rows are never deleted: removal is a flag, which also keeps the ids.
//
// TODO(runs): removed results keep their rows and their screenshot files
// for ever; a housekeeping event (Cometa's result_expire_days) would let
// both go.
type Runs struct{}

// NewRuns returns the runs read model.
func NewRuns() *Runs { return &Runs{} }

var (
	_ ReadModel = (*Runs)(nil)
	_ Queuer    = (*Runs)(nil)
)

// Name returns "runs".
func (*Runs) Name() string { return "runs" }

// Version returns the version of the tables and Apply logic. Version 2:
// a result's browser object shows the version that ran. Version 3: the
// features of a deleted department are deleted.
func (*Runs) Version() int { return 3 }

// DDL creates the tables.
func (*Runs) DDL() string {
	return `
CREATE TABLE features (
	feature_id bigint PRIMARY KEY,
	feature_name text NOT NULL,
	department_id bigint NOT NULL,
	deleted boolean NOT NULL DEFAULT false);
CREATE TABLE runs (
	run_id bigint PRIMARY KEY,
	feature_id bigint NOT NULL,
	department_id bigint NOT NULL,
	date_time timestamptz NOT NULL,
	requested_by bigint NOT NULL,
	correlation_id text NOT NULL,
	archived boolean NOT NULL DEFAULT false,
	removed boolean NOT NULL DEFAULT false,
	results integer NOT NULL DEFAULT 0,
	running integer NOT NULL DEFAULT 0,
	total integer NOT NULL DEFAULT 0,
	ok integer NOT NULL DEFAULT 0,
	fails integer NOT NULL DEFAULT 0,
	skipped integer NOT NULL DEFAULT 0,
	execution_time bigint NOT NULL DEFAULT 0,
	pixel_diff bigint NOT NULL DEFAULT 0,
	status text NOT NULL DEFAULT '',
	success boolean NOT NULL DEFAULT false);
CREATE INDEX runs_feature ON runs (feature_id, date_time DESC, run_id DESC);
CREATE TABLE results (
	feature_result_id bigint PRIMARY KEY,
	run_id bigint NOT NULL,
	feature_id bigint NOT NULL,
	feature_version integer NOT NULL,
	feature_name text NOT NULL,
	description text NOT NULL,
	app_id bigint NOT NULL,
	app_name text NOT NULL,
	environment_id bigint NOT NULL,
	environment_name text NOT NULL,
	department_id bigint NOT NULL,
	department_name text NOT NULL,
	browser jsonb NOT NULL,
	steps jsonb NOT NULL,
	result_date timestamptz NOT NULL,
	executed_by bigint NOT NULL,
	recorded integer NOT NULL DEFAULT 0,
	ok integer NOT NULL DEFAULT 0,
	fails integer NOT NULL DEFAULT 0,
	not_reached integer NOT NULL DEFAULT 0,
	execution_time bigint NOT NULL DEFAULT 0,
	pixel_diff bigint NOT NULL DEFAULT 0,
	status text NOT NULL DEFAULT '',
	success boolean NOT NULL DEFAULT false,
	running boolean NOT NULL DEFAULT true,
	runner text NOT NULL DEFAULT '',
	claimed_at timestamptz,
	lease_until timestamptz,
	started_at timestamptz,
	finished_at timestamptz,
	pid integer NOT NULL DEFAULT 0,
	browser_version text NOT NULL DEFAULT '',
	remote boolean NOT NULL DEFAULT false,
	kill_requested boolean NOT NULL DEFAULT false,
	reason text NOT NULL DEFAULT '',
	log text NOT NULL DEFAULT '',
	archived boolean NOT NULL DEFAULT false,
	removed boolean NOT NULL DEFAULT false);
CREATE INDEX results_run ON results (run_id);
CREATE INDEX results_feature ON results (feature_id, result_date DESC, feature_result_id DESC);
CREATE INDEX results_running ON results (feature_id) WHERE running;
CREATE TABLE step_results (
	step_result_id bigint PRIMARY KEY,
	feature_result_id bigint NOT NULL,
	sequence integer NOT NULL,
	step_index integer NOT NULL,
	step_id text NOT NULL,
	step_name text NOT NULL,
	belongs_to bigint NOT NULL,
	status text NOT NULL,
	success boolean NOT NULL,
	execution_time bigint NOT NULL,
	relative_execution_time bigint NOT NULL,
	error text NOT NULL,
	pixel_diff bigint NOT NULL,
	screenshot_current text NOT NULL,
	screenshot_style text NOT NULL DEFAULT '',
	screenshot_difference text NOT NULL,
	screenshot_template text NOT NULL,
	variables jsonb NOT NULL,
	compare_failed boolean NOT NULL DEFAULT false,
	compare_error text NOT NULL DEFAULT '',
	UNIQUE (feature_result_id, sequence));
CREATE TABLE screenshots (
	step_result_id bigint NOT NULL,
	name text NOT NULL,
	role text NOT NULL,
	position integer NOT NULL,
	width integer NOT NULL DEFAULT 0,
	height integer NOT NULL DEFAULT 0,
	removed boolean NOT NULL DEFAULT false,
	PRIMARY KEY (step_result_id, name));
CREATE INDEX screenshots_name ON screenshots (name);
CREATE TABLE baselines (
	feature_id bigint NOT NULL,
	key text NOT NULL,
	name text NOT NULL,
	step_id text NOT NULL,
	occurrence integer NOT NULL,
	browser_key text NOT NULL,
	width integer NOT NULL,
	height integer NOT NULL,
	feature_result_id bigint NOT NULL,
	sequence integer NOT NULL,
	PRIMARY KEY (feature_id, key));
CREATE INDEX baselines_name ON baselines (name);
CREATE TABLE last_runs (
	feature_id bigint PRIMARY KEY,
	run_id bigint NOT NULL);
CREATE VIEW feature_last_run AS
	SELECT l.feature_id, r.run_id, r.date_time AS result_date, r.requested_by AS executed_by,
		r.running > 0 AS running, r.status, r.success, r.total, r.ok, r.fails, r.skipped,
		r.execution_time, r.pixel_diff
	FROM last_runs l JOIN runs r ON r.run_id = l.run_id;`
}

// EventTypes lists the events the model projects.
func (*Runs) EventTypes() []string {
	return []string{
		eventschemas.TypeRunRequested, eventschemas.TypeRunArchived, eventschemas.TypeRunRemoved,
		eventschemas.TypeResultClaimed, eventschemas.TypeResultStarted, eventschemas.TypeStepRecorded,
		eventschemas.TypeScreenshotTaken, eventschemas.TypeScreenshotCompared,
		eventschemas.TypeBaselineRecorded, eventschemas.TypeLeaseRenewed, eventschemas.TypeRunKilled,
		eventschemas.TypeResultFinished, eventschemas.TypeResultArchived, eventschemas.TypeResultRemoved,
		eventschemas.TypeStepStatusChanged, eventschemas.TypeResultStatusChanged,
		eventschemas.TypeScreenshotRemoved,
		eventschemas.TypeFeatureSaved, eventschemas.TypeFeatureDeleted, eventschemas.TypeDepartmentDeleted,
	}
}

// Apply projects one event.
func (m *Runs) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// Queue queues the statements for one event.
func (m *Runs) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.RunRequested:
		return queueRunRequested(b, ev, e)
	case *eventschemas.RunArchived:
		b.Queue(`UPDATE runs SET archived = $2 WHERE run_id = $1`, e.RunID, e.Archived)
	case *eventschemas.RunRemoved:
		b.Queue(`UPDATE runs SET removed = true WHERE run_id = $1`, e.RunID)
		b.Queue(`UPDATE results SET removed = true WHERE run_id = $1 AND NOT archived`, e.RunID)
		queueRunTotals(b, `$1::bigint`, e.RunID)
		queueLastRun(b, `(SELECT feature_id FROM runs WHERE run_id = $1)`, e.RunID)
	case *eventschemas.ResultClaimed:
		b.Queue(`UPDATE results SET runner = $2, claimed_at = $3, lease_until = $4 WHERE feature_result_id = $1`,
			e.FeatureResultID, e.Runner, e.ClaimedAt, e.LeaseUntil)
	case *eventschemas.ResultStarted:
		// The browser object was requested with a version ("latest", as
		// a feature's browser list says); once the browser runs, it shows
		// the version that ran.
		b.Queue(`UPDATE results SET started_at = $2, pid = $3, browser_version = $4, remote = $5,
				browser = CASE WHEN $6 <> '' AND jsonb_typeof(browser) = 'object'
					THEN jsonb_set(browser, '{browser_version}', to_jsonb($6::text)) ELSE browser END
			WHERE feature_result_id = $1`, e.FeatureResultID, e.StartedAt, e.PID, e.BrowserVersion, e.Remote,
			versionNumber(e.BrowserVersion))
	case *eventschemas.LeaseRenewed:
		b.Queue(`UPDATE results SET lease_until = $2 WHERE feature_result_id = $1`, e.FeatureResultID, e.LeaseUntil)
	case *eventschemas.RunKilled:
		b.Queue(`UPDATE results SET kill_requested = true, reason = $2 WHERE feature_result_id = $1`,
			e.FeatureResultID, e.Reason)
	case *eventschemas.ResultFinished:
		b.Queue(`UPDATE results SET status = $2, success = $3, reason = $4, log = $5, not_reached = $6,
				finished_at = $7, running = false
			WHERE feature_result_id = $1`,
			e.FeatureResultID, e.Status, e.Success, e.Reason, e.Log, e.NotReached, e.FinishedAt)
		queueResultRunTotals(b, e.FeatureResultID)
	case *eventschemas.ResultArchived:
		b.Queue(`UPDATE results SET archived = $2 WHERE feature_result_id = $1`, e.FeatureResultID, e.Archived)
	case *eventschemas.ResultRemoved:
		b.Queue(`UPDATE results SET removed = true WHERE feature_result_id = $1`, e.FeatureResultID)
		queueResultRunTotals(b, e.FeatureResultID)
		queueLastRun(b, `(SELECT feature_id FROM results WHERE feature_result_id = $1)`, e.FeatureResultID)
	case *eventschemas.StepRecorded:
		return queueStepRecorded(b, e)
	case *eventschemas.ScreenshotTaken:
		queueScreenshotTaken(b, e)
	case *eventschemas.ScreenshotCompared:
		queueScreenshotCompared(b, e)
	case *eventschemas.BaselineRecorded:
		queueBaselineRecorded(b, e)
	case *eventschemas.StepStatusChanged:
		queueStepStatusChanged(b, e)
	case *eventschemas.ResultStatusChanged:
		b.Queue(`UPDATE results SET status = $2, success = $3 WHERE feature_result_id = $1`,
			e.FeatureResultID, e.Status, e.Success)
		queueResultRunTotals(b, e.FeatureResultID)
	case *eventschemas.ScreenshotRemoved:
		queueScreenshotRemoved(b, e)
	case *eventschemas.FeatureSaved:
		b.Queue(`INSERT INTO features (feature_id, feature_name, department_id) VALUES ($1, $2, $3)
			ON CONFLICT (feature_id) DO UPDATE SET feature_name = excluded.feature_name,
				department_id = excluded.department_id`,
			e.FeatureID, e.Definition.FeatureName, e.Definition.DepartmentID)
	case *eventschemas.FeatureDeleted:
		b.Queue(`UPDATE features SET deleted = true WHERE feature_id = $1`, e.FeatureID)
	case *eventschemas.DepartmentDeleted:
		// The department's features are gone with it, as in the features
		// model; their results stay, visible by their own department.
		b.Queue(`UPDATE features SET deleted = true WHERE department_id = $1`, e.DepartmentID)
	default:
		return fmt.Errorf("unexpected payload %T", ev.Payload)
	}
	return nil
}

// versionNumber is the dotted version of a browser's product string
// ("HeadlessChrome/146.0.7680.80" gives "146.0.7680.80"), as Cometa's
// browser objects write browser_version; the product string itself when it
// holds no number.
func versionNumber(product string) string {
	if v := dottedVersion.FindString(product); v != "" {
		return v
	}
	return strings.TrimSpace(product)
}

var dottedVersion = regexp.MustCompile(`\d+(?:\.\d+)*`)

// queueRunRequested opens the run and one running result per browser,
// each with the copies of the pinned feature version.
func queueRunRequested(b *pgx.Batch, ev Event, e *eventschemas.RunRequested) error {
	steps := e.Steps
	if steps == nil {
		steps = []eventschemas.RunStep{}
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return fmt.Errorf("encode steps of run %d: %w", e.RunID, err)
	}
	at := e.RequestedAt
	if at.IsZero() {
		at = ev.OccurredAt
	}
	b.Queue(`INSERT INTO runs (run_id, feature_id, department_id, date_time, requested_by, correlation_id,
			results, running)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (run_id) DO NOTHING`,
		e.RunID, e.FeatureID, e.DepartmentID, at, e.RequestedBy, ev.CorrelationID, len(e.Results))
	for _, r := range e.Results {
		browser := []byte(r.Browser)
		if len(browser) == 0 {
			browser = []byte("{}")
		}
		b.Queue(`INSERT INTO results (feature_result_id, run_id, feature_id, feature_version, feature_name,
				description, app_id, app_name, environment_id, environment_name, department_id, department_name,
				browser, steps, result_date, executed_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15, $16)
			ON CONFLICT (feature_result_id) DO NOTHING`,
			r.FeatureResultID, e.RunID, e.FeatureID, e.FeatureVersion, e.FeatureName, e.Description,
			e.AppID, e.AppName, e.EnvironmentID, e.EnvironmentName, e.DepartmentID, e.DepartmentName,
			string(browser), string(stepsJSON), at, e.RequestedBy)
	}
	queueLastRun(b, `$1::bigint`, e.FeatureID)
	return nil
}

// queueResultRunTotals recomputes the totals of the run of a result.
func queueResultRunTotals(b *pgx.Batch, resultID int64) {
	queueRunTotals(b, `(SELECT run_id FROM results WHERE feature_result_id = $1)`, resultID)
}

// queueRunTotals recomputes a run's totals over its live results. runExpr
// selects the run id from the single argument arg. A run's status is ""
// while a result runs, then Failed when one failed, else Canceled when one
// was canceled, else Success.
func queueRunTotals(b *pgx.Batch, runExpr string, arg any) {
	b.Queue(`UPDATE runs r SET (results, running, total, ok, fails, skipped, execution_time, pixel_diff,
			status, success) = (
		SELECT count(*), count(*) FILTER (WHERE s.running),
			coalesce(sum(s.recorded + s.not_reached), 0), coalesce(sum(s.ok), 0), coalesce(sum(s.fails), 0),
			coalesce(sum(s.recorded + s.not_reached - s.ok - s.fails), 0),
			coalesce(sum(s.execution_time), 0), coalesce(sum(s.pixel_diff), 0),
			CASE WHEN count(*) = 0 OR bool_or(s.running) THEN ''
				WHEN bool_or(s.status = 'Failed') THEN 'Failed'
				WHEN bool_or(s.status = 'Canceled') THEN 'Canceled'
				ELSE 'Success' END,
			count(*) > 0 AND NOT bool_or(s.running) AND bool_and(s.success)
		FROM results s WHERE s.run_id = r.run_id AND NOT s.removed)
	WHERE r.run_id = `+runExpr, arg)
}

// queueLastRun points last_runs at the newest visible run (not removed,
// with a live result) of the feature that featureExpr selects from arg,
// or removes its row when there is none.
func queueLastRun(b *pgx.Batch, featureExpr string, arg any) {
	b.Queue(`WITH f AS (SELECT `+featureExpr+` AS feature_id),
		newest AS (SELECT r.feature_id, r.run_id FROM runs r, f
			WHERE r.feature_id = f.feature_id AND NOT r.removed AND r.results > 0
			ORDER BY r.date_time DESC, r.run_id DESC LIMIT 1),
		gone AS (DELETE FROM last_runs l USING f
			WHERE l.feature_id = f.feature_id AND NOT EXISTS (SELECT 1 FROM newest))
		INSERT INTO last_runs (feature_id, run_id) SELECT feature_id, run_id FROM newest
		ON CONFLICT (feature_id) DO UPDATE SET run_id = excluded.run_id`, arg)
}
