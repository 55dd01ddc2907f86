package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
)

// Features is the read model of features and their authored steps: the
// current version of every feature, its steps in saved order, its
// sub-feature references, its schedule, and copies of the account,
// department, application and environment names that the feature API shows
// or checks. Deleted features keep a row (deleted = true) without steps, so
// that the highest feature id survives a deletion. The features of a
// deleted department are hidden the same way (deleted = true, steps kept),
// for every reader: Cometa orphans them, and so does this model. The
// department ids are kept in gone_departments, so that a feature saved
// into one (a log written before the commands refused that) stays hidden
// and one saved out of it shows again, as the commands see it.
//
// Every step gets an integer id (Cometa's step "id"), handed out in log
// order the first time its stable step id appears in the feature and kept
// for as long as the step exists, so it is the same in every rebuild.
type Features struct{}

// NewFeatures returns the features read model.
func NewFeatures() *Features { return &Features{} }

var (
	_ ReadModel = (*Features)(nil)
	_ Queuer    = (*Features)(nil)
)

// Name returns "features".
func (*Features) Name() string { return "features" }

// Version returns the version of the tables and Apply logic. Version 4
// keeps the feature's app_id and environment_id in columns, so that reads
// show the catalogue's current names by id rather than the copies of the
// last save.
func (*Features) Version() int { return 4 }

// DDL creates the tables. definition is the current FeatureDefinition
// without its steps (which are rows of steps) as the JSON the API shows,
// rendered once when the version is projected.
func (*Features) DDL() string {
	return `
CREATE TABLE features (
	feature_id bigint PRIMARY KEY,
	department_id bigint NOT NULL DEFAULT 0,
	app_id bigint NOT NULL DEFAULT 0,
	environment_id bigint NOT NULL DEFAULT 0,
	feature_name text NOT NULL DEFAULT '',
	version integer NOT NULL DEFAULT 0,
	definition text NOT NULL DEFAULT '{}',
	continue_on_failure boolean NOT NULL DEFAULT false,
	enabled_steps integer NOT NULL DEFAULT 0,
	created_by bigint NOT NULL,
	created_on timestamptz NOT NULL,
	last_edited_by bigint NOT NULL,
	last_edited_date timestamptz NOT NULL,
	schedule text,
	schedule_zone text,
	deleted boolean NOT NULL DEFAULT false);
CREATE INDEX features_department ON features (department_id, feature_id) WHERE NOT deleted;
CREATE INDEX features_name ON features (department_id, feature_name) WHERE NOT deleted;
CREATE TABLE steps (
	feature_id bigint NOT NULL,
	position integer NOT NULL,
	id bigint NOT NULL,
	step_id text NOT NULL,
	step_keyword text NOT NULL,
	step_content text NOT NULL,
	step_action text NOT NULL,
	step_type text NOT NULL,
	enabled boolean NOT NULL,
	screenshot boolean NOT NULL,
	compare boolean NOT NULL,
	continue_on_failure boolean NOT NULL,
	timeout integer NOT NULL,
	PRIMARY KEY (feature_id, position));
CREATE TABLE step_ids (
	feature_id bigint NOT NULL,
	step_id text NOT NULL,
	id bigint NOT NULL UNIQUE,
	PRIMARY KEY (feature_id, step_id));
CREATE TABLE refs (
	feature_id bigint NOT NULL,
	ref_id bigint NOT NULL DEFAULT 0,
	ref_name text NOT NULL DEFAULT '',
	PRIMARY KEY (feature_id, ref_id, ref_name));
CREATE TABLE accounts (account_id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE departments (department_id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE gone_departments (department_id bigint PRIMARY KEY);
CREATE TABLE applications (app_id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE environments (environment_id bigint PRIMARY KEY, name text NOT NULL);`
}

// EventTypes lists the events the model projects.
func (*Features) EventTypes() []string {
	return []string{
		eventschemas.TypeFeatureCreated, eventschemas.TypeFeatureSaved, eventschemas.TypeFeatureDeleted,
		eventschemas.TypeFeatureScheduled, eventschemas.TypeScheduleCleared,
		eventschemas.TypeAccountCreated, eventschemas.TypeAccountUpdated, eventschemas.TypeAccountDeleted,
		eventschemas.TypeDepartmentCreated, eventschemas.TypeDepartmentRenamed, eventschemas.TypeDepartmentDeleted,
		eventschemas.TypeApplicationCreated, eventschemas.TypeApplicationRenamed, eventschemas.TypeApplicationDeleted,
		eventschemas.TypeEnvironmentCreated, eventschemas.TypeEnvironmentRenamed, eventschemas.TypeEnvironmentDeleted,
	}
}

