package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/domain/feature"
)

// HistoryEntry is one entry of a feature's history (see FeatureHistory
// for the numbering).
type HistoryEntry struct {
	// Sequence numbers the feature's entries 1, 2, 3, ... in log order.
	Sequence int `json:"sequence"`
	// Version is the definition version in force after the entry.
	Version   int       `json:"version"`
	EventType string    `json:"event_type"`
	EventID   uuid.UUID `json:"event_id"`
	Stream    string    `json:"stream"`
	Revision  int64     `json:"revision"`
	Date      time.Time `json:"date"`
	// Actor is the envelope's actor: "account-3", "service:scheduler".
	Actor string `json:"actor"`
	// User is the actor's account, also after it was deleted; nil for a
	// service.
	User          *AccountRef `json:"user"`
	CorrelationID string      `json:"correlation_id"`
	// RestoredFrom is the version a restore copied, else 0.
	RestoredFrom int `json:"restored_from"`
	// FolderID and Schedule are the feature's folder (0: the department
	// root) and schedule (nil: none) after the entry.
	FolderID int64         `json:"folder_id"`
	Schedule *ScheduleRef  `json:"schedule"`
	Summary  ChangeSummary `json:"summary"`
}

// HistoryFeature is where a feature's history stands.
type HistoryFeature struct {
	FeatureID    int64
	DepartmentID int64
	Deleted      bool
	// DepartmentGone is set when the feature's department was deleted:
	// the feature is gone with it, history and all, for every reader.
	DepartmentGone bool
	// Version is the latest definition version (0 before the first save).
	Version int
	Entries int
}

// VersionSnapshot is a feature as it was after one entry of its history:
// the definition version then in force, its folder and schedule.
type VersionSnapshot struct {
	FeatureID int64
	Version   int
	// Sequence is the entry after which the feature was so.
	Sequence     int
	SavedAt      time.Time
	SavedBy      *AccountRef
	RestoredFrom int
	Definition   feature.Definition
	// StepIDs are the integer ids of Definition.Steps at that version.
	StepIDs   []int64
	FolderID  int64
	Schedule  *ScheduleRef
	Deleted   bool
	CreatedOn time.Time
	CreatedBy *AccountRef
}

// FeatureJSON returns the snapshot as the feature endpoint shows a
// feature: Cometa's keys, the definition's fields, and "version" the
// version in force. last_edited and last_edited_date are who saved that
// version and when; schedule is the schedule at the snapshot.
func (s VersionSnapshot) FeatureJSON() (json.RawMessage, error) {
	steps := s.Definition.Steps
	def := withoutSteps(s.Definition)
	raw, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("encode version %d of feature %d: %w", s.Version, s.FeatureID, err)
	}
	fields := map[string]any{}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("encode version %d of feature %d: %w", s.Version, s.FeatureID, err)
	}
	var cron, zone *string
	if s.Schedule != nil {
		cron, zone = &s.Schedule.Expression, &s.Schedule.Zone
	}
	for k, v := range map[string]any{
		"feature_id": s.FeatureID, "steps": feature.EnabledCount(steps), "version": s.Version,
		"screenshot": "", "compare": "", "number_notification_sent": 0, "is_feature_file_being_created": false,
		"last_edited_date": s.SavedAt.UTC().Format(cometaDate),
		"created_on":       s.CreatedOn.UTC().Format(cometaDateMicro),
		"last_edited":      s.SavedBy, "created_by": s.CreatedBy,
		"schedule": cron, "original_cron": cron, "original_timezone": zone,
		"info": nil, "telegram_options": nil,
		// Upcoming fire times mean nothing for a past version.
		"next_runs": []string{},
	} {
		fields[k] = v
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode version %d of feature %d: %w", s.Version, s.FeatureID, err)
	}
	return out, nil
}

// AtVersion returns v, the feature as the features read model has it now,
// with the definition, version and last edit of snapshot s (an earlier
// version of the same feature) in place of the current ones. It is the
// answer to the save that wrote s when later saves have overtaken it; what
// versions do not hold (creation, schedule, last run) stays as v has it.
func (v FeatureView) AtVersion(s VersionSnapshot) FeatureView {
	v.Steps = feature.EnabledCount(s.Definition.Steps)
	v.FeatureDefinition = withoutSteps(s.Definition)
	v.Version = s.Version
	v.LastEdited = s.SavedBy
	v.LastEditedDate = s.SavedAt.UTC().Format(cometaDate)
	return v
}

