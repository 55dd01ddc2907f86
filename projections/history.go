package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
)

// FeatureHistory is the read model of every feature's history (schema
// rm_feature_history): one entry per event of the feature's stream and of
// its schedule stream, and every saved version of its definition.
//
// Numbering: a feature's definition version n is its n-th FeatureSaved
// (what RunRequested pins, what PATCH's "version" and restore name). Its
// history entries are numbered 1, 2, 3, ... (sequence) in log order: one
// per FeatureSaved, FeatureMovedToFolder, FeatureDeleted, FeatureScheduled
// and ScheduleCleared. FeatureCreated makes no entry of its own: it is
// always appended together with version 1, whose entry stands for the
// creation. Each entry records the version in force after it, so a folder
// move or a schedule change is an entry with its own sequence that keeps
// the version number.
//
// Tables:
//
//	features (feature_id, department_id, created_by, created_on, deleted,
//	          version, folder_id, schedule, entries): where each feature
//	          stands now; deleted features stay
//	entries (feature_id, sequence, version, event_type, event_id, stream,
//	          revision, occurred_at, actor, actor_account, correlation_id,
//	          restored_from, folder_id, schedule, summary)
//	versions (feature_id, version, sequence, occurred_at, actor_account,
//	          restored_from, definition, step_ids)
//	step_ids (feature_id, step_id, id): the integer step ids as the
//	          features read model hands them out, so that a version shows
//	          the ids GET /steps/ showed then
//	accounts (account_id, name, email, deleted): deleted accounts kept
//	gone_departments (department_id): the deleted departments, whose
//	          features are gone with them (HistoryFeature.DepartmentGone)
type FeatureHistory struct{}

// NewFeatureHistory returns the feature history read model.
func NewFeatureHistory() *FeatureHistory { return &FeatureHistory{} }

var _ ReadModel = (*FeatureHistory)(nil)

// Name returns "feature_history".
func (*FeatureHistory) Name() string { return "feature_history" }

// Version returns the version of the tables and Apply logic.
func (*FeatureHistory) Version() int { return 2 }

// DDL creates the tables.
func (*FeatureHistory) DDL() string {
	return `
CREATE TABLE features (
	feature_id bigint PRIMARY KEY,
	department_id bigint NOT NULL DEFAULT 0,
	created_by bigint NOT NULL,
	created_on timestamptz NOT NULL,
	deleted boolean NOT NULL DEFAULT false,
	version integer NOT NULL DEFAULT 0,
	folder_id bigint NOT NULL DEFAULT 0,
	schedule json,
	entries integer NOT NULL DEFAULT 0);
CREATE TABLE entries (
	feature_id bigint NOT NULL,
	sequence integer NOT NULL,
	version integer NOT NULL,
	event_type text NOT NULL,
	event_id uuid NOT NULL,
	stream text NOT NULL,
	revision bigint NOT NULL,
	occurred_at timestamptz NOT NULL,
	actor text NOT NULL,
	actor_account bigint NOT NULL,
	correlation_id text NOT NULL,
	restored_from integer NOT NULL,
	folder_id bigint NOT NULL,
	schedule json,
	summary json NOT NULL,
	PRIMARY KEY (feature_id, sequence));
CREATE INDEX entries_time ON entries (feature_id, occurred_at);
CREATE TABLE versions (
	feature_id bigint NOT NULL,
	version integer NOT NULL,
	sequence integer NOT NULL,
	occurred_at timestamptz NOT NULL,
	actor_account bigint NOT NULL,
	restored_from integer NOT NULL,
	definition json NOT NULL,
	step_ids json NOT NULL,
	PRIMARY KEY (feature_id, version));
CREATE TABLE step_ids (
	feature_id bigint NOT NULL,
	step_id text NOT NULL,
	id bigint NOT NULL UNIQUE,
	PRIMARY KEY (feature_id, step_id));
CREATE TABLE accounts (
	account_id bigint PRIMARY KEY,
	name text NOT NULL,
	email text NOT NULL,
	deleted boolean NOT NULL DEFAULT false);
CREATE TABLE gone_departments (department_id bigint PRIMARY KEY);`
}

// EventTypes lists the feature, schedule and account events and
// DepartmentDeleted.
func (*FeatureHistory) EventTypes() []string {
	return []string{
		eventschemas.TypeFeatureCreated, eventschemas.TypeFeatureSaved,
		eventschemas.TypeFeatureMovedToFolder, eventschemas.TypeFeatureDeleted,
		eventschemas.TypeFeatureScheduled, eventschemas.TypeScheduleCleared,
		eventschemas.TypeAccountCreated, eventschemas.TypeAccountUpdated, eventschemas.TypeAccountDeleted,
		eventschemas.TypeDepartmentDeleted,
	}
}