// Apply projects one event.
func (m *Features) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// Queue queues the statements for one event.
func (m *Features) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.FeatureCreated:
		b.Queue(`INSERT INTO features (feature_id, created_by, created_on, last_edited_by, last_edited_date)
			VALUES ($1, $2, $3, $4, $3) ON CONFLICT (feature_id) DO NOTHING`,
			e.FeatureID, e.CreatedBy, ev.OccurredAt, accountOfActor(ev.Actor))
	case *eventschemas.FeatureSaved:
		return queueFeatureSaved(b, ev, e)
	case *eventschemas.FeatureDeleted:
		b.Queue(`UPDATE features SET deleted = true WHERE feature_id = $1`, e.FeatureID)
		b.Queue(`DELETE FROM steps WHERE feature_id = $1`, e.FeatureID)
		b.Queue(`DELETE FROM step_ids WHERE feature_id = $1`, e.FeatureID)
		b.Queue(`DELETE FROM refs WHERE feature_id = $1`, e.FeatureID)
	case *eventschemas.FeatureScheduled:
		b.Queue(`UPDATE features SET schedule = $2, schedule_zone = $3 WHERE feature_id = $1`,
			e.FeatureID, e.Expression, e.Zone)
	case *eventschemas.ScheduleCleared:
		b.Queue(`UPDATE features SET schedule = NULL, schedule_zone = NULL WHERE feature_id = $1`, e.FeatureID)
	case *eventschemas.DepartmentDeleted:
		b.Queue(goneDepartment, e.DepartmentID)
		b.Queue(`UPDATE features SET deleted = true WHERE department_id = $1`, e.DepartmentID)
		return queueNames(b, ev, true)
	default:
		return queueNames(b, ev, true)
	}
	return nil
}

// queueNames keeps the copies of names that several of these read models
// hold: accounts, departments, and (withCatalog) applications and
// environments. It is an error for any other event.
func queueNames(b *pgx.Batch, ev Event, withCatalog bool) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.AccountCreated:
		b.Queue(upsertAccount, e.AccountID, e.Name, e.Email)
	case *eventschemas.AccountUpdated:
		b.Queue(upsertAccount, e.AccountID, e.Name, e.Email)
	case *eventschemas.AccountDeleted:
		b.Queue(`DELETE FROM accounts WHERE account_id = $1`, e.AccountID)
	case *eventschemas.DepartmentCreated:
		b.Queue(upsertDepartment, e.DepartmentID, e.Name)
	case *eventschemas.DepartmentRenamed:
		b.Queue(upsertDepartment, e.DepartmentID, e.Name)
	case *eventschemas.DepartmentDeleted:
		b.Queue(`DELETE FROM departments WHERE department_id = $1`, e.DepartmentID)
	case *eventschemas.EnvironmentCreated:
		b.Queue(upsertEnvironment, e.EnvironmentID, e.Name)
	case *eventschemas.EnvironmentRenamed:
		b.Queue(upsertEnvironment, e.EnvironmentID, e.Name)
	case *eventschemas.EnvironmentDeleted:
		b.Queue(`DELETE FROM environments WHERE environment_id = $1`, e.EnvironmentID)
	case *eventschemas.ApplicationCreated:
		if withCatalog {
			b.Queue(upsertApplication, e.ApplicationID, e.Name)
		}
	case *eventschemas.ApplicationRenamed:
		if withCatalog {
			b.Queue(upsertApplication, e.ApplicationID, e.Name)
		}
	case *eventschemas.ApplicationDeleted:
		if withCatalog {
			b.Queue(`DELETE FROM applications WHERE app_id = $1`, e.ApplicationID)
		}
	default:
		return fmt.Errorf("unexpected payload %T", ev.Payload)
	}
	return nil
}

const (
	upsertAccount = `INSERT INTO accounts (account_id, name, email) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, email = excluded.email`
	upsertDepartment = `INSERT INTO departments (department_id, name) VALUES ($1, $2)
		ON CONFLICT (department_id) DO UPDATE SET name = excluded.name`
	upsertApplication = `INSERT INTO applications (app_id, name) VALUES ($1, $2)
		ON CONFLICT (app_id) DO UPDATE SET name = excluded.name`
	upsertEnvironment = `INSERT INTO environments (environment_id, name) VALUES ($1, $2)
		ON CONFLICT (environment_id) DO UPDATE SET name = excluded.name`
	goneDepartment = `INSERT INTO gone_departments (department_id) VALUES ($1)
		ON CONFLICT (department_id) DO NOTHING`
	// hideInGone sets a saved feature's deleted to whether its department
	// is gone: a deleted feature is never saved again, so deleted can only
	// have been set by its department's deletion.
	hideInGone = `UPDATE features
		SET deleted = EXISTS (SELECT 1 FROM gone_departments g WHERE g.department_id = $2)
		WHERE feature_id = $1`
)

