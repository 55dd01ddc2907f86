// Package eventstore defines the port through which Cometa-ES appends events
// and reads them back. Two implementations live below it: postgres (the
// embedded default) and esdb (EventStoreDB through the official v4 client).
// Both must pass the contract suite in eventstore/storetest.
//
// Nothing of a concrete store leaks through this package: errors come as the
// categories ErrConflict, ErrNotFound and ErrUnavailable, positions as
// Position, events as Event.
package eventstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Store is the event store port. Every method is bounded by its ctx.
type Store interface {
	// Append writes events to the end of stream as one atomic batch, provided
	// the stream's current revision matches expected. A retried append whose
	// event ids are already the stream's events at the expected place is
	// acknowledged again without writing anything.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)

	// ReadStream returns at most q.Count events of one stream (all of them
	// when Count is 0), forwards or backwards from q.From. A stream that has
	// never been written is ErrNotFound.
	ReadStream(ctx context.Context, stream string, q StreamQuery) ([]Event, error)

	// ReadAll returns at most limit events of the whole log that come after
	// the position after, in log order. The zero Position reads from the
	// start. It never returns an event that a later read could still see
	// appear before one it already returned.
	ReadAll(ctx context.Context, after Position, limit int) ([]Event, error)

	// SubscribeAll delivers every event after the position after: first the
	// history (catch-up), then new events as they are committed (live), in
	// log order and without gaps, until ctx ends or the subscription fails.
	SubscribeAll(ctx context.Context, after Position) (Subscription, error)

	// Head returns the position and time of the last event in the log, or
	// the zero Position and time when the log is empty.
	Head(ctx context.Context) (Position, time.Time, error)

	// Close releases connections. The Store is unusable afterwards.
	Close() error
}

// Subscription is a live feed of the global log.
type Subscription interface {
	// Recv blocks until the next event arrives. It returns the ctx error of
	// SubscribeAll when that ends, or ErrUnavailable (wrapped) when the
	// connection to the store is lost; after an error every call fails.
	Recv() (Event, error)

	// Close stops the subscription and releases what it holds.
	Close() error
}

// EventData is an event proposed for appending. The envelope fields that the
// store assigns (stream, revision, position) are not part of it.
type EventData struct {
	// ID identifies the event for idempotent retries. It must not be nil.
	ID uuid.UUID
	// Type is the registered event type name, e.g. "FeatureSaved".
	Type string
	// SchemaVersion is the version of Type's payload schema (1 and up).
	SchemaVersion int
	// Data is the JSON payload.
	Data []byte
	// OccurredAt is when the change happened, as the command saw the clock.
	OccurredAt time.Time
	// Actor is who caused the event: "account-3", "service:runner",
	// "service:scheduler".
	Actor string
	// CorrelationID groups the events of one request or schedule tick.
	CorrelationID string
	// CausationID is the id of the command or event that caused this one.
	CausationID string
}

// Event is a recorded event with its whole envelope.
type Event struct {
	EventData
	// Stream is the stream the event belongs to, e.g. "feature-12".
	Stream string
	// Revision is the event's 0-based index in its stream.
	Revision uint64
	// Position is the event's place in the global log.
	Position Position
}

// Position is a point in the global log. Positions are ordered by Commit,
// then Prepare. The zero Position lies before every event.
//
// For PostgreSQL, Commit is the appending transaction's id and Prepare the
// event's sequence number; for EventStoreDB they are the server's commit and
// prepare positions. Neither is a dense counter: never subtract positions.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// String renders p as "commit/prepare".
func (p Position) String() string { return fmt.Sprintf("%d/%d", p.Commit, p.Prepare) }

// IsZero reports whether p is the start of the log.
func (p Position) IsZero() bool { return p.Commit == 0 && p.Prepare == 0 }

// Less reports whether p comes before q in the log.
func (p Position) Less(q Position) bool {
	if p.Commit != q.Commit {
		return p.Commit < q.Commit
	}
	return p.Prepare < q.Prepare
}

// AppendResult tells where the last event of an append landed.
type AppendResult struct {
	// NextRevision is the revision of the last event written, which is the
	// expected revision for the next append to the same stream.
	NextRevision uint64
	// Position is the global position of the last event written.
	Position Position
}

// Direction is the order in which ReadStream walks a stream.
type Direction int

const (
	// Forwards reads from older to newer events.
	Forwards Direction = iota
	// Backwards reads from newer to older events.
	Backwards
)

// End used as StreamQuery.From means the last event of the stream (for a
// backwards read) or past the last event (for a forwards one).
const End = ^uint64(0)

// StreamQuery says which part of a stream ReadStream returns. The zero value
// reads the whole stream forwards.
type StreamQuery struct {
	Direction Direction
	// From is the first revision returned (inclusive), or End.
	From uint64
	// Count limits the number of events; 0 means no limit.
	Count int
}
