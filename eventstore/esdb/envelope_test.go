package esdb

import (
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventstore"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	recorded := time.Date(2026, 12, 3, 9, 0, 1, 0, time.UTC)
	full := eventstore.EventData{
		ID: uuid.New(), Type: "FeatureSaved", SchemaVersion: 3, Data: []byte(`{"v":1}`),
		OccurredAt: at, Actor: "service:runner", CorrelationID: "req-1", CausationID: "cmd-2",
	}
	cases := []struct {
		name string
		meta func(t *testing.T) []byte
		want eventstore.EventData
	}{
		{
			name: "written by the adapter",
			meta: func(t *testing.T) []byte {
				d, err := toEventData(full)
				if err != nil {
					t.Fatalf("to event data: %v", err)
				}
				if d.EventID != full.ID || d.ContentType != esdb.ContentTypeJson {
					t.Errorf("event data %+v", d)
				}
				return d.Metadata
			},
			want: full,
		},
		{
			name: "server conventions",
			meta: func(*testing.T) []byte {
				return []byte(`{"$correlationId":"c","$causationId":"k","schemaVersion":2,"actor":"a"}`)
			},
			want: eventstore.EventData{SchemaVersion: 2, OccurredAt: recorded, Actor: "a",
				CorrelationID: "c", CausationID: "k"},
		},
		{
			name: "foreign metadata",
			meta: func(*testing.T) []byte { return []byte(`not json`) },
			want: eventstore.EventData{SchemaVersion: 1, OccurredAt: recorded},
		},
		{
			name: "no metadata",
			meta: func(*testing.T) []byte { return nil },
			want: eventstore.EventData{SchemaVersion: 1, OccurredAt: recorded},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := fromRecorded(&esdb.RecordedEvent{
				EventID: full.ID, EventType: full.Type, StreamID: "feature-1", EventNumber: 4,
				CreatedDate: recorded, Data: full.Data, UserMetadata: tc.meta(t),
				Position: esdb.Position{Commit: 10, Prepare: 12},
			})
			if got.SchemaVersion != tc.want.SchemaVersion || got.Actor != tc.want.Actor ||
				got.CorrelationID != tc.want.CorrelationID || got.CausationID != tc.want.CausationID ||
				!got.OccurredAt.Equal(tc.want.OccurredAt) {
				t.Errorf("envelope = v%d %q %q %q %v, want v%d %q %q %q %v",
					got.SchemaVersion, got.Actor, got.CorrelationID, got.CausationID, got.OccurredAt,
					tc.want.SchemaVersion, tc.want.Actor, tc.want.CorrelationID, tc.want.CausationID,
					tc.want.OccurredAt)
			}
			if got.ID != full.ID || got.Type != full.Type || got.Stream != "feature-1" || got.Revision != 4 ||
				got.Position != (eventstore.Position{Commit: 10, Prepare: 12}) || string(got.Data) != string(full.Data) {
				t.Errorf("event = %+v", got)
			}
		})
	}
}