// queueFeatureSaved replaces the feature's current version: its row, its
// steps, the integer ids of steps it has not had before, and its
// references.
func queueFeatureSaved(b *pgx.Batch, ev Event, e *eventschemas.FeatureSaved) error {
	def := e.Definition
	steps := def.Steps
	defJSON, err := renderDefinition(def)
	if err != nil {
		return fmt.Errorf("encode definition of feature %d: %w", e.FeatureID, err)
	}
	if steps == nil {
		steps = []eventschemas.FeatureStep{}
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return fmt.Errorf("encode steps of feature %d: %w", e.FeatureID, err)
	}

	b.Queue(`UPDATE features SET department_id = $2, feature_name = $3, version = $4, definition = $5,
			continue_on_failure = $6, enabled_steps = $7, last_edited_by = $8, last_edited_date = $9,
			app_id = $10, environment_id = $11
		WHERE feature_id = $1`,
		e.FeatureID, def.DepartmentID, def.FeatureName, e.Version, string(defJSON), def.ContinueOnFailure,
		feature.EnabledCount(steps), accountOfActor(ev.Actor), ev.OccurredAt, def.AppID, def.EnvironmentID)
	b.Queue(hideInGone, e.FeatureID, def.DepartmentID)

	// Steps that are gone lose their integer id; new ones get the next
	// ones in step order.
	b.Queue(`DELETE FROM step_ids WHERE feature_id = $1
		AND step_id NOT IN (SELECT s->>'step_id' FROM jsonb_array_elements($2::jsonb) s)`, e.FeatureID, stepsJSON)
	b.Queue(`INSERT INTO step_ids (feature_id, step_id, id)
		SELECT $1::bigint, s->>'step_id', (SELECT coalesce(max(id), 0) FROM step_ids) + row_number() OVER (ORDER BY ord)
		FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(s, ord)
		WHERE NOT EXISTS (SELECT 1 FROM step_ids t WHERE t.feature_id = $1 AND t.step_id = s->>'step_id')`,
		e.FeatureID, stepsJSON)
	b.Queue(`DELETE FROM steps WHERE feature_id = $1`, e.FeatureID)
	b.Queue(`INSERT INTO steps (feature_id, position, id, step_id, step_keyword, step_content, step_action,
			step_type, enabled, screenshot, compare, continue_on_failure, timeout)
		SELECT $1::bigint, ord, t.id, s->>'step_id', s->>'step_keyword', s->>'step_content', s->>'step_action',
			s->>'step_type', (s->>'enabled')::boolean, (s->>'screenshot')::boolean, (s->>'compare')::boolean,
			(s->>'continue_on_failure')::boolean, (s->>'timeout')::integer
		FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(s, ord)
		JOIN step_ids t ON t.feature_id = $1 AND t.step_id = s->>'step_id'`, e.FeatureID, stepsJSON)

	ids, names := feature.References(steps)
	b.Queue(`DELETE FROM refs WHERE feature_id = $1`, e.FeatureID)
	if len(ids)+len(names) > 0 {
		b.Queue(`INSERT INTO refs (feature_id, ref_id, ref_name)
			SELECT $1::bigint, id, '' FROM unnest($2::bigint[]) id
			UNION SELECT $1::bigint, 0, name FROM unnest($3::text[]) name`, e.FeatureID, ids, names)
	}
	return nil
}

// renderDefinition returns def's fields other than its steps as a JSON
// object, with Cometa's empty lists where def has none.
func renderDefinition(def eventschemas.FeatureDefinition) ([]byte, error) {
	out, err := json.Marshal(withoutSteps(def))
	if err != nil {
		return nil, err
	}
	// Steps is the definition's last field; the API's "steps" is a count.
	const stepsKey = `,"steps":null}`
	if !bytes.HasSuffix(out, []byte(stepsKey)) {
		return nil, fmt.Errorf("definition JSON does not end in %s", stepsKey)
	}
	return append(out[:len(out)-len(stepsKey)], '}'), nil
}

// accountOfActor returns the account id of an envelope's actor
// ("account-12"), or 0 for a service.
func accountOfActor(actor string) int64 {
	rest, ok := strings.CutPrefix(actor, "account-")
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}
