// Package commands turns requests into events: load a stream, let the
// domain decide, append with the expected revision. One file per command
// family; this file holds the machinery they share.
package commands

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// maxAttempts bounds how often a command is re-decided after losing a race
// for its stream before the conflict is reported to the caller. A save
// that names no expected version means "last writer wins", so a 409 for
// it only says the server gave up: the bound is high enough that twenty
// writers racing on one stream mostly get through (four attempts let about
// a third of them win), and retryDelay spreads the retries out so that
// the losers of one race do not all meet again in the next.
const maxAttempts = 10

// maxRetryDelay caps the random pause before a retry; the pauses of all
// attempts together stay well under a second.
const maxRetryDelay = 50 * time.Millisecond

// retryDelay is the random pause after the attempt-th lost race: up to
// 1 ms, 2 ms, 4 ms, ... doubling to maxRetryDelay.
func retryDelay(attempt int) time.Duration {
	return rand.N(min(time.Millisecond<<min(attempt-1, 16), maxRetryDelay)) + 1
}

// pause waits d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Meta is the envelope information a command carries into its events.
type Meta struct {
	// Actor is "account-<id>" or a service identity such as "service:runner".
	Actor string
	// CorrelationID is one per API request or schedule tick.
	CorrelationID string
	// CommandID identifies this command; event ids are derived from it so
	// that a transport-level retry of the same append is idempotent.
	CommandID uuid.UUID
	// Now is the command's clock reading, stamped on its events.
	Now time.Time
}

// Log appends domain events through the registry, so that every event that
// reaches the store has a registered type and the current schema version.
type Log struct {
	store eventstore.Store
	reg   *eventschemas.Registry
}

// NewLog returns a Log writing to store with the types of reg.
func NewLog(store eventstore.Store, reg *eventschemas.Registry) *Log {
	return &Log{store: store, reg: reg}
}

// Store returns the underlying event store.
func (l *Log) Store() eventstore.Store { return l.store }

// Registry returns the event schema registry.
func (l *Log) Registry() *eventschemas.Registry { return l.reg }

// Recorded is a decoded event with its envelope.
type Recorded struct {
	eventstore.Event
	Payload eventschemas.Payload
}

// Load reads and decodes a whole stream. exists is false (and err nil) for
// a stream that has never been written.
func (l *Log) Load(ctx context.Context, stream string) (events []Recorded, exists bool, err error) {
	raw, err := l.store.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if errors.Is(err, eventstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load stream %q: %w", stream, err)
	}
	out := make([]Recorded, 0, len(raw))
	for _, ev := range raw {
		p, err := l.reg.Decode(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return nil, true, fmt.Errorf("load stream %q at revision %d: %w", stream, ev.Revision, err)
		}
		out = append(out, Recorded{Event: ev, Payload: p})
	}
	return out, true, nil
}

// Append encodes payloads and appends them to stream. Event ids derive from
// meta.CommandID, the stream and the expected revision: the same decision
// sent twice is written once, a new decision after a conflict gets new ids.
func (l *Log) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	meta Meta, payloads ...eventschemas.Payload) (eventstore.AppendResult, error) {
	if meta.CommandID == uuid.Nil {
		meta.CommandID = uuid.New()
	}
	events := make([]eventstore.EventData, 0, len(payloads))
	for i, p := range payloads {
		typ, version, data, err := l.reg.Encode(p)
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append to stream %q: %w", stream, err)
		}
		events = append(events, eventstore.EventData{
			ID:            eventID(meta.CommandID, stream, expected, i),
			Type:          typ,
			SchemaVersion: version,
			Data:          data,
			OccurredAt:    meta.Now.UTC(),
			Actor:         meta.Actor,
			CorrelationID: meta.CorrelationID,
			CausationID:   meta.CommandID.String(),
		})
	}
	// The store's errors already name the stream.
	return l.store.Append(ctx, stream, expected, events...)
}

func eventID(command uuid.UUID, stream string, expected eventstore.ExpectedRevision, i int) uuid.UUID {
	return uuid.NewSHA1(command, []byte(stream+"\x00"+expected.String()+"\x00"+strconv.Itoa(i)))
}

// Decide is a domain decision over the events already in a stream: it
// returns the events to append, none when nothing changes, or an error that
// refuses the command.
type Decide func(history []Recorded, exists bool) ([]eventschemas.Payload, error)

// Execute loads stream, decides and appends with the revision it loaded. On
// losing a race it pauses a little (retryDelay), reloads and decides
// again, at most maxAttempts times, then returns the
// *eventstore.ConflictError. With nothing to append it
// returns the stream's current position and ok=false.
func (l *Log) Execute(ctx context.Context, stream string, meta Meta, decide Decide) (res eventstore.AppendResult, ok bool, err error) {
	for attempt := 1; ; attempt++ {
		history, exists, err := l.Load(ctx, stream)
		if err != nil {
			return res, false, err
		}
		payloads, err := decide(history, exists)
		if err != nil {
			return res, false, err
		}
		if len(payloads) == 0 {
			if len(history) > 0 {
				last := history[len(history)-1]
				res = eventstore.AppendResult{NextRevision: last.Revision, Position: last.Position}
			}
			return res, false, nil
		}

		res, err = l.Append(ctx, stream, expectedAfter(history, exists), meta, payloads...)
		if err == nil {
			return res, true, nil
		}
		if !errors.Is(err, eventstore.ErrConflict) || attempt == maxAttempts {
			return res, false, err
		}
		if perr := pause(ctx, retryDelay(attempt)); perr != nil {
			return res, false, fmt.Errorf("retry on stream %q: %w", stream, perr)
		}
	}
}

// expectedAfter is the expected revision of an append decided on history,
// a stream's events as Load returned them with exists.
func expectedAfter(history []Recorded, exists bool) eventstore.ExpectedRevision {
	switch {
	case len(history) > 0:
		return eventstore.Exact(history[len(history)-1].Revision)
	case exists:
		// A stream that exists but reads empty (truncated in
		// EventStoreDB, say) can only be appended to as it is.
		return eventstore.StreamExists()
	}
	return eventstore.NoStream()
}