// withoutSteps returns def without its step list and with Cometa's empty
// lists where def has none, as the feature endpoints show a definition.
func withoutSteps(def feature.Definition) feature.Definition {
	def.Steps = nil
	for _, l := range []*[]string{&def.EmailAddress, &def.EmailCCAddress, &def.EmailBCCAddress} {
		if *l == nil {
			*l = []string{}
		}
	}
	for _, raw := range []*json.RawMessage{&def.Browsers, &def.Mobiles} {
		if len(*raw) == 0 {
			*raw = json.RawMessage("[]")
		}
	}
	return def
}

// StepViews returns the snapshot's authored steps as the steps endpoint
// shows them (sub-features are not expanded).
func (s VersionSnapshot) StepViews() []StepView {
	out := make([]StepView, len(s.Definition.Steps))
	for i, st := range s.Definition.Steps {
		var id int64
		if i < len(s.StepIDs) {
			id = s.StepIDs[i]
		}
		out[i] = StepView{ID: id, FeatureID: s.FeatureID, StepID: st.StepID, StepKeyword: st.Keyword,
			StepAction: st.Action, StepContent: st.Content, Enabled: st.Enabled, StepType: st.Type,
			Screenshot: st.Screenshot, Compare: st.Compare, BelongsTo: s.FeatureID, Timeout: st.Timeout,
			ContinueOnFailure: st.ContinueOnFailure}
	}
	return out
}

// HistoryReader queries the feature history read model.
type HistoryReader struct{ pool *pgxpool.Pool }

// NewHistoryReader returns a reader on pool.
func NewHistoryReader(pool *pgxpool.Pool) *HistoryReader { return &HistoryReader{pool: pool} }

// Feature returns where feature id's history stands; ok is false for a
// feature the model has never seen.
func (r *HistoryReader) Feature(ctx context.Context, id int64) (HistoryFeature, bool, error) {
	f := HistoryFeature{FeatureID: id}
	err := r.pool.QueryRow(ctx, `SELECT f.department_id, f.deleted, f.version, f.entries,
			EXISTS (SELECT 1 FROM rm_feature_history.gone_departments g WHERE g.department_id = f.department_id)
		FROM rm_feature_history.features f WHERE f.feature_id = $1`, id).
		Scan(&f.DepartmentID, &f.Deleted, &f.Version, &f.Entries, &f.DepartmentGone)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, fmt.Errorf("history of feature %d: %w", id, err)
	}
	return f, f.Version > 0, nil
}

