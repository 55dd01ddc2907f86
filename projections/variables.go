package projections

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Variables is the read model of variables: every live variable with its
// scope and value (an encrypted value only as its ciphertext, as in the
// events), and copies of the names it is shown with: departments,
// environments, features and accounts. It also keeps which variable names
// each feature's steps mention, for Cometa's "in_use". A deleted
// department takes its variables with it, a deleted feature its
// feature-scoped ones. Deleted variables keep a row (deleted = true), so
// that the highest variable id survives.
type Variables struct{}

// NewVariables returns the variables read model.
func NewVariables() *Variables { return &Variables{} }

var (
	_ ReadModel = (*Variables)(nil)
	_ Queuer    = (*Variables)(nil)
)

// Name returns "variables".
func (*Variables) Name() string { return "variables" }

// Version returns the version of the tables and Apply logic.
func (*Variables) Version() int { return 2 }

// DDL creates the tables.
func (*Variables) DDL() string {
	return `
CREATE TABLE variables (
	variable_id bigint PRIMARY KEY,
	department_id bigint NOT NULL,
	environment_id bigint NOT NULL,
	feature_id bigint NOT NULL,
	variable_name text NOT NULL,
	name_key text NOT NULL,
	variable_value text NOT NULL,
	encrypted boolean NOT NULL,
	based text NOT NULL,
	created_by bigint NOT NULL,
	updated_by bigint NOT NULL,
	created_on timestamptz NOT NULL,
	updated_on timestamptz NOT NULL,
	deleted boolean NOT NULL DEFAULT false);
CREATE INDEX variables_scope ON variables (department_id, environment_id, feature_id, based, name_key)
	WHERE NOT deleted;
CREATE TABLE features (
	feature_id bigint PRIMARY KEY,
	department_id bigint NOT NULL DEFAULT 0,
	feature_name text NOT NULL DEFAULT '',
	deleted boolean NOT NULL DEFAULT false);
CREATE TABLE mentions (feature_id bigint NOT NULL, name text NOT NULL, PRIMARY KEY (feature_id, name));
CREATE INDEX mentions_name ON mentions (name);
CREATE TABLE accounts (account_id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE departments (department_id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE environments (environment_id bigint PRIMARY KEY, name text NOT NULL);`
}

// EventTypes lists the events the model projects.
func (*Variables) EventTypes() []string {
	return []string{
		eventschemas.TypeVariableSet, eventschemas.TypeVariableDeleted,
		eventschemas.TypeFeatureCreated, eventschemas.TypeFeatureSaved, eventschemas.TypeFeatureDeleted,
		eventschemas.TypeAccountCreated, eventschemas.TypeAccountUpdated, eventschemas.TypeAccountDeleted,
		eventschemas.TypeDepartmentCreated, eventschemas.TypeDepartmentRenamed, eventschemas.TypeDepartmentDeleted,
		eventschemas.TypeEnvironmentCreated, eventschemas.TypeEnvironmentRenamed, eventschemas.TypeEnvironmentDeleted,
	}
}

// Apply projects one event.
func (m *Variables) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// Queue queues the statements for one event.
func (m *Variables) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.VariableSet:
		actor := accountOfActor(ev.Actor)
		b.Queue(`INSERT INTO variables (variable_id, department_id, environment_id, feature_id, variable_name,
				variable_value, encrypted, based, created_by, updated_by, created_on, updated_on, name_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10, $11)
			ON CONFLICT (variable_id) DO UPDATE SET department_id = excluded.department_id,
				environment_id = excluded.environment_id, feature_id = excluded.feature_id,
				variable_name = excluded.variable_name, name_key = excluded.name_key,
				variable_value = excluded.variable_value, encrypted = excluded.encrypted,
				based = excluded.based, updated_by = excluded.updated_by, updated_on = excluded.updated_on`,
			e.VariableID, e.DepartmentID, e.EnvironmentID, e.FeatureID, e.Name, e.Value.Text(),
			e.Value.Encrypted(), e.Based, actor, ev.OccurredAt, domain.ExactNameKey(e.Name))
	case *eventschemas.VariableDeleted:
		b.Queue(`UPDATE variables SET deleted = true WHERE variable_id = $1`, e.VariableID)
	case *eventschemas.FeatureCreated:
		b.Queue(`INSERT INTO features (feature_id) VALUES ($1) ON CONFLICT (feature_id) DO NOTHING`, e.FeatureID)
	case *eventschemas.FeatureSaved:
		b.Queue(`UPDATE features SET department_id = $2, feature_name = $3 WHERE feature_id = $1`,
			e.FeatureID, e.Definition.DepartmentID, e.Definition.FeatureName)
		b.Queue(`DELETE FROM mentions WHERE feature_id = $1`, e.FeatureID)
		if names := mentionedVariables(e.Definition.Steps); len(names) > 0 {
			b.Queue(`INSERT INTO mentions (feature_id, name) SELECT $1::bigint, unnest($2::text[])`, e.FeatureID, names)
		}
	case *eventschemas.FeatureDeleted:
		// TODO(variables): the feature's variables are hidden here only;
		// their streams stay open (no VariableDeleted is appended).
		b.Queue(`UPDATE features SET deleted = true WHERE feature_id = $1`, e.FeatureID)
		b.Queue(`DELETE FROM mentions WHERE feature_id = $1`, e.FeatureID)
		b.Queue(`UPDATE variables SET deleted = true WHERE feature_id = $1 AND based = 'feature'`, e.FeatureID)
	case *eventschemas.DepartmentDeleted:
		b.Queue(`UPDATE variables SET deleted = true WHERE department_id = $1`, e.DepartmentID)
		return queueNames(b, ev, false)
	default:
		return queueNames(b, ev, false)
	}
	return nil
}

