package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/cometa-es/cometa/eventstore"
)

const eventColumns = `tx, seq, event_id, stream, revision, type, schema_version, data,
	occurred_at, actor, correlation_id, causation_id`

// visible is the late-commit guard: only transactions older than the
// oldest one still running have all committed (or will never commit), so
// nothing can appear below the rows it admits later.
const visible = `tx < pg_snapshot_xmin(pg_current_snapshot())`

const (
	readForwardsSQL = `SELECT ` + eventColumns + ` FROM eventlog.events
	WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`
	readBackwardsSQL = `SELECT ` + eventColumns + ` FROM eventlog.events
	WHERE stream = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3`
	streamExistsSQL = `SELECT EXISTS (SELECT 1 FROM eventlog.streams WHERE stream = $1)`

	readAllSQL = `SELECT ` + eventColumns + ` FROM eventlog.events
	WHERE (tx, seq) > ($1, $2) AND ` + visible + ` ORDER BY tx, seq LIMIT $3`
	// unreadSQL tells whether committed events lie beyond a position, seen
	// or not yet seen by readAllSQL.
	unreadSQL = `SELECT EXISTS (SELECT 1 FROM eventlog.events WHERE (tx, seq) > ($1, $2))`
)

// ReadStream returns up to q.Count events of stream (all when Count is 0)
// from revision q.From, forwards or backwards. Unlike the global log, a
// stream shows every committed event at once: revisions have no gaps.
func (s *Store) ReadStream(ctx context.Context, stream string,
	q eventstore.StreamQuery) ([]eventstore.Event, error) {
	op := fmt.Sprintf("read stream %q", stream)
	if q.Count < 0 {
		return nil, fmt.Errorf("%s: negative count %d: %w", op, q.Count, eventstore.ErrInvalid)
	}
	var limit *int
	if q.Count > 0 {
		limit = &q.Count
	}
	from := int64(min(q.From, math.MaxInt64))
	query := readForwardsSQL
	if q.Direction == eventstore.Backwards {
		query = readBackwardsSQL
	}

	events, err := s.query(ctx, query, stream, from, limit)
	if err != nil {
		return nil, fault(ctx, op, err)
	}
	if len(events) > 0 {
		return events, nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, streamExistsSQL, stream).Scan(&exists); err != nil {
		return nil, fault(ctx, op, err)
	}
	if !exists {
		return nil, fmt.Errorf("%s: %w", op, eventstore.ErrNotFound)
	}
	// The stream row and its first events commit together, but the two
	// queries above run in separate snapshots: a stream created between
	// them exists with its events. Read them in the later snapshot.
	events, err = s.query(ctx, query, stream, from, limit)
	if err != nil {
		return nil, fault(ctx, op, err)
	}
	return events, nil
}

// ReadAll returns up to limit events of the log after the position after,
// in log order, among those no later commit can precede.
//
// Events committed before the call that the horizon still hides (an older
// transaction somewhere in the cluster is running) are waited for, up to
// settleTimeout: they usually show within milliseconds, and then a page
// shorter than limit means that nothing committed lies beyond it, as a
// caller paging to the end (or reading its own write) expects. Past the
// bound ReadAll returns what it can see.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	op := fmt.Sprintf("read all after %v", after)
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d: %w", op, limit, eventstore.ErrInvalid)
	}
	events, err := s.readAll(ctx, after, limit)
	if err != nil {
		return nil, fault(ctx, op, err)
	}
	if len(events) == limit {
		return events, nil
	}
	if events, err = s.settleRead(ctx, after, events, limit); err != nil {
		return nil, fault(ctx, op, err)
	}
	return events, nil
}

func (s *Store) readAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	return s.query(ctx, readAllSQL, after.Commit, seqParam(after.Prepare), limit)
}

// unread reports whether committed events lie beyond after, whether or not
// readAll can see them yet.
func (s *Store) unread(ctx context.Context, after eventstore.Position) (bool, error) {
	var unread bool
	err := s.pool.QueryRow(ctx, unreadSQL, after.Commit, seqParam(after.Prepare)).Scan(&unread)
	return unread, err
}

func (s *Store) query(ctx context.Context, sql string, args ...any) ([]eventstore.Event, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []eventstore.Event
	for rows.Next() {
		var ev eventstore.Event
		err := rows.Scan(&ev.Position.Commit, &ev.Position.Prepare, &ev.ID, &ev.Stream, &ev.Revision,
			&ev.Type, &ev.SchemaVersion, &ev.Data, &ev.OccurredAt, &ev.Actor, &ev.CorrelationID,
			&ev.CausationID)
		if err != nil {
			return nil, err
		}
		ev.OccurredAt = ev.OccurredAt.UTC()
		events = append(events, ev)
	}
	return events, rows.Err()
}

// seqParam is a Prepare position as the bigint sequence it compares with.
func seqParam(prepare uint64) int64 {
	return int64(min(prepare, math.MaxInt64))
}