// Entries returns the history of feature id, oldest first.
func (r *HistoryReader) Entries(ctx context.Context, id int64) ([]HistoryEntry, error) {
	rows, err := r.pool.Query(ctx, `SELECT e.sequence, e.version, e.event_type, e.event_id, e.stream, e.revision,
			e.occurred_at, e.actor, e.correlation_id, e.restored_from, e.folder_id, e.schedule::text,
			e.summary::text, a.account_id, a.name, a.email
		FROM rm_feature_history.entries e
		LEFT JOIN rm_feature_history.accounts a ON a.account_id = e.actor_account AND e.actor_account <> 0
		WHERE e.feature_id = $1 ORDER BY e.sequence`, id)
	if err != nil {
		return nil, fmt.Errorf("history of feature %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (HistoryEntry, error) {
		var (
			e           HistoryEntry
			schedule    *string
			summary     string
			uid         *int64
			name, email *string
		)
		if err := row.Scan(&e.Sequence, &e.Version, &e.EventType, &e.EventID, &e.Stream, &e.Revision, &e.Date,
			&e.Actor, &e.CorrelationID, &e.RestoredFrom, &e.FolderID, &schedule, &summary,
			&uid, &name, &email); err != nil {
			return e, err
		}
		e.Date = e.Date.UTC()
		e.User = accountRef(uid, name, email)
		if err := json.Unmarshal([]byte(summary), &e.Summary); err != nil {
			return e, fmt.Errorf("decode summary of entry %d: %w", e.Sequence, err)
		}
		var err error
		e.Schedule, err = decodeSchedule(schedule)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("history of feature %d: %w", id, err)
	}
	return out, nil
}

func accountRef(id *int64, name, email *string) *AccountRef {
	if id == nil {
		return nil
	}
	return &AccountRef{UserID: *id, Name: *name, Email: *email}
}

func decodeSchedule(raw *string) (*ScheduleRef, error) {
	if raw == nil {
		return nil, nil
	}
	var s ScheduleRef
	if err := json.Unmarshal([]byte(*raw), &s); err != nil {
		return nil, fmt.Errorf("decode schedule: %w", err)
	}
	return &s, nil
}

// snapshotQuery selects a snapshot given a CTE "e" that yields the one
// entry the snapshot is taken after.
const snapshotQuery = `
	SELECT e.sequence, e.folder_id, e.schedule::text, e.event_type = 'FeatureDeleted',
		v.version, v.occurred_at, v.restored_from, v.definition::text, v.step_ids::text,
		va.account_id, va.name, va.email, f.created_on, ca.account_id, ca.name, ca.email
	FROM e
	JOIN rm_feature_history.versions v ON v.feature_id = e.feature_id AND v.version = e.version
	JOIN rm_feature_history.features f ON f.feature_id = e.feature_id
	LEFT JOIN rm_feature_history.accounts va ON va.account_id = v.actor_account AND v.actor_account <> 0
	LEFT JOIN rm_feature_history.accounts ca ON ca.account_id = f.created_by AND f.created_by <> 0`

// Version returns feature id as it was when version n was saved; ok is
// false for a version that was never saved.
func (r *HistoryReader) Version(ctx context.Context, id int64, n int) (VersionSnapshot, bool, error) {
	return r.snapshot(ctx, id, `WITH e AS (SELECT en.* FROM rm_feature_history.entries en
		JOIN rm_feature_history.versions vn ON vn.feature_id = en.feature_id AND vn.sequence = en.sequence
		WHERE vn.feature_id = $1 AND vn.version = $2)`+snapshotQuery, id, n)
}

// At returns feature id as it was at instant t: after the last entry
// that occurred at or before t. ok is false when the feature had no
// version yet at t. A snapshot taken after the deletion has Deleted set.
func (r *HistoryReader) At(ctx context.Context, id int64, t time.Time) (VersionSnapshot, bool, error) {
	return r.snapshot(ctx, id, `WITH e AS (SELECT * FROM rm_feature_history.entries
		WHERE feature_id = $1 AND occurred_at <= $2 ORDER BY sequence DESC LIMIT 1)`+snapshotQuery, id, t)
}

func (r *HistoryReader) snapshot(ctx context.Context, id int64, query string, args ...any) (
	VersionSnapshot, bool, error) {
	s := VersionSnapshot{FeatureID: id}
	var (
		schedule, savedName, savedMail, createdName, createdMail *string
		def, ids                                                 string
		savedID, createdID                                       *int64
	)
	err := r.pool.QueryRow(ctx, query, args...).Scan(&s.Sequence, &s.FolderID, &schedule, &s.Deleted,
		&s.Version, &s.SavedAt, &s.RestoredFrom, &def, &ids, &savedID, &savedName, &savedMail,
		&s.CreatedOn, &createdID, &createdName, &createdMail)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("version of feature %d: %w", id, err)
	}
	if err := json.Unmarshal([]byte(def), &s.Definition); err != nil {
		return s, false, fmt.Errorf("decode version %d of feature %d: %w", s.Version, id, err)
	}
	if err := json.Unmarshal([]byte(ids), &s.StepIDs); err != nil {
		return s, false, fmt.Errorf("decode step ids of version %d of feature %d: %w", s.Version, id, err)
	}
	if s.Schedule, err = decodeSchedule(schedule); err != nil {
		return s, false, err
	}
	s.SavedBy = accountRef(savedID, savedName, savedMail)
	s.CreatedBy = accountRef(createdID, createdName, createdMail)
	return s, true, nil
}

// Definitions returns versions a and b of feature id's definition; ok is
// false when either was never saved.
func (r *HistoryReader) Definitions(ctx context.Context, id int64, a, b int) (
	from, to feature.Definition, ok bool, err error) {
	rows, err := r.pool.Query(ctx, `SELECT version, definition::text FROM rm_feature_history.versions
		WHERE feature_id = $1 AND version = ANY($2)`, id, []int{a, b})
	if err != nil {
		return from, to, false, fmt.Errorf("versions %d and %d of feature %d: %w", a, b, id, err)
	}
	found := map[int]feature.Definition{}
	var (
		n   int
		raw string
	)
	_, err = pgx.ForEachRow(rows, []any{&n, &raw}, func() error {
		var d feature.Definition
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return fmt.Errorf("decode version %d: %w", n, err)
		}
		found[n] = d
		return nil
	})
	if err != nil {
		return from, to, false, fmt.Errorf("versions %d and %d of feature %d: %w", a, b, id, err)
	}
	from, okA := found[a]
	to, okB := found[b]
	return from, to, okA && okB, nil
}
