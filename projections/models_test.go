package projections

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
)

// The event types of the tests.
const (
	typeCounterBumped = "CounterBumped"
	typeNoteAdded     = "NoteAdded"
)

type counterBumped struct {
	Key string `json:"key"`
	By  int    `json:"by"`
}

func (counterBumped) EventType() string { return typeCounterBumped }

type noteAdded struct {
	Key  string `json:"key"`
	Body string `json:"body"`
}

func (noteAdded) EventType() string { return typeNoteAdded }

func testRegistry(t testing.TB) *eventschemas.Registry {
	t.Helper()
	reg, err := eventschemas.NewRegistry(
		eventschemas.Schema{Type: typeCounterBumped, Version: 1,
			New: func() eventschemas.Payload { return &counterBumped{} }},
		eventschemas.Schema{Type: typeNoteAdded, Version: 1,
			New: func() eventschemas.Payload { return &noteAdded{} }},
	)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	return reg
}

// countersModel sums CounterBumped per stream with plain increments, which
// are wrong twice over if an event is ever applied twice. It is a Queuer,
// so the framework pipelines it. version 2 adds a column.
type countersModel struct{ version int }

func (m *countersModel) Name() string { return "counters" }

func (m *countersModel) Version() int { return max(1, m.version) }

func (m *countersModel) DDL() string {
	ddl := `CREATE TABLE counters (
		stream text PRIMARY KEY,
		key text NOT NULL,
		total bigint NOT NULL,
		events bigint NOT NULL,
		last_revision bigint NOT NULL,
		last_at timestamptz NOT NULL);
	CREATE INDEX counters_key ON counters (key);`
	if m.version >= 2 {
		ddl += `ALTER TABLE counters ADD COLUMN first_at timestamptz;`
	}
	return ddl
}

func (m *countersModel) EventTypes() []string { return []string{typeCounterBumped} }

func (m *countersModel) Queue(b *pgx.Batch, ev Event) error {
	p, ok := ev.Payload.(*counterBumped)
	if !ok {
		return fmt.Errorf("counters: payload %T", ev.Payload)
	}
	b.Queue(`INSERT INTO counters (stream, key, total, events, last_revision, last_at)
		VALUES ($1, $2, $3, 1, $4, $5)
		ON CONFLICT (stream) DO UPDATE SET total = counters.total + excluded.total,
			events = counters.events + 1, last_revision = excluded.last_revision,
			last_at = excluded.last_at`,
		ev.Stream, p.Key, p.By, int64(ev.Revision), ev.OccurredAt)
	return nil
}

func (m *countersModel) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	if err := m.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// notesModel only has Apply, and reads its own tables while applying.
type notesModel struct{}

func (notesModel) Name() string { return "notes" }

func (notesModel) Version() int { return 1 }

func (notesModel) DDL() string {
	return `CREATE TABLE notes (
		event_id uuid PRIMARY KEY,
		stream text NOT NULL,
		revision bigint NOT NULL,
		seq bigint NOT NULL UNIQUE,
		key text NOT NULL,
		body text NOT NULL,
		occurred_at timestamptz NOT NULL);
	CREATE TABLE note_keys (key text PRIMARY KEY, notes bigint NOT NULL, last_body text NOT NULL);`
}

func (notesModel) EventTypes() []string { return []string{typeNoteAdded} }

func (notesModel) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	p := ev.Payload.(*noteAdded)
	var seq int64
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM notes").Scan(&seq); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notes VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.ID, ev.Stream, int64(ev.Revision), seq, p.Key, p.Body, ev.OccurredAt); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO note_keys VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET notes = note_keys.notes + 1, last_body = excluded.last_body`,
		p.Key, p.Body)
	return err
}

// seenModel counts how often each event was applied: every row must say 1.
type seenModel struct{}

func (seenModel) Name() string { return "seen" }

func (seenModel) Version() int { return 1 }

func (seenModel) DDL() string {
	return `CREATE TABLE seen (event_id uuid PRIMARY KEY, stream text NOT NULL,
		revision bigint NOT NULL, times integer NOT NULL)`
}

func (seenModel) EventTypes() []string { return []string{typeCounterBumped, typeNoteAdded} }

func (seenModel) Queue(b *pgx.Batch, ev Event) error {
	b.Queue(`INSERT INTO seen VALUES ($1, $2, $3, 1)
		ON CONFLICT (event_id) DO UPDATE SET times = seen.times + 1`,
		ev.ID, ev.Stream, int64(ev.Revision))
	return nil
}

func (m seenModel) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	b := &pgx.Batch{}
	_ = m.Queue(b, ev)
	return tx.SendBatch(ctx, b).Close()
}

// killerModel records events like seenModel and, once armed, terminates
// its own database session in the middle of a batch, at the killAt-th
// event it is given.
type killerModel struct {
	killAt int32
	armed  atomic.Bool
	calls  atomic.Int32
}

func (*killerModel) Name() string { return "killer" }

func (*killerModel) Version() int { return 1 }

func (*killerModel) DDL() string { return seenModel{}.DDL() }

func (*killerModel) EventTypes() []string { return []string{typeCounterBumped} }

func (m *killerModel) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	if err := (seenModel{}).Apply(ctx, tx, ev); err != nil {
		return err
	}
	if m.armed.Load() && m.calls.Add(1) == m.killAt {
		m.armed.Store(false)
		_, err := tx.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
		return err
	}
	return nil
}

// namedModel is a shell for validation tests.
type namedModel struct {
	name    string
	version int
	types   []string
	ddl     string
}

func (m *namedModel) Name() string { return m.name }

func (m *namedModel) Version() int { return m.version }

func (m *namedModel) DDL() string {
	if m.ddl == "-" {
		return ""
	}
	return "CREATE TABLE x (id int)"
}

func (m *namedModel) EventTypes() []string { return m.types }

func (m *namedModel) Apply(context.Context, pgx.Tx, Event) error { return nil }
