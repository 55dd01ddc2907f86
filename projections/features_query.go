package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
)

// Cometa's two date formats: fields its serializers declare explicitly
// (last_edited_date) have no fraction, the others DRF's microseconds.
const (
	cometaDate      = "2006-01-02T15:04:05Z"
	cometaDateMicro = "2006-01-02T15:04:05.000000Z"
)

// FeatureView is one feature as Cometa's API shows it (spec §5.6), plus
// "version", the number of its current version.
type FeatureView struct {
	FeatureID int64 `json:"feature_id"`
	eventschemas.FeatureDefinition
	// Steps is Cometa's "steps": the number of enabled steps. It hides
	// the definition's step list in JSON.
	Steps                     int             `json:"steps"`
	Version                   int             `json:"version"`
	Screenshot                string          `json:"screenshot"`
	Compare                   string          `json:"compare"`
	NumberNotificationSent    int             `json:"number_notification_sent"`
	IsFeatureFileBeingCreated bool            `json:"is_feature_file_being_created"`
	LastEditedDate            string          `json:"last_edited_date"`
	CreatedOn                 string          `json:"created_on"`
	LastEdited                *AccountRef     `json:"last_edited"`
	CreatedBy                 *AccountRef     `json:"created_by"`
	Schedule                  *string         `json:"schedule"`
	OriginalCron              *string         `json:"original_cron"`
	OriginalTimezone          *string         `json:"original_timezone"`
	Info                      json.RawMessage `json:"info"`
	TelegramOptions           json.RawMessage `json:"telegram_options"`

	// CreatedByID is the creator's account id, for ownership checks.
	CreatedByID int64 `json:"-"`
}

// AccountRef is how Cometa names an account inside another object.
type AccountRef struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
}

// StepView is one step as GET /backend/steps/<feature_id>/ shows it:
// Cometa's step keys, plus the stable "step_id".
type StepView struct {
	ID                int64  `json:"id"`
	FeatureID         int64  `json:"feature_id"`
	StepID            string `json:"step_id"`
	StepKeyword       string `json:"step_keyword"`
	StepAction        string `json:"step_action"`
	StepContent       string `json:"step_content"`
	Enabled           bool   `json:"enabled"`
	StepType          string `json:"step_type"`
	Screenshot        bool   `json:"screenshot"`
	Compare           bool   `json:"compare"`
	BelongsTo         int64  `json:"belongs_to"`
	Timeout           int    `json:"timeout"`
	ContinueOnFailure bool   `json:"continue_on_failure"`
}

// FeatureReader queries the features read model.
type FeatureReader struct{ pool *pgxpool.Pool }

// NewFeatureReader returns a reader on pool.
func NewFeatureReader(pool *pgxpool.Pool) *FeatureReader { return &FeatureReader{pool: pool} }

const featureColumns = `f.feature_id, f.definition, f.enabled_steps, f.version, f.created_by, f.created_on,
	f.last_edited_date, f.schedule, f.schedule_zone,
	c.account_id, c.name, c.email, e.account_id, e.name, e.email, ` + featureInfo + `,
	d.name, ap.name, en.name`

// featureInfo is Cometa's "info" of a feature, the summary of its last run,
// read from the runs read model (rm_runs.feature_last_run); null before the
// first run. The runs model keeps no account names, so executed_by comes
// from this model's copy of the accounts.
const featureInfo = `CASE WHEN i.run_id IS NULL THEN NULL ELSE json_build_object(
		'execution_time', i.execution_time, 'status', i.status, 'total', i.total,
		'success', i.success, 'ok', i.ok, 'running', i.running,
		'result_date', to_char(i.result_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'executed_by', CASE WHEN x.account_id IS NULL THEN NULL ELSE
			json_build_object('user_id', x.account_id, 'name', x.name, 'email', x.email) END
	) END`

