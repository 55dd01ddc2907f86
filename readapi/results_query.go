package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain"
)

// resultDate is the format of result_date and date_time in Cometa's
// serializers.
const resultDate = "2006-01-02T15:04:05Z"

// runsModels are the read models a change of a run or result must reach
// before the write answers.
var runsModels = []string{"runs"}

// featureResultJSON is a feature result with Cometa's keys (all columns of
// its model except log). Keys of Cometa's features this server has no use
// for keep their neutral values (mobile, files, screen_*, video_url, ...).
// run_id, feature_version, reason and browser_version are ours.
type featureResultJSON struct {
	FeatureResultID       int64           `json:"feature_result_id"`
	ResultDate            string          `json:"result_date"`
	IsRemoved             bool            `json:"is_removed"`
	FeatureName           string          `json:"feature_name"`
	AppID                 int64           `json:"app_id"`
	AppName               string          `json:"app_name"`
	EnvironmentID         int64           `json:"environment_id"`
	EnvironmentName       string          `json:"environment_name"`
	DepartmentID          int64           `json:"department_id"`
	DepartmentName        string          `json:"department_name"`
	Description           string          `json:"description"`
	Browser               json.RawMessage `json:"browser"`
	Mobile                []any           `json:"mobile"`
	Total                 int             `json:"total"`
	Fails                 int             `json:"fails"`
	Running               bool            `json:"running"`
	OK                    int             `json:"ok"`
	Skipped               int             `json:"skipped"`
	ExecutionTime         int64           `json:"execution_time"`
	PixelDiff             int64           `json:"pixel_diff"`
	Success               bool            `json:"success"`
	Status                string          `json:"status"`
	ScreenStyle           string          `json:"screen_style"`
	ScreenActual          string          `json:"screen_actual"`
	ScreenDiff            string          `json:"screen_diff"`
	VideoURL              *string         `json:"video_url"`
	Files                 []any           `json:"files"`
	Archived              bool            `json:"archived"`
	RunHash               string          `json:"run_hash"`
	SessionID             *string         `json:"session_id"`
	NetworkLoggingEnabled bool            `json:"network_logging_enabled"`
	HouseKeepingDone      bool            `json:"house_keeping_done"`
	PDFResultFilePath     string          `json:"pdf_result_file_path"`
	FeatureJSONSteps      json.RawMessage `json:"feature_json_steps"`
	FeatureID             int64           `json:"feature_id"`
	ExecutedBy            *int64          `json:"executed_by"`
	RunID                 int64           `json:"run_id"`
	FeatureVersion        int             `json:"feature_version"`
	Reason                string          `json:"reason"`
	BrowserVersion        string          `json:"browser_version"`
	// ChangedSinceLastSuccess is, for a failed result shown alone, the diff
	// from the version the feature's last successful result ran to the one
	// this result ran; absent in lists and for other results.
	ChangedSinceLastSuccess *diffAnswer `json:"changed_since_last_success,omitempty"`

	// For the handlers, not sent.
	log        string
	steps      []byte
	notReached int
}

// resultColumns selects what scanResult reads, from rm_runs.results as r.
const resultColumns = `r.feature_result_id, r.result_date, r.removed, r.feature_name, r.app_id, r.app_name,
	r.environment_id, r.environment_name, r.department_id, r.department_name, r.description, r.browser::text,
	r.recorded, r.ok, r.fails, r.not_reached, r.running, r.execution_time, r.pixel_diff, r.success, r.status,
	r.archived, r.steps::text, r.feature_id, r.executed_by, r.run_id, r.feature_version, r.reason,
	r.browser_version, r.log`

// visibleResult is the condition that a result's feature is in one of the
// caller's departments ($1: sees all, $2: department ids); rm_runs.features
// as f must be LEFT JOINed on the result's feature_id.
const visibleResult = `($1 OR coalesce(CASE WHEN f.deleted THEN NULL ELSE f.department_id END,
	r.department_id) = ANY($2))`

