package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventstore"
)

// LoggedEvent is one event of the event log read model: the envelope, the
// stored payload and the departments it belongs to.
type LoggedEvent struct {
	// Seq is the event's number in the log, 1, 2, 3, ... without gaps.
	Seq           int64
	EventID       uuid.UUID
	Type          string
	SchemaVersion int
	Stream        string
	Revision      int64
	Position      eventstore.Position
	OccurredAt    time.Time
	Actor         string
	// User is the actor's account (kept after the account was deleted),
	// nil for a service or an account this model never saw.
	User          *AccountRef
	CorrelationID string
	CausationID   string
	Departments   []int64
	// Data is the payload as stored, in its SchemaVersion.
	Data json.RawMessage
}

// EventFilter selects events of the log. Zero fields select everything.
type EventFilter struct {
	// After is the seq the page starts after (0: from the first event).
	After int64
	// Limit bounds the page (required, at least 1).
	Limit int
	// Streams keeps events of these streams only.
	Streams []string
	// Types keeps events of these types only.
	Types []string
	// Actor keeps events of this envelope actor ("account-3",
	// "service:runner").
	Actor string
	// CorrelationID keeps the events of one request or schedule tick.
	CorrelationID string
	// From and To bound occurred_at: From inclusive, To exclusive.
	From, To time.Time
	// Departments keeps events that belong to one of these departments,
	// unless AllDepartments is set (SUPERUSER), which also shows events
	// of no department (the catalogue's).
	Departments    []int64
	AllDepartments bool
	// HideAccounts leaves out the events of account streams
	// ("account-<id>": names, e-mail addresses, roles, tokens issued)
	// except those of OwnAccount: a caller without view_accounts may follow
	// its own account only, as GET /api/accounts/ lets it see no other.
	HideAccounts bool
	OwnAccount   int64
}

// EventLogReader queries the event log read model.
type EventLogReader struct{ pool *pgxpool.Pool }

// NewEventLogReader returns a reader on pool.
func NewEventLogReader(pool *pgxpool.Pool) *EventLogReader { return &EventLogReader{pool: pool} }

const loggedColumns = `e.seq, e.event_id, e.event_type, e.schema_version, e.stream, e.revision,
	e.commit_pos, e.prepare_pos, e.occurred_at, e.actor, e.correlation_id, e.causation_id,
	e.departments, e.data::text, a.account_id, a.name, a.email`

// Page returns the events f selects, in seq order, at most f.Limit.
func (r *EventLogReader) Page(ctx context.Context, f EventFilter) ([]LoggedEvent, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("event log page: limit %d: %w", f.Limit, ErrInvalid)
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where = append(where, "e.seq > "+arg(f.After))
	if len(f.Streams) > 0 {
		where = append(where, "e.stream = ANY("+arg(f.Streams)+")")
	}
	if len(f.Types) > 0 {
		where = append(where, "e.event_type = ANY("+arg(f.Types)+")")
	}
	if f.Actor != "" {
		where = append(where, "e.actor = "+arg(f.Actor))
	}
	if f.CorrelationID != "" {
		where = append(where, "e.correlation_id = "+arg(f.CorrelationID))
	}
	if !f.From.IsZero() {
		where = append(where, "e.occurred_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "e.occurred_at < "+arg(f.To))
	}
	if f.HideAccounts {
		where = append(where, "(e.stream NOT LIKE 'account-%' OR e.stream = "+
			arg("account-"+strconv.FormatInt(f.OwnAccount, 10))+")")
	}
	if !f.AllDepartments {
		deps := f.Departments
		if deps == nil {
			deps = []int64{}
		}
		where = append(where, `EXISTS (SELECT 1 FROM rm_event_log.event_departments d
			WHERE d.seq = e.seq AND d.department_id = ANY(`+arg(deps)+`))`)
	}
	query := `SELECT ` + loggedColumns + ` FROM rm_event_log.events e
		LEFT JOIN rm_event_log.accounts a ON a.account_id = e.actor_account AND e.actor_account <> 0
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY e.seq LIMIT ` + arg(f.Limit)
	rows, err := r.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("event log page after %d: %w", f.After, err)
	}
	out, err := pgx.CollectRows(rows, scanLogged)
	if err != nil {
		return nil, fmt.Errorf("event log page after %d: %w", f.After, err)
	}
	return out, nil
}

func scanLogged(row pgx.CollectableRow) (LoggedEvent, error) {
	var (
		e               LoggedEvent
		commit, prepare int64
		data            string
		id              *int64
		name, email     *string
	)
	err := row.Scan(&e.Seq, &e.EventID, &e.Type, &e.SchemaVersion, &e.Stream, &e.Revision, &commit, &prepare,
		&e.OccurredAt, &e.Actor, &e.CorrelationID, &e.CausationID, &e.Departments, &data, &id, &name, &email)
	if err != nil {
		return e, err
	}
	e.Position = eventstore.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
	e.Data = json.RawMessage(data)
	if id != nil {
		e.User = &AccountRef{UserID: *id, Name: *name, Email: *email}
	}
	if e.Departments == nil {
		e.Departments = []int64{}
	}
	return e, nil
}

// LastSeq returns the highest seq of the log as the model has it (0 when
// it holds no event).
func (r *EventLogReader) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := r.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM rm_event_log.events`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("last seq of the event log: %w", err)
	}
	return seq, nil
}

// Scope returns the departments stream belongs to now; ok is false for a
// stream the model has never placed in a department.
func (r *EventLogReader) Scope(ctx context.Context, stream string) (departments []int64, ok bool, err error) {
	err = r.pool.QueryRow(ctx, `SELECT departments FROM rm_event_log.scopes WHERE stream = $1`, stream).
		Scan(&departments)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("departments of stream %q: %w", stream, err)
	}
	return departments, true, nil
}
