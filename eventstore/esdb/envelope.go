package esdb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cometa-es/cometa/eventstore"
)

// envelope is the part of an event's envelope that EventStoreDB does not
// hold itself, kept as JSON user metadata. The correlation and causation
// keys are the server's conventional ones ($by_correlation_id reads them).
type envelope struct {
	SchemaVersion int       `json:"schemaVersion"`
	Actor         string    `json:"actor,omitempty"`
	OccurredAt    time.Time `json:"occurredAt,omitzero"`
	CorrelationID string    `json:"$correlationId,omitempty"`
	CausationID   string    `json:"$causationId,omitempty"`
}

// toEventData turns a validated event into the client's form. The event id
// is the client's EventID, which makes retries idempotent.
func toEventData(ev eventstore.EventData) (esdb.EventData, error) {
	meta, err := json.Marshal(envelope{
		SchemaVersion: ev.SchemaVersion,
		Actor:         ev.Actor,
		OccurredAt:    ev.OccurredAt.UTC(),
		CorrelationID: ev.CorrelationID,
		CausationID:   ev.CausationID,
	})
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("event %s metadata: %w", ev.ID, err)
	}
	return esdb.EventData{
		EventID:     ev.ID,
		EventType:   ev.Type,
		ContentType: esdb.ContentTypeJson,
		Data:        ev.Data,
		Metadata:    meta,
	}, nil
}

// fromRecorded turns a recorded event into the port's form. Events that
// other producers wrote may carry any user metadata: whatever of the
// envelope cannot be read stays empty, the schema version defaults to 1 and
// the occurrence time to the server's recording time.
func fromRecorded(r *esdb.RecordedEvent) eventstore.Event {
	var env envelope
	if len(r.UserMetadata) > 0 && json.Unmarshal(r.UserMetadata, &env) != nil {
		env = envelope{}
	}
	if env.SchemaVersion < 1 {
		env.SchemaVersion = 1
	}
	if env.OccurredAt.IsZero() {
		env.OccurredAt = r.CreatedDate
	}
	return eventstore.Event{
		EventData: eventstore.EventData{
			ID:            r.EventID,
			Type:          r.EventType,
			SchemaVersion: env.SchemaVersion,
			Data:          r.Data,
			OccurredAt:    env.OccurredAt,
			Actor:         env.Actor,
			CorrelationID: env.CorrelationID,
			CausationID:   env.CausationID,
		},
		Stream:   r.StreamID,
		Revision: r.EventNumber,
		Position: eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare},
	}
}

// isSystem reports whether an event belongs to the server itself: its type
// or its stream starts with $. The port never returns those from the
// global log.
func isSystem(r *esdb.RecordedEvent) bool {
	return strings.HasPrefix(r.EventType, "$") || strings.HasPrefix(r.StreamID, "$")
}

// allPosition is the client's form of a position to read or subscribe
// from; the zero Position is the start of the log.
func allPosition(p eventstore.Position) esdb.AllPosition {
	if p.IsZero() {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.Commit, Prepare: p.Prepare}
}

func expectedRevision(e eventstore.ExpectedRevision) esdb.ExpectedRevision {
	if r, ok := e.Revision(); ok {
		return esdb.Revision(r)
	}
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	default:
		return esdb.Any{}
	}
}
