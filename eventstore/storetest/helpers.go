package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventstore"
)

// testContext bounds one contract test so that a hung store fails the test
// instead of the whole run.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// streamName returns a stream of the given kind that no other test uses.
func streamName(kind string) string {
	return kind + "-test" + strings.ReplaceAll(uuid.NewString(), "-", "")
}

func newEvent(typ string) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		Data:          []byte(`{"n":1}`),
		OccurredAt:    time.Now().UTC(),
		Actor:         "account-1",
		CorrelationID: uuid.NewString(),
	}
}

func headOf(t *testing.T, s eventstore.Store) eventstore.Position {
	t.Helper()
	head, _, err := s.Head(testContext(t))
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return head
}

// readAllStreams pages through the log after the position after and keeps
// the events of the named streams.
func readAllStreams(t *testing.T, s eventstore.Store, after eventstore.Position, streams ...string) []eventstore.Event {
	t.Helper()
	ctx := testContext(t)
	var out []eventstore.Event
	for {
		page, err := s.ReadAll(ctx, after, 7)
		if err != nil {
			t.Fatalf("read all after %v: %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		for _, ev := range page {
			if !after.Less(ev.Position) {
				t.Fatalf("ReadAll after %v returned an event at %v", after, ev.Position)
			}
			after = ev.Position
			if slices.Contains(streams, ev.Stream) {
				out = append(out, ev)
			}
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