// ChangeSummary is what one history entry changed: the names of the
// changed fields (folder_id for a move, schedule for a schedule change),
// the counts of step changes, and each step change by stable step id.
type ChangeSummary struct {
	feature.Summary
	Steps []StepRef `json:"steps"`
}

// StepRef is one step change of a summary, without the step's content.
type StepRef struct {
	Kind   feature.StepChangeKind `json:"kind"`
	StepID string                 `json:"step_id"`
	From   int                    `json:"from"`
	To     int                    `json:"to"`
	Fields []string               `json:"fields,omitempty"`
}

// Summarize turns a diff into a summary.
func Summarize(c feature.Changes) ChangeSummary {
	s := ChangeSummary{Summary: c.Summary(), Steps: []StepRef{}}
	for _, st := range c.Steps {
		s.Steps = append(s.Steps, StepRef{Kind: st.Kind, StepID: st.StepID, From: st.From, To: st.To,
			Fields: st.Fields})
	}
	return s
}

func fieldSummary(fields ...string) ChangeSummary {
	return ChangeSummary{Summary: feature.Summary{Fields: fields}, Steps: []StepRef{}}
}

// ScheduleRef is a feature's schedule as a history entry records it.
type ScheduleRef struct {
	Expression string `json:"expression"`
	Zone       string `json:"zone"`
	OwnerID    int64  `json:"owner_id"`
	CatchUp    string `json:"catch_up"`
}

// entryChange is what an event does to a feature's history row.
type entryChange struct {
	featureID    int64
	version      int // the new version, 0 when unchanged
	restoredFrom int
	folder       *int64
	schedule     *ScheduleRef
	clear        bool // the schedule was cleared
	deleted      bool
	department   int64 // 0 when unchanged
	summary      ChangeSummary
}

// Apply projects one event.
func (m *FeatureHistory) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.FeatureCreated:
		_, err := tx.Exec(ctx, `INSERT INTO features (feature_id, created_by, created_on)
			VALUES ($1, $2, $3) ON CONFLICT (feature_id) DO NOTHING`, e.FeatureID, e.CreatedBy, ev.OccurredAt)
		return err
	case *eventschemas.FeatureSaved:
		return m.saved(ctx, tx, ev, e)
	case *eventschemas.FeatureMovedToFolder:
		// TODO(history): a feature that returns to the root because its
		// folder was deleted makes no entry; no event names the feature.
		folder := e.FolderID
		return addEntry(ctx, tx, ev, entryChange{featureID: e.FeatureID, folder: &folder,
			summary: fieldSummary("folder_id")})
	case *eventschemas.FeatureDeleted:
		if _, err := tx.Exec(ctx, `DELETE FROM step_ids WHERE feature_id = $1`, e.FeatureID); err != nil {
			return err
		}
		return addEntry(ctx, tx, ev, entryChange{featureID: e.FeatureID, deleted: true, summary: fieldSummary()})
	case *eventschemas.FeatureScheduled:
		s := &ScheduleRef{Expression: e.Expression, Zone: e.Zone, OwnerID: e.OwnerID, CatchUp: e.CatchUp}
		return addEntry(ctx, tx, ev, entryChange{featureID: e.FeatureID, schedule: s,
			summary: fieldSummary("schedule")})
	case *eventschemas.ScheduleCleared:
		return addEntry(ctx, tx, ev, entryChange{featureID: e.FeatureID, clear: true,
			summary: fieldSummary("schedule")})
	case *eventschemas.AccountCreated:
		_, err := tx.Exec(ctx, upsertLogAccount, e.AccountID, e.Name, e.Email)
		return err
	case *eventschemas.AccountUpdated:
		_, err := tx.Exec(ctx, upsertLogAccount, e.AccountID, e.Name, e.Email)
		return err
	case *eventschemas.AccountDeleted:
		_, err := tx.Exec(ctx, `UPDATE accounts SET deleted = true WHERE account_id = $1`, e.AccountID)
		return err
	case *eventschemas.DepartmentDeleted:
		_, err := tx.Exec(ctx, `INSERT INTO gone_departments (department_id) VALUES ($1)
			ON CONFLICT (department_id) DO NOTHING`, e.DepartmentID)
		return err
	}
	return fmt.Errorf("feature history: unexpected payload %T", ev.Payload)
}