func scanResult(row pgx.Row) (featureResultJSON, error) {
	var (
		r                 featureResultJSON
		date              time.Time
		browser, steps    []byte
		recorded          int
		executedBy        int64
		reason, version   string
		ok, fails, notRch int
	)
	err := row.Scan(&r.FeatureResultID, &date, &r.IsRemoved, &r.FeatureName, &r.AppID, &r.AppName,
		&r.EnvironmentID, &r.EnvironmentName, &r.DepartmentID, &r.DepartmentName, &r.Description, &browser,
		&recorded, &ok, &fails, &notRch, &r.Running, &r.ExecutionTime, &r.PixelDiff, &r.Success, &r.Status,
		&r.Archived, &steps, &r.FeatureID, &executedBy, &r.RunID, &r.FeatureVersion, &reason, &version, &r.log)
	if err != nil {
		return r, err
	}
	r.ResultDate = date.UTC().Format(resultDate)
	r.Browser = rawJSON(browser)
	r.FeatureJSONSteps = rawJSON(steps)
	r.steps = steps
	r.Total, r.OK, r.Fails, r.notReached = recorded+notRch, ok, fails, notRch
	r.Skipped = r.Total - r.OK - r.Fails
	r.Mobile, r.Files = []any{}, []any{}
	if executedBy != 0 {
		r.ExecutedBy = &executedBy
	}
	r.Reason, r.BrowserVersion = reason, version
	return r, nil
}

