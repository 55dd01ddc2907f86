package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cometa-es/cometa/eventstore"
)

const appendSQL = `SELECT o_revision, o_last_seq, o_tx FROM eventlog.append(
	$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// Expected-revision kinds as eventlog.append takes them.
const (
	kindAny = iota
	kindNoStream
	kindStreamExists
	kindExact
)

// querier is what an append runs on: the pool, or (in tests) a
// transaction held open on purpose.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Append writes events to stream as one atomic batch if the stream is where
// expected says. A retry whose event ids are already the stream's events at
// the expected place is acknowledged with the original result and writes
// nothing; ids stored anywhere else refuse the batch.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := checkBatch(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	res, err := s.append(ctx, s.pool, stream, expected, events)
	if err == nil {
		s.notifier.announce()
	}
	return res, err
}

func (s *Store) append(ctx context.Context, q querier, stream string,
	expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	kind, want := encodeExpected(expected)
	b := newBatch(events)
	var (
		revision int64
		lastSeq  *int64
		tx       *uint64
	)
	err := q.QueryRow(ctx, appendSQL, stream, kind, want, b.ids, b.types, b.versions, b.data,
		b.occurredAt, b.actors, b.correlations, b.causations).Scan(&revision, &lastSeq, &tx)
	switch {
	case err == nil && lastSeq != nil:
		return eventstore.AppendResult{
			NextRevision: uint64(revision),
			Position:     eventstore.Position{Commit: *tx, Prepare: uint64(*lastSeq)},
		}, nil
	case err == nil:
		conflict := &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: revision}
		return s.refused(ctx, stream, expected, events, conflict)
	case isDuplicateID(err):
		return s.refused(ctx, stream, expected, events, nil)
	default:
		return eventstore.AppendResult{}, fault(ctx, fmt.Sprintf("append to stream %q", stream), err)
	}
}

// refused decides what a batch that could not be written means, once the
// stream turned out not to be where expected (conflict != nil) or one of
// the event ids turned out to be stored already. Stored events never
// change, so what it finds is final.
func (s *Store) refused(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	events []eventstore.EventData, conflict *eventstore.ConflictError) (eventstore.AppendResult, error) {
	stored, err := s.storedEvents(ctx, events)
	if err != nil {
		return eventstore.AppendResult{}, fault(ctx, fmt.Sprintf("append to stream %q", stream), err)
	}
	if res, ok := replay(stream, expected, events, stored); ok {
		return res, nil
	}
	for _, ev := range events {
		if at, ok := stored[ev.ID]; ok && at.stream != stream {
			return eventstore.AppendResult{}, fmt.Errorf(
				"append to stream %q: event %s is already stored in stream %q at revision %d: %w",
				stream, ev.ID, at.stream, at.revision, eventstore.ErrInvalid)
		}
	}
	if conflict != nil {
		return eventstore.AppendResult{}, conflict
	}
	for _, ev := range events {
		if at, ok := stored[ev.ID]; ok {
			return eventstore.AppendResult{}, fmt.Errorf(
				"append to stream %q: event %s is already stored at revision %d, so this batch "+
					"(expecting %s) is not a retry of the one that stored it: %w",
				stream, ev.ID, at.revision, expected, eventstore.ErrInvalid)
		}
	}
	// A duplicate id whose row cannot be found: cannot happen, as rows are
	// never deleted, unless someone edits the table by hand.
	return eventstore.AppendResult{}, fmt.Errorf("append to stream %q: duplicate event id, "+
		"but no stored event has it: %w", stream, eventstore.ErrUnavailable)
}

// storedAt is where an event id is stored.
type storedAt struct {
	stream   string
	revision uint64
	position eventstore.Position
}

func (s *Store) storedEvents(ctx context.Context, events []eventstore.EventData) (map[uuid.UUID]storedAt, error) {
	ids := make([]uuid.UUID, len(events))
	for i, ev := range events {
		ids[i] = ev.ID
	}
	rows, err := s.pool.Query(ctx,
		"SELECT event_id, stream, revision, tx, seq FROM eventlog.events WHERE event_id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	stored := map[uuid.UUID]storedAt{}
	var (
		id uuid.UUID
		at storedAt
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &at.stream, &at.revision, &at.position.Commit, &at.position.Prepare},
		func() error {
			stored[id] = at
			return nil
		})
	return stored, err
}

// replay reports whether events are exactly stream's events at the place
// expected names, in order, and if so the result their append had.
func replay(stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData,
	stored map[uuid.UUID]storedAt) (eventstore.AppendResult, bool) {
	first, ok := stored[events[0].ID]
	if !ok || first.stream != stream {
		return eventstore.AppendResult{}, false
	}
	for i, ev := range events {
		at, ok := stored[ev.ID]
		if !ok || at.stream != stream || at.revision != first.revision+uint64(i) {
			return eventstore.AppendResult{}, false
		}
	}
	var place bool
	switch r, exact := expected.Revision(); {
	case exact:
		place = r != math.MaxUint64 && first.revision == r+1
	case expected.IsNoStream():
		place = first.revision == 0
	case expected.IsStreamExists():
		place = first.revision > 0
	default:
		place = true
	}
	if !place {
		return eventstore.AppendResult{}, false
	}
	last := stored[events[len(events)-1].ID]
	return eventstore.AppendResult{NextRevision: last.revision, Position: last.position}, true
}

// checkBatch refuses what ValidateAppend lets through but this store
// cannot take: one event id twice in a batch (it would be refused by the
// unique index, after a round trip, with a less clear error) and schema
// versions beyond the integer column.
func checkBatch(stream string, events []eventstore.EventData) error {
	seen := make(map[uuid.UUID]int, len(events))
	for i, ev := range events {
		if ev.SchemaVersion > math.MaxInt32 {
			return fmt.Errorf("append to stream %q: event %d (%s) has schema version %d: %w",
				stream, i, ev.Type, ev.SchemaVersion, eventstore.ErrInvalid)
		}
		if j, dup := seen[ev.ID]; dup {
			return fmt.Errorf("append to stream %q: events %d and %d share the id %s: %w",
				stream, j, i, ev.ID, eventstore.ErrInvalid)
		}
		seen[ev.ID] = i
	}
	return nil
}

// encodeExpected gives eventlog.append's kind and revision for e. An exact
// revision beyond bigint can never match.
func encodeExpected(e eventstore.ExpectedRevision) (kind int32, revision int64) {
	switch r, exact := e.Revision(); {
	case exact && r > math.MaxInt64:
		return kindExact, -2
	case exact:
		return kindExact, int64(r)
	case e.IsNoStream():
		return kindNoStream, 0
	case e.IsStreamExists():
		return kindStreamExists, 0
	default:
		return kindAny, 0
	}
}

func isDuplicateID(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "events_event_id_key"
}

// batch is an append's events as the column arrays eventlog.append takes.
type batch struct {
	ids          []uuid.UUID
	types        []string
	versions     []int32
	data         [][]byte
	occurredAt   []time.Time
	actors       []string
	correlations []string
	causations   []string
}

func newBatch(events []eventstore.EventData) batch {
	n := len(events)
	b := batch{
		ids: make([]uuid.UUID, n), types: make([]string, n), versions: make([]int32, n),
		data: make([][]byte, n), occurredAt: make([]time.Time, n), actors: make([]string, n),
		correlations: make([]string, n), causations: make([]string, n),
	}
	for i, ev := range events {
		b.ids[i] = ev.ID
		b.types[i] = ev.Type
		b.versions[i] = int32(ev.SchemaVersion)
		b.data[i] = ev.Data
		b.occurredAt[i] = ev.OccurredAt
		b.actors[i] = ev.Actor
		b.correlations[i] = ev.CorrelationID
		b.causations[i] = ev.CausationID
	}
	return b
}