// saved records version e.Version: its definition, the integer ids of its
// steps and an entry summarizing the change from the version before.
func (m *FeatureHistory) saved(ctx context.Context, tx pgx.Tx, ev Event, e *eventschemas.FeatureSaved) error {
	var prev feature.Definition
	if e.Version > 1 {
		var raw string
		err := tx.QueryRow(ctx, `SELECT definition::text FROM versions WHERE feature_id = $1 AND version = $2`,
			e.FeatureID, e.Version-1).Scan(&raw)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err == nil {
			if err := json.Unmarshal([]byte(raw), &prev); err != nil {
				return fmt.Errorf("decode version %d of feature %d: %w", e.Version-1, e.FeatureID, err)
			}
		}
	}
	summary := Summarize(feature.Diff(prev, e.Definition))

	ids, err := historyStepIDs(ctx, tx, e.FeatureID, e.Definition.Steps)
	if err != nil {
		return err
	}
	def, err := json.Marshal(e.Definition)
	if err != nil {
		return fmt.Errorf("encode version %d of feature %d: %w", e.Version, e.FeatureID, err)
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	change := entryChange{featureID: e.FeatureID, version: e.Version, restoredFrom: e.RestoredFrom,
		department: e.Definition.DepartmentID, summary: summary}
	seq, ok, err := addEntryAt(ctx, tx, ev, change)
	if err != nil || !ok {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO versions (feature_id, version, sequence, occurred_at, actor_account,
			restored_from, definition, step_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json) ON CONFLICT DO NOTHING`,
		e.FeatureID, e.Version, seq, ev.OccurredAt, accountOfActor(ev.Actor), e.RestoredFrom,
		string(def), string(idsJSON))
	return err
}

// historyStepIDs updates the integer step ids of feature id to the steps
// of a new version and returns the id of each step, in step order. It
// hands them out as the features read model does (see queueFeatureSaved):
// a step keeps its id while it exists, a new one takes the next id above
// the highest of all features.
// TODO(history): this repeats the features model's numbering; a change
// there must be made here too, or old versions show other integer ids.
func historyStepIDs(ctx context.Context, tx pgx.Tx, featureID int64,
	steps []eventschemas.FeatureStep) ([]int64, error) {
	if steps == nil {
		steps = []eventschemas.FeatureStep{}
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM step_ids WHERE feature_id = $1
		AND step_id NOT IN (SELECT s->>'step_id' FROM jsonb_array_elements($2::jsonb) s)`,
		featureID, string(stepsJSON)); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO step_ids (feature_id, step_id, id)
		SELECT $1::bigint, s->>'step_id',
			(SELECT coalesce(max(id), 0) FROM step_ids) + row_number() OVER (ORDER BY ord)
		FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(s, ord)
		WHERE NOT EXISTS (SELECT 1 FROM step_ids t WHERE t.feature_id = $1 AND t.step_id = s->>'step_id')`,
		featureID, string(stepsJSON)); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT step_id, id FROM step_ids WHERE feature_id = $1`, featureID)
	if err != nil {
		return nil, err
	}
	byStep := map[string]int64{}
	var (
		sid string
		n   int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&sid, &n}, func() error {
		byStep[sid] = n
		return nil
	}); err != nil {
		return nil, err
	}
	ids := make([]int64, len(steps))
	for i, st := range steps {
		ids[i] = byStep[st.StepID]
	}
	return ids, nil
}

// addEntry records one history entry.
func addEntry(ctx context.Context, tx pgx.Tx, ev Event, c entryChange) error {
	_, _, err := addEntryAt(ctx, tx, ev, c)
	return err
}

// addEntryAt records one history entry and moves the feature's row to the
// state after it. It returns the entry's sequence; ok is false for a
// feature this model has no row of (a schedule of a feature never
// created), which makes no entry.
func addEntryAt(ctx context.Context, tx pgx.Tx, ev Event, c entryChange) (seq int, ok bool, err error) {
	var (
		entries, version int
		folder           int64
		schedule         *string
	)
	err = tx.QueryRow(ctx, `SELECT entries, version, folder_id, schedule::text FROM features
		WHERE feature_id = $1 FOR UPDATE`, c.featureID).Scan(&entries, &version, &folder, &schedule)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	seq = entries + 1
	if c.version > 0 {
		version = c.version
	}
	if c.folder != nil {
		folder = *c.folder
	}
	switch {
	case c.schedule != nil:
		raw, err := json.Marshal(c.schedule)
		if err != nil {
			return 0, false, err
		}
		s := string(raw)
		schedule = &s
	case c.clear:
		schedule = nil
	}
	summary, err := json.Marshal(c.summary)
	if err != nil {
		return 0, false, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO entries (feature_id, sequence, version, event_type, event_id, stream,
			revision, occurred_at, actor, actor_account, correlation_id, restored_from, folder_id, schedule,
			summary)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::json, $15::json)`,
		c.featureID, seq, version, ev.Type, ev.ID, ev.Stream, int64(ev.Revision), ev.OccurredAt, ev.Actor,
		accountOfActor(ev.Actor), ev.CorrelationID, c.restoredFrom, folder, schedule, string(summary))
	if err != nil {
		return 0, false, err
	}
	_, err = tx.Exec(ctx, `UPDATE features SET entries = $2, version = $3, folder_id = $4, schedule = $5::json,
			deleted = deleted OR $6,
			department_id = CASE WHEN $7::bigint > 0 THEN $7::bigint ELSE department_id END
		WHERE feature_id = $1`, c.featureID, seq, version, folder, schedule, c.deleted, c.department)
	return seq, err == nil, err
}
