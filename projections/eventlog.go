package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
)

// EventLog is the read model of the log itself (schema rm_event_log): every
// event with its whole envelope and its stored payload, the departments it
// belongs to, and a dense sequence number. It serves the audit listings,
// the live stream and the replay of runs.
//
// Tables:
//
//	events (seq, event_id, stream, revision, commit_pos, prepare_pos,
//	        event_type, schema_version, occurred_at, actor, actor_account,
//	        correlation_id, causation_id, departments, data)
//	event_departments (department_id, seq): the same departments, one row
//	        each, for paging one department's events by seq
//	scopes (stream, departments): the departments an object belongs to
//	        now, which its later events inherit
//	accounts (account_id, name, email, deleted): every account ever
//	        created, deleted ones kept, to name the actor of old events
//
// seq is 1, 2, 3, ... in log order, handed out by this model (one more than
// the highest so far), so it is the same after every rebuild and on both
// stores, whose positions are not dense. Clients page and resume by it.
//
// The payload is kept as stored (schema_version says which schema), in a
// json column so that any text the payload holds survives unchanged.
// Events carry no secrets in plain text: encrypted variable values are
// ciphertext and tokens are SHA-256 hashes, and this model stores nothing
// else.
type EventLog struct {
	types []string
}

// NewEventLog returns the event log read model. It handles every event
// type of eventschemas.Schemas.
func NewEventLog() *EventLog {
	schemas := eventschemas.Schemas()
	types := make([]string, len(schemas))
	for i, s := range schemas {
		types[i] = s.Type
	}
	return &EventLog{types: types}
}

var (
	_ ReadModel = (*EventLog)(nil)
	_ Queuer    = (*EventLog)(nil)
)

// Name returns "event_log".
func (*EventLog) Name() string { return "event_log" }

// Version returns the version of the tables and Apply logic.
func (*EventLog) Version() int { return 1 }

// DDL creates the tables.
func (*EventLog) DDL() string {
	return `
CREATE TABLE events (
	seq bigint PRIMARY KEY,
	event_id uuid NOT NULL UNIQUE,
	stream text NOT NULL,
	revision bigint NOT NULL,
	commit_pos bigint NOT NULL,
	prepare_pos bigint NOT NULL,
	event_type text NOT NULL,
	schema_version integer NOT NULL,
	occurred_at timestamptz NOT NULL,
	actor text NOT NULL,
	actor_account bigint NOT NULL,
	correlation_id text NOT NULL,
	causation_id text NOT NULL,
	departments bigint[] NOT NULL,
	data json NOT NULL);
CREATE INDEX events_stream ON events (stream, seq);
CREATE INDEX events_type ON events (event_type, seq);
CREATE INDEX events_actor ON events (actor, seq);
CREATE INDEX events_correlation ON events (correlation_id, seq);
CREATE TABLE event_departments (
	department_id bigint NOT NULL,
	seq bigint NOT NULL,
	PRIMARY KEY (department_id, seq));
CREATE TABLE scopes (stream text PRIMARY KEY, departments bigint[] NOT NULL);
CREATE TABLE accounts (
	account_id bigint PRIMARY KEY,
	name text NOT NULL,
	email text NOT NULL,
	deleted boolean NOT NULL DEFAULT false);`
}

// EventTypes lists every registered event type.
func (m *EventLog) EventTypes() []string { return m.types }

// Apply projects one event.
func (m *EventLog) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

const (
	// insertLogged inserts the event with the next seq and its departments
	// (named ones and those of the inherited stream) and lists it under
	// each department, in one statement.
	insertLogged = `WITH logged AS (
		INSERT INTO events (seq, event_id, stream, revision, commit_pos, prepare_pos,
			event_type, schema_version, occurred_at, actor, actor_account, correlation_id, causation_id,
			departments, data)
		SELECT coalesce((SELECT max(seq) FROM events), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12,
			ARRAY(SELECT DISTINCT d FROM unnest($13::bigint[] ||
				coalesce((SELECT departments FROM scopes WHERE stream = $14), '{}'::bigint[])) AS d
				WHERE d > 0 ORDER BY d),
			$15::json
		WHERE NOT EXISTS (SELECT 1 FROM events WHERE event_id = $1)
		RETURNING seq, departments)
		INSERT INTO event_departments (department_id, seq)
		SELECT d, seq FROM logged, unnest(departments) AS d`
	setScope = `INSERT INTO scopes (stream, departments) VALUES ($1, $2)
		ON CONFLICT (stream) DO UPDATE SET departments = excluded.departments`
	setScopeFromEvent = `INSERT INTO scopes (stream, departments)
		SELECT $1, departments FROM events WHERE event_id = $2
		ON CONFLICT (stream) DO UPDATE SET departments = excluded.departments`
	// backfillScope gives the events of a stream that belonged to no
	// department yet (a FeatureCreated before its first FeatureSaved, a
	// run key bound before its run) the departments the stream has now.
	backfillScope = `WITH filled AS (
			UPDATE events SET departments = s.departments FROM scopes s
			WHERE s.stream = $1 AND events.stream = $1 AND events.departments = '{}'
				AND s.departments <> '{}'
			RETURNING events.seq, events.departments)
		INSERT INTO event_departments (department_id, seq)
		SELECT d, seq FROM filled, unnest(departments) AS d ON CONFLICT DO NOTHING`
	upsertLogAccount = `INSERT INTO accounts (account_id, name, email) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, email = excluded.email`
)

// Queue queues the statements for one event: the row, its departments,
// the scopes it sets and the copy of account names.
func (m *EventLog) Queue(b *pgx.Batch, ev Event) error {
	commit, prepare, err := posArgs(ev.Position)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	if ev.Revision > 1<<62 {
		return fmt.Errorf("event log: revision %d does not fit a bigint: %w", ev.Revision, ErrInvalid)
	}
	data := string(ev.Data)
	if len(ev.Data) == 0 {
		data = "null"
	}
	rule := scopeOf(ev)
	named := rule.named
	if named == nil {
		named = []int64{}
	}
	b.Queue(insertLogged, ev.ID, ev.Stream, int64(ev.Revision), commit, prepare, ev.Type, ev.SchemaVersion,
		ev.OccurredAt, ev.Actor, accountOfActor(ev.Actor), ev.CorrelationID, ev.CausationID,
		named, rule.inherit, data)
	for _, s := range rule.sets {
		if s.own {
			b.Queue(setScopeFromEvent, s.stream, ev.ID)
		} else {
			deps := s.departments
			if deps == nil {
				deps = []int64{}
			}
			b.Queue(setScope, s.stream, deps)
		}
		b.Queue(backfillScope, s.stream)
	}

	switch e := ev.Payload.(type) {
	case *eventschemas.AccountCreated:
		b.Queue(upsertLogAccount, e.AccountID, e.Name, e.Email)
	case *eventschemas.AccountUpdated:
		b.Queue(upsertLogAccount, e.AccountID, e.Name, e.Email)
	case *eventschemas.AccountDeleted:
		b.Queue(`UPDATE accounts SET deleted = true WHERE account_id = $1`, e.AccountID)
	}
	return nil
}