// Mentions of a variable in a step, as Cometa finds them when it computes
// in_use: $name, ${name}, variable "name", and the target of a save.
var (
	dollarMention = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	quotedMention = regexp.MustCompile(`(?i)variable "([^"]+)"`)
)

// mentionedVariables returns the variable names the steps mention, sorted,
// each once.
func mentionedVariables(steps []eventschemas.FeatureStep) []string {
	var names []string
	for _, st := range steps {
		for _, re := range []*regexp.Regexp{dollarMention, quotedMention} {
			for _, m := range re.FindAllStringSubmatch(st.Content, -1) {
				names = append(names, m[1])
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// VariableView is one variable as Cometa's API shows it (spec §5.11).
type VariableView struct {
	ID              int64   `json:"id"`
	CreatedByName   *string `json:"created_by_name"`
	UpdatedByName   *string `json:"updated_by_name"`
	DepartmentName  *string `json:"department_name"`
	EnvironmentName *string `json:"environment_name"`
	FeatureName     *string `json:"feature_name"`
	VariableName    string  `json:"variable_name"`
	// VariableValue is the ciphertext when Encrypted.
	VariableValue string  `json:"variable_value"`
	Encrypted     bool    `json:"encrypted"`
	Based         string  `json:"based"`
	CreatedOn     string  `json:"created_on"`
	UpdatedOn     string  `json:"updated_on"`
	Department    int64   `json:"department"`
	Environment   *int64  `json:"environment"`
	Feature       *int64  `json:"feature"`
	CreatedBy     *int64  `json:"created_by"`
	UpdatedBy     *int64  `json:"updated_by"`
	InUse         []int64 `json:"in_use"`
}

// VariableFilter selects variables: of the departments (all when All is
// set), and of one environment when Environment is not empty.
type VariableFilter struct {
	Departments []int64
	All         bool
	// EnvironmentName restricts the list to the environment of that name.
	EnvironmentName string
	// EnvironmentID restricts the list to the environment of that id.
	EnvironmentID int64
	// ID restricts the list to one variable.
	ID int64
}

// VariableReader queries the variables read model.
type VariableReader struct{ pool *pgxpool.Pool }

// NewVariableReader returns a reader on pool.
func NewVariableReader(pool *pgxpool.Pool) *VariableReader { return &VariableReader{pool: pool} }

// List returns the live variables that f selects, by id.
func (r *VariableReader) List(ctx context.Context, f VariableFilter) ([]VariableView, error) {
	rows, err := r.pool.Query(ctx, `SELECT v.variable_id, ca.name, ua.name, d.name, e.name, fe.feature_name,
			v.variable_name, v.variable_value, v.encrypted, v.based, v.created_on, v.updated_on,
			v.department_id, v.environment_id, v.feature_id, v.created_by, v.updated_by,
			coalesce((SELECT array_agg(m.feature_id ORDER BY m.feature_id) FROM rm_variables.mentions m
				JOIN rm_variables.features mf ON mf.feature_id = m.feature_id AND NOT mf.deleted
				WHERE m.name = v.variable_name AND mf.department_id = v.department_id), '{}')
		FROM rm_variables.variables v
		LEFT JOIN rm_variables.accounts ca ON ca.account_id = v.created_by
		LEFT JOIN rm_variables.accounts ua ON ua.account_id = v.updated_by
		LEFT JOIN rm_variables.departments d ON d.department_id = v.department_id
		LEFT JOIN rm_variables.environments e ON e.environment_id = v.environment_id
		LEFT JOIN rm_variables.features fe ON fe.feature_id = v.feature_id AND v.feature_id <> 0
		WHERE NOT v.deleted AND ($2 OR v.department_id = ANY($1))
			AND ($3 = '' OR e.name = $3) AND ($4 = 0 OR v.variable_id = $4)
			AND ($5 = 0 OR v.environment_id = $5)
		ORDER BY v.variable_id`, f.Departments, f.All, f.EnvironmentName, f.ID, f.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanVariable)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	return out, nil
}

func scanVariable(row pgx.CollectableRow) (VariableView, error) {
	var (
		v                          VariableView
		created, updated           time.Time
		env, feat, creator, editor int64
	)
	err := row.Scan(&v.ID, &v.CreatedByName, &v.UpdatedByName, &v.DepartmentName, &v.EnvironmentName,
		&v.FeatureName, &v.VariableName, &v.VariableValue, &v.Encrypted, &v.Based, &created, &updated,
		&v.Department, &env, &feat, &creator, &editor, &v.InUse)
	if err != nil {
		return v, err
	}
	v.CreatedOn = created.UTC().Format(cometaDateMicro)
	v.UpdatedOn = updated.UTC().Format(cometaDateMicro)
	v.Environment, v.Feature = nonZero(env), nonZero(feat)
	v.CreatedBy, v.UpdatedBy = nonZero(creator), nonZero(editor)
	return v, nil
}

func nonZero(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// Get returns live variable id, whatever its department.
func (r *VariableReader) Get(ctx context.Context, id int64) (VariableView, bool, error) {
	vs, err := r.List(ctx, VariableFilter{All: true, ID: id})
	if err != nil || len(vs) == 0 {
		return VariableView{}, false, err
	}
	return vs[0], true, nil
}

// Find returns the id of the live variable named name in the scope, or 0.
// Names compare as domain.ExactNameKey makes them (name_key), with their
// case but without the characters drawn as nothing.
func (r *VariableReader) Find(ctx context.Context, department, environment, feature int64, based, name string) (int64, error) {
	var id int64
	err := r.pool.QueryRow(ctx, `SELECT variable_id FROM rm_variables.variables
		WHERE department_id = $1 AND environment_id = $2 AND feature_id = $3 AND based = $4
			AND name_key = $5 AND NOT deleted ORDER BY variable_id LIMIT 1`,
		department, environment, feature, based, domain.ExactNameKey(name)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find variable %q: %w", name, err)
	}
	return id, nil
}

// EnvironmentsByName returns the ids of the environments named name, in
// id order, at most two: names are not unique, and a caller that needs one
// environment only has to tell none, one and more apart.
func (r *VariableReader) EnvironmentsByName(ctx context.Context, name string) ([]int64, error) {
	rows, err := r.pool.Query(ctx, `SELECT environment_id FROM rm_variables.environments
		WHERE name = $1 ORDER BY environment_id LIMIT 2`, name)
	if err != nil {
		return nil, fmt.Errorf("environments named %q: %w", name, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("environments named %q: %w", name, err)
	}
	return ids, nil
}

// EnvironmentName returns the name of environment id; ok is false when
// there is no such environment.
func (r *VariableReader) EnvironmentName(ctx context.Context, id int64) (name string, ok bool, err error) {
	err = r.pool.QueryRow(ctx, `SELECT name FROM rm_variables.environments WHERE environment_id = $1`, id).
		Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("name of environment %d: %w", id, err)
	}
	return name, true, nil
}

// ScopeKnown reports whether department and environment exist (an id of
// 0 is not asked about and reported true), and the department of live
// feature (0 when there is none or feature is 0).
func (r *VariableReader) ScopeKnown(ctx context.Context, department, environment, feature int64) (
	departmentOK, environmentOK bool, featureDepartment int64, err error) {
	err = r.pool.QueryRow(ctx, `SELECT
			$1 = 0 OR EXISTS (SELECT 1 FROM rm_variables.departments WHERE department_id = $1),
			$2 = 0 OR EXISTS (SELECT 1 FROM rm_variables.environments WHERE environment_id = $2),
			coalesce((SELECT department_id FROM rm_variables.features WHERE feature_id = $3 AND NOT deleted), 0)`,
		department, environment, feature).Scan(&departmentOK, &environmentOK, &featureDepartment)
	if err != nil {
		return false, false, 0, fmt.Errorf("check variable scope: %w", err)
	}
	return departmentOK, environmentOK, featureDepartment, nil
}

// MaxID returns the highest variable id ever projected (a seed for
// commands.IDs).
func (r *VariableReader) MaxID(ctx context.Context) (int64, error) {
	var id int64
	if err := r.pool.QueryRow(ctx, `SELECT coalesce(max(variable_id), 0) FROM rm_variables.variables`).Scan(&id); err != nil {
		return 0, fmt.Errorf("highest variable id: %w", err)
	}
	return id, nil
}
