package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cometa-es/cometa/eventstore"
)

// headPage is how many events Head reads per step while it skips system
// events backwards.
const headPage = 64

// noLimit stands for "every event" in a read's count. It is the largest
// signed value so that no server converts it to a negative count.
const noLimit = math.MaxInt64

// ReadStream returns the events of one stream that q selects. A stream that
// has never been written is eventstore.ErrNotFound (the client reports it on
// the first Recv, not from ReadStream).
func (s *Store) ReadStream(ctx context.Context, stream string, q eventstore.StreamQuery) ([]eventstore.Event, error) {
	op := fmt.Sprintf("read stream %q", stream)
	if stream == "" {
		return nil, fmt.Errorf("read stream: empty stream name: %w", eventstore.ErrInvalid)
	}
	if q.Count < 0 {
		return nil, fmt.Errorf("%s: negative count %d: %w", op, q.Count, eventstore.ErrInvalid)
	}
	opts := esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(q.From)}
	if q.Direction == eventstore.Backwards {
		opts.Direction = esdb.Backwards
	}
	if q.From == eventstore.End {
		opts.From = esdb.End{}
	}
	count := uint64(noLimit)
	if q.Count > 0 {
		count = uint64(q.Count)
	}

	recs, err := run(ctx, s.clients, op, repeatSafe, func(ctx context.Context, c *conn) ([]*esdb.RecordedEvent, error) {
		return collect(c.client.ReadStream(ctx, stream, opts, count))
	}, nil)
	if err != nil {
		return nil, translate(ctx, op, err)
	}
	out := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		out[i] = fromRecorded(r)
	}
	return out, nil
}

// ReadAll returns at most limit events of the global log strictly after the
// position after (the server reads inclusively, so the event at after is
// skipped). System events are skipped too; they do not count against limit.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	op := fmt.Sprintf("read all after %d/%d", after.Commit, after.Prepare)
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d is not positive: %w", op, limit, eventstore.ErrInvalid)
	}

	var out []eventstore.Event
	from := after
	for len(out) < limit {
		// One more than needed: the first may be the event at from.
		want := uint64(limit-len(out)) + 1
		opts := esdb.ReadAllOptions{Direction: esdb.Forwards, From: allPosition(from)}
		page, err := run(ctx, s.clients, op, repeatSafe, func(ctx context.Context, c *conn) ([]*esdb.RecordedEvent, error) {
			return collect(c.client.ReadAll(ctx, opts, want))
		}, nil)
		if err != nil {
			return nil, translate(ctx, op, err)
		}
		moved := false
		for _, r := range page {
			pos := eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			if !from.Less(pos) {
				continue
			}
			from, moved = pos, true
			if isSystem(r) {
				continue
			}
			out = append(out, fromRecorded(r))
			if len(out) == limit {
				break
			}
		}
		if uint64(len(page)) < want || !moved {
			break
		}
	}
	return out, nil
}

// Head returns the position and occurred-at time of the last event that is
// not a system event, or zero values when there is none.
func (s *Store) Head(ctx context.Context) (eventstore.Position, time.Time, error) {
	const op = "read head of the log"
	var from esdb.AllPosition = esdb.End{}
	var bound *eventstore.Position
	for {
		opts := esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}
		page, err := run(ctx, s.clients, op, repeatSafe, func(ctx context.Context, c *conn) ([]*esdb.RecordedEvent, error) {
			return collect(c.client.ReadAll(ctx, opts, headPage))
		}, nil)
		if err != nil {
			return eventstore.Position{}, time.Time{}, translate(ctx, op, err)
		}
		moved := false
		for _, r := range page {
			pos := eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			// Backwards reads start before their position; a server that
			// included it would hand back the event already seen.
			if bound != nil && !pos.Less(*bound) {
				continue
			}
			bound, moved = &pos, true
			if !isSystem(r) {
				return pos, fromRecorded(r).OccurredAt, nil
			}
		}
		if len(page) < headPage || !moved {
			return eventstore.Position{}, time.Time{}, nil
		}
		from = esdb.Position{Commit: bound.Commit, Prepare: bound.Prepare}
	}
}

// collect drains a read. An error in the middle is an error, never the end
// of the read.
func collect(rs *esdb.ReadStream, err error) ([]*esdb.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if ev.Event != nil {
			out = append(out, ev.Event)
		}
	}
}