// findResult reads one feature result the caller may see; any other (or
// a removed one) is domain.ErrNotFound.
func (a *api) findResult(ctx context.Context, who Caller, id int64) (featureResultJSON, error) {
	r, err := scanResult(a.Pool.QueryRow(ctx, `SELECT `+resultColumns+`
		FROM rm_runs.results r LEFT JOIN rm_runs.features f ON f.feature_id = r.feature_id
		WHERE r.feature_result_id = $3 AND NOT r.removed AND `+visibleResult,
		who.SeesAllDepartments(), nonNil(who.Departments), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, domain.NotFound("feature result", id)
	}
	if err != nil {
		return r, fmt.Errorf("read feature result %d: %w", id, err)
	}
	return r, nil
}

// visibleFeature returns domain.ErrNotFound unless feature id exists, is
// not deleted and is in one of the caller's departments (as the runs read
// model knows it).
func (a *api) visibleRunFeature(ctx context.Context, who Caller, id int64) error {
	var ok bool
	err := a.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_runs.features
		WHERE feature_id = $3 AND NOT deleted AND ($1 OR department_id = ANY($2)))`,
		who.SeesAllDepartments(), nonNil(who.Departments), id).Scan(&ok)
	if err != nil {
		return fmt.Errorf("look up feature %d: %w", id, err)
	}
	if !ok {
		return domain.NotFound("feature", id)
	}
	return nil
}

// queryResults lists the visible, live results matching where (with
// arguments from $3 on), in order, limited to page p.
func (a *api) queryResults(ctx context.Context, who Caller, where, order string, p *pageRequest,
	args ...any) ([]featureResultJSON, int, error) {
	all := append([]any{who.SeesAllDepartments(), nonNil(who.Departments)}, args...)
	from := ` FROM rm_runs.results r LEFT JOIN rm_runs.features f ON f.feature_id = r.feature_id
		WHERE NOT r.removed AND ` + visibleResult + ` AND ` + where
	count := 0
	limit := ""
	if p != nil {
		if err := a.Pool.QueryRow(ctx, `SELECT count(*)`+from, all...).Scan(&count); err != nil {
			return nil, 0, fmt.Errorf("count feature results: %w", err)
		}
		limit = fmt.Sprintf(" LIMIT %d OFFSET %d", p.size, p.offset())
	}
	rows, err := a.Pool.Query(ctx, `SELECT `+resultColumns+from+` ORDER BY `+order+limit, all...)
	if err != nil {
		return nil, 0, fmt.Errorf("list feature results: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (featureResultJSON, error) { return scanResult(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list feature results: %w", err)
	}
	if p == nil {
		count = len(list)
	}
	return list, count, nil
}

// runJSON is a run (Cometa's Feature_Runs) with its results.
type runJSON struct {
	RunID          int64               `json:"run_id"`
	IsRemoved      bool                `json:"is_removed"`
	Archived       bool                `json:"archived"`
	Status         string              `json:"status"`
	Total          int                 `json:"total"`
	Fails          int                 `json:"fails"`
	OK             int                 `json:"ok"`
	Skipped        int                 `json:"skipped"`
	ExecutionTime  int64               `json:"execution_time"`
	PixelDiff      int64               `json:"pixel_diff"`
	Feature        string              `json:"feature"`
	DateTime       string              `json:"date_time"`
	FeatureResults []featureResultJSON `json:"feature_results"`
}

// listRuns returns a page of the visible runs of a feature with at least
// one live result, newest first, archived or not.
func (a *api) listRuns(ctx context.Context, who Caller, featureID int64, archived bool, p pageRequest) (
	[]runJSON, int, error) {
	const where = ` FROM rm_runs.runs n WHERE n.feature_id = $1 AND NOT n.removed AND n.results > 0
		AND n.archived = $2`
	var count int
	if err := a.Pool.QueryRow(ctx, `SELECT count(*)`+where, featureID, archived).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count runs of feature %d: %w", featureID, err)
	}
	rows, err := a.Pool.Query(ctx, `SELECT n.run_id, n.archived, n.status, n.total, n.fails, n.ok, n.skipped,
			n.execution_time, n.pixel_diff, n.feature_id, n.date_time`+where+`
		ORDER BY n.date_time DESC, n.run_id DESC LIMIT $3 OFFSET $4`, featureID, archived, p.size, p.offset())
	if err != nil {
		return nil, 0, fmt.Errorf("list runs of feature %d: %w", featureID, err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (runJSON, error) {
		var (
			r       runJSON
			feature int64
			at      time.Time
		)
		err := row.Scan(&r.RunID, &r.Archived, &r.Status, &r.Total, &r.Fails, &r.OK, &r.Skipped,
			&r.ExecutionTime, &r.PixelDiff, &feature, &at)
		r.Feature = strconv.FormatInt(feature, 10)
		r.DateTime = at.UTC().Format(resultDate)
		r.FeatureResults = []featureResultJSON{}
		return r, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list runs of feature %d: %w", featureID, err)
	}
	if len(runs) == 0 {
		return runs, count, nil
	}

	ids := make([]int64, len(runs))
	index := make(map[int64]int, len(runs))
	for i, r := range runs {
		ids[i], index[r.RunID] = r.RunID, i
	}
	results, _, err := a.queryResults(ctx, who, `r.run_id = ANY($3)`, `r.feature_result_id`, nil, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, res := range results {
		i := index[res.RunID]
		runs[i].FeatureResults = append(runs[i].FeatureResults, res)
	}
	return runs, count, nil
}

// stepResultJSON is a step result as Cometa lists them. belongs_to is
// {feature_id, feature_name}; the screenshot_* keys hold screenshot names
// (served at /backend/screenshot/<name>/), not paths. step_id,
// step_index and screenshots (every image of the step) are ours.
type stepResultJSON struct {
	StepResultID              int64             `json:"step_result_id"`
	FeatureResultID           int64             `json:"feature_result_id"`
	StepExecutionSequence     int               `json:"step_execution_sequence"`
	StepName                  string            `json:"step_name"`
	ExecutionTime             int64             `json:"execution_time"`
	RelativeExecutionTime     int64             `json:"relative_execution_time"`
	Status                    string            `json:"status"`
	PixelDiff                 int64             `json:"pixel_diff"`
	TemplateName              *string           `json:"template_name"`
	Files                     []any             `json:"files"`
	Success                   bool              `json:"success"`
	Diff                      bool              `json:"diff"`
	ScreenshotCurrent         string            `json:"screenshot_current"`
	ScreenshotStyle           string            `json:"screenshot_style"`
	ScreenshotDifference      string            `json:"screenshot_difference"`
	ScreenshotTemplate        string            `json:"screenshot_template"`
	BelongsTo                 belongsToJSON     `json:"belongs_to"`
	RestAPI                   *int64            `json:"rest_api"`
	Notes                     map[string]any    `json:"notes"`
	HealingData               any               `json:"healing_data"`
	DatabaseQueryResult       []any             `json:"database_query_result"`
	CurrentStepVariablesValue map[string]string `json:"current_step_variables_value"`
	Error                     *string           `json:"error"`
	StepType                  string            `json:"step_type"`
	StepID                    string            `json:"step_id"`
	StepIndex                 int               `json:"step_index"`
	Screenshots               []string          `json:"screenshots"`
}

type belongsToJSON struct {
	FeatureID   int64  `json:"feature_id"`
	FeatureName string `json:"feature_name"`
}

// stepColumns selects what scanStep reads, from rm_runs.step_results as s
// with rm_runs.features as bf LEFT JOINed on belongs_to.
const stepColumns = `s.step_result_id, s.feature_result_id, s.sequence, s.step_name, s.execution_time,
	s.relative_execution_time, s.status, s.pixel_diff, s.success, s.screenshot_current, s.screenshot_style,
	s.screenshot_difference, s.screenshot_template, s.belongs_to, coalesce(bf.feature_name, ''),
	s.variables::text, s.error, s.step_id, s.step_index,
	coalesce((SELECT array_agg(x.name ORDER BY x.position) FROM rm_runs.screenshots x
		WHERE x.step_result_id = s.step_result_id AND NOT x.removed), '{}')`

func scanStep(row pgx.Row) (stepResultJSON, error) {
	var (
		s        stepResultJSON
		vars     []byte
		errText  string
		belongs  int64
		featName string
	)
	err := row.Scan(&s.StepResultID, &s.FeatureResultID, &s.StepExecutionSequence, &s.StepName,
		&s.ExecutionTime, &s.RelativeExecutionTime, &s.Status, &s.PixelDiff, &s.Success, &s.ScreenshotCurrent,
		&s.ScreenshotStyle, &s.ScreenshotDifference, &s.ScreenshotTemplate, &belongs, &featName, &vars,
		&errText, &s.StepID, &s.StepIndex, &s.Screenshots)
	if err != nil {
		return s, err
	}
	s.BelongsTo = belongsToJSON{FeatureID: belongs, FeatureName: featName}
	if belongs == 0 || featName == "" {
		s.BelongsTo = belongsToJSON{FeatureID: 0, FeatureName: "Unknown"}
	}
	if err := json.Unmarshal(vars, &s.CurrentStepVariablesValue); err != nil || len(s.CurrentStepVariablesValue) == 0 {
		s.CurrentStepVariablesValue = nil
	}
	if errText != "" {
		s.Error = &errText
	}
	s.Files, s.Notes, s.DatabaseQueryResult, s.StepType = []any{}, map[string]any{}, []any{}, "BROWSER"
	return s, nil
}

// stepsOf returns a page of the step results of feature result id in
// execution order (the whole list when p is nil).
func (a *api) stepsOf(ctx context.Context, id int64, p *pageRequest) ([]stepResultJSON, int, error) {
	limit := ""
	if p != nil {
		limit = fmt.Sprintf(" LIMIT %d OFFSET %d", p.size, p.offset())
	}
	rows, err := a.Pool.Query(ctx, `SELECT `+stepColumns+`
		FROM rm_runs.step_results s LEFT JOIN rm_runs.features bf ON bf.feature_id = s.belongs_to
		WHERE s.feature_result_id = $1 ORDER BY s.sequence`+limit, id)
	if err != nil {
		return nil, 0, fmt.Errorf("list step results of feature result %d: %w", id, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stepResultJSON, error) { return scanStep(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list step results of feature result %d: %w", id, err)
	}
	count := len(list)
	if p != nil {
		if err := a.Pool.QueryRow(ctx, `SELECT count(*) FROM rm_runs.step_results WHERE feature_result_id = $1`,
			id).Scan(&count); err != nil {
			return nil, 0, fmt.Errorf("count step results of feature result %d: %w", id, err)
		}
	}
	return list, count, nil
}

// findStep reads one step result whose feature result the caller may see;
// any other is domain.ErrNotFound.
func (a *api) findStep(ctx context.Context, who Caller, id int64) (stepResultJSON, error) {
	s, err := scanStep(a.Pool.QueryRow(ctx, `SELECT `+stepColumns+`
		FROM rm_runs.step_results s LEFT JOIN rm_runs.features bf ON bf.feature_id = s.belongs_to
		JOIN rm_runs.results r ON r.feature_result_id = s.feature_result_id
		LEFT JOIN rm_runs.features f ON f.feature_id = r.feature_id
		WHERE s.step_result_id = $3 AND NOT r.removed AND `+visibleResult,
		who.SeesAllDepartments(), nonNil(who.Departments), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, domain.NotFound("step result", id)
	}
	if err != nil {
		return s, fmt.Errorf("read step result %d: %w", id, err)
	}
	return s, nil
}
