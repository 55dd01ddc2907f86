package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// maxEmptyReads bounds how often load reads a stream again that the store
// reported as existing without showing an event.
const maxEmptyReads = 5

// load is Log.Load for streams that several runners create at the same
// moment (results, baselines, keys). The PostgreSQL store can report such
// a stream as existing but empty when the creating append commits between
// its two queries; the events are there on the next read.
//
// TODO(eventstore): ReadStream of eventstore/postgres should read the
// events again when it finds the stream row; then this goes.
func load(ctx context.Context, l *Log, stream string) ([]Recorded, bool, error) {
	for range maxEmptyReads {
		history, exists, err := l.Load(ctx, stream)
		if err != nil || !exists || len(history) > 0 {
			return history, exists, err
		}
	}
	return nil, false, fmt.Errorf("load stream %q: it exists but shows no events: %w", stream, eventstore.ErrUnavailable)
}

// handle is Handle over load: fold the stream into S, decide, append with
// the revision loaded, and decide again after a lost race (bounded).
func handle[S domain.Evolver[S]](ctx context.Context, l *Log, stream string, meta Meta,
	decide func(S) ([]eventschemas.Payload, error)) (res eventstore.AppendResult, ok bool, err error) {
	for attempt := 1; ; attempt++ {
		history, exists, err := load(ctx, l, stream)
		if err != nil {
			return res, false, err
		}
		var s S
		for _, r := range history {
			s = s.Evolve(r.Payload)
		}
		payloads, err := decide(s)
		if err != nil || len(payloads) == 0 {
			return res, false, err
		}
		expected := eventstore.NoStream()
		if exists {
			expected = eventstore.Exact(history[len(history)-1].Revision)
		}
		res, err = l.Append(ctx, stream, expected, meta, payloads...)
		if err == nil {
			return res, true, nil
		}
		if !errors.Is(err, eventstore.ErrConflict) || attempt == maxAttempts {
			return res, false, err
		}
	}
}