const featureFrom = ` FROM rm_features.features f
	LEFT JOIN rm_features.accounts c ON c.account_id = f.created_by AND f.created_by <> 0
	LEFT JOIN rm_features.accounts e ON e.account_id = f.last_edited_by AND f.last_edited_by <> 0
	LEFT JOIN rm_runs.feature_last_run i ON i.feature_id = f.feature_id
	LEFT JOIN rm_features.accounts x ON x.account_id = i.executed_by
	LEFT JOIN rm_features.departments d ON d.department_id = f.department_id
	LEFT JOIN rm_features.applications ap ON ap.app_id = f.app_id
	LEFT JOIN rm_features.environments en ON en.environment_id = f.environment_id`

// List returns the live features of the departments (all departments when
// all is set), by id.
func (r *FeatureReader) List(ctx context.Context, departments []int64, all bool) ([]FeatureView, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+featureColumns+featureFrom+`
		WHERE NOT f.deleted AND f.version > 0 AND ($2 OR f.department_id = ANY($1))
		ORDER BY f.feature_id`, departments, all)
	if err != nil {
		return nil, fmt.Errorf("list features: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanFeature)
	if err != nil {
		return nil, fmt.Errorf("list features: %w", err)
	}
	return out, nil
}

// Get returns live feature id; ok is false when there is none.
func (r *FeatureReader) Get(ctx context.Context, id int64) (FeatureView, bool, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+featureColumns+featureFrom+`
		WHERE f.feature_id = $1 AND NOT f.deleted AND f.version > 0`, id)
	if err != nil {
		return FeatureView{}, false, fmt.Errorf("get feature %d: %w", id, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, scanFeature)
	if errors.Is(err, pgx.ErrNoRows) {
		return FeatureView{}, false, nil
	}
	if err != nil {
		return FeatureView{}, false, fmt.Errorf("get feature %d: %w", id, err)
	}
	return v, true, nil
}

func scanFeature(row pgx.CollectableRow) (FeatureView, error) {
	var (
		v                  FeatureView
		def                []byte
		createdOn, edited  time.Time
		cID, eID           *int64
		cName, cMail       *string
		eName, eMail       *string
		schedule, zoneName *string
		info               []byte
		dep, app, env      *string
	)
	if err := row.Scan(&v.FeatureID, &def, &v.Steps, &v.Version, &v.CreatedByID, &createdOn, &edited,
		&schedule, &zoneName, &cID, &cName, &cMail, &eID, &eName, &eMail, &info,
		&dep, &app, &env); err != nil {
		return v, err
	}
	if err := json.Unmarshal(def, &v.FeatureDefinition); err != nil {
		return v, fmt.Errorf("decode definition of feature %d: %w", v.FeatureID, err)
	}
	// The names are the catalogue's now, by id; the definition's copies
	// are those of the last save, kept for an object since deleted.
	for _, n := range []struct {
		current *string
		into    *string
	}{{dep, &v.DepartmentName}, {app, &v.AppName}, {env, &v.EnvironmentName}} {
		if n.current != nil {
			*n.into = *n.current
		}
	}
	v.CreatedOn = createdOn.UTC().Format(cometaDateMicro)
	v.LastEditedDate = edited.UTC().Format(cometaDate)
	if cID != nil {
		v.CreatedBy = &AccountRef{UserID: *cID, Name: *cName, Email: *cMail}
	}
	if eID != nil {
		v.LastEdited = &AccountRef{UserID: *eID, Name: *eName, Email: *eMail}
	}
	v.Schedule, v.OriginalCron, v.OriginalTimezone = schedule, schedule, zoneName
	v.Info = json.RawMessage("null")
	if info != nil {
		v.Info = info
	}
	// telegram_options has no events at all: Cometa-ES sends no Telegram
	// notifications.
	v.TelegramOptions = json.RawMessage("null")
	if v.EmailAddress == nil {
		v.EmailAddress = []string{}
	}
	if v.EmailCCAddress == nil {
		v.EmailCCAddress = []string{}
	}
	if v.EmailBCCAddress == nil {
		v.EmailBCCAddress = []string{}
	}
	return v, nil
}

// Steps returns the authored steps of feature id in saved order.
func (r *FeatureReader) Steps(ctx context.Context, id int64) ([]StepView, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, feature_id, step_id, step_keyword, step_action, step_content,
			enabled, step_type, screenshot, compare, feature_id, timeout, continue_on_failure
		FROM rm_features.steps WHERE feature_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, fmt.Errorf("steps of feature %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[StepView])
	if err != nil {
		return nil, fmt.Errorf("steps of feature %d: %w", id, err)
	}
	return out, nil
}

// StepIDs maps the integer step ids of feature id to their stable step ids.
func (r *FeatureReader) StepIDs(ctx context.Context, id int64) (map[int64]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, step_id FROM rm_features.step_ids WHERE feature_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("step ids of feature %d: %w", id, err)
	}
	out := map[int64]string{}
	var n int64
	var s string
	_, err = pgx.ForEachRow(rows, []any{&n, &s}, func() error {
		out[n] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("step ids of feature %d: %w", id, err)
	}
	return out, nil
}

// FirstByName returns the live feature named name with the lowest id among
// the departments (all when all is set).
func (r *FeatureReader) FirstByName(ctx context.Context, name string, departments []int64, all bool) (int64, bool, error) {
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT feature_id FROM rm_features.features
		WHERE feature_name = $1 AND NOT deleted AND version > 0 AND ($3 OR department_id = ANY($2))
		ORDER BY feature_id LIMIT 1`, name, departments, all).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("feature named %q: %w", name, err)
	}
	return id, true, nil
}

// MaxID returns the highest feature id ever projected, deleted ones
// included (a seed for commands.IDs).
func (r *FeatureReader) MaxID(ctx context.Context) (int64, error) {
	var id int64
	if err := r.pool.QueryRow(ctx, `SELECT coalesce(max(feature_id), 0) FROM rm_features.features`).Scan(&id); err != nil {
		return 0, fmt.Errorf("highest feature id: %w", err)
	}
	return id, nil
}

// Names returns the names of a department, an application and an
// environment as the features read model knows them; a name is "" and its
// ok false for an id it does not know (0 asks nothing).
func (r *FeatureReader) Names(ctx context.Context, departmentID, appID, environmentID int64) (CatalogNames, error) {
	var n CatalogNames
	err := r.pool.QueryRow(ctx, `SELECT
			(SELECT name FROM rm_features.departments WHERE department_id = $1),
			(SELECT name FROM rm_features.applications WHERE app_id = $2),
			(SELECT name FROM rm_features.environments WHERE environment_id = $3)`,
		departmentID, appID, environmentID).Scan(&n.Department, &n.Application, &n.Environment)
	if err != nil {
		return n, fmt.Errorf("catalogue names: %w", err)
	}
	return n, nil
}

// CatalogNames are the names of catalogue objects; nil for an unknown id.
type CatalogNames struct {
	Department, Application, Environment *string
}

// maxLibraryRounds and maxLibraryFeatures bound the features Library loads.
const (
	maxLibraryRounds   = 32
	maxLibraryFeatures = 2000
)

// Library loads the features that steps reference, directly or through
// other sub-features, among the live features of department: the Lookup
// that the feature domain expands sub-features with. A chain too long or
// too wide to load is a *domain.FieldError on "steps".
func (r *FeatureReader) Library(ctx context.Context, department int64, steps []feature.Step) (feature.Library, error) {
	ids, names := feature.References(steps)
	var lib feature.Library
	haveID := map[int64]bool{}
	askedName := map[string]bool{}
	for round := 0; len(ids)+len(names) > 0; round++ {
		if round == maxLibraryRounds || len(lib) > maxLibraryFeatures {
			return nil, domain.Invalid("steps", "sub-features nest more than %d levels or use more than %d features",
				maxLibraryRounds, maxLibraryFeatures)
		}
		for _, n := range names {
			askedName[n] = true
		}
		found, err := r.referenced(ctx, department, ids, names)
		if err != nil {
			return nil, err
		}
		ids, names = nil, nil
		for _, ref := range found {
			if haveID[ref.ID] {
				continue
			}
			haveID[ref.ID] = true
			lib = append(lib, ref)
			moreIDs, moreNames := feature.References(ref.Steps)
			for _, id := range moreIDs {
				if !haveID[id] && !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			for _, n := range moreNames {
				if !askedName[n] && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	return lib, nil
}

// referenced loads the live features of department with the ids or names,
// with their steps.
func (r *FeatureReader) referenced(ctx context.Context, department int64, ids []int64, names []string) ([]feature.Referenced, error) {
	rows, err := r.pool.Query(ctx, `SELECT f.feature_id, f.feature_name,
			f.continue_on_failure,
			s.step_id, s.step_keyword, s.step_content, s.step_action, s.step_type, s.enabled,
			s.screenshot, s.compare, s.continue_on_failure, s.timeout
		FROM rm_features.features f
		LEFT JOIN rm_features.steps s ON s.feature_id = f.feature_id
		WHERE f.department_id = $1 AND NOT f.deleted AND f.version > 0
			AND (f.feature_id = ANY($2) OR f.feature_name = ANY($3))
		ORDER BY f.feature_id, s.position`, department, ids, names)
	if err != nil {
		return nil, fmt.Errorf("load sub-features: %w", err)
	}
	defer rows.Close()
	var out []feature.Referenced
	for rows.Next() {
		var (
			ref feature.Referenced
			st  struct {
				id, keyword, content, action, typ *string
				enabled, shot, compare, cof       *bool
				timeout                           *int
			}
		)
		if err := rows.Scan(&ref.ID, &ref.Name, &ref.ContinueOnFailure, &st.id, &st.keyword, &st.content,
			&st.action, &st.typ, &st.enabled, &st.shot, &st.compare, &st.cof, &st.timeout); err != nil {
			return nil, fmt.Errorf("load sub-features: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != ref.ID {
			out = append(out, ref)
		}
		if st.id != nil {
			last := &out[len(out)-1]
			last.Steps = append(last.Steps, feature.Step{StepID: *st.id, Keyword: *st.keyword,
				Content: *st.content, Action: *st.action, Type: *st.typ, Enabled: *st.enabled,
				Screenshot: *st.shot, Compare: *st.compare, ContinueOnFailure: *st.cof, Timeout: *st.timeout})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load sub-features: %w", err)
	}
	return out, nil
}

// IntStepIDs returns the integer ids of the steps of the features, by
// feature and stable step id.
func (r *FeatureReader) IntStepIDs(ctx context.Context, features []int64) (map[int64]map[string]int64, error) {
	rows, err := r.pool.Query(ctx, `SELECT feature_id, step_id, id FROM rm_features.step_ids
		WHERE feature_id = ANY($1)`, features)
	if err != nil {
		return nil, fmt.Errorf("step ids: %w", err)
	}
	out := map[int64]map[string]int64{}
	var (
		f, n int64
		s    string
	)
	_, err = pgx.ForEachRow(rows, []any{&f, &s, &n}, func() error {
		if out[f] == nil {
			out[f] = map[string]int64{}
		}
		out[f][s] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("step ids: %w", err)
	}
	return out, nil
}

// FeatureRef is a sub-feature reference of a feature's current steps: by
// id (RefName "") or by name (RefID 0).
type FeatureRef struct {
	FeatureID int64
	RefID     int64
	RefName   string
}

// Refs returns the sub-feature references of the live features of the
// departments (all when all is set).
func (r *FeatureReader) Refs(ctx context.Context, departments []int64, all bool) ([]FeatureRef, error) {
	rows, err := r.pool.Query(ctx, `SELECT r.feature_id, r.ref_id, r.ref_name FROM rm_features.refs r
		JOIN rm_features.features f ON f.feature_id = r.feature_id AND NOT f.deleted
		WHERE $2 OR f.department_id = ANY($1) ORDER BY 1, 2, 3`, departments, all)
	if err != nil {
		return nil, fmt.Errorf("sub-feature references: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FeatureRef])
	if err != nil {
		return nil, fmt.Errorf("sub-feature references: %w", err)
	}
	return out, nil
}
