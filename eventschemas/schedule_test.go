package eventschemas_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
)

// scheduleSamples holds a fully populated payload per schedule event type.
func scheduleSamples() []eventschemas.Payload {
	at := time.Date(2026, 3, 29, 1, 0, 2, 0, time.UTC)
	tick := eventschemas.TickTime{FeatureID: 12, Tick: "20260329T010000Z", Expression: "30 2 * * *",
		Zone: "Europe/Berlin", NominalLocal: "2026-03-29T02:30",
		NominalUTC: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), Shifted: true}
	return []eventschemas.Payload{
		&eventschemas.FeatureScheduled{FeatureID: 12, Expression: "30 2 * * *", Zone: "Europe/Berlin",
			OwnerID: 2, CatchUp: "run_once", At: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		&eventschemas.ScheduleCleared{FeatureID: 12, At: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)},
		&eventschemas.ScheduleTickFired{TickTime: tick, OwnerID: 2,
			CorrelationID: "tick-12-20260329T010000Z", CatchUp: true, At: at},
		&eventschemas.ScheduleTickMissed{TickTime: tick, DetectedAt: at},
		&eventschemas.ScheduleTickRunRequested{FeatureID: 12, Tick: "20260329T010000Z", RunID: 40,
			CorrelationID: "tick-12-20260329T010000Z", At: at},
		&eventschemas.ScheduleTickRunRefused{FeatureID: 12, Tick: "20260329T010000Z",
			CorrelationID: "tick-12-20260329T010000Z", Category: "forbidden",
			Reason: "account 2 may not run feature 12: Missing permission 'run_feature'.", At: at},
	}
}

// TestScheduleGolden checks the schedule events against their fixtures:
// each sample encodes to its fixture and the fixture decodes to the sample.
// Run with -update to rewrite the fixtures from the samples.
func TestScheduleGolden(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, sample := range scheduleSamples() {
		typ := sample.EventType()
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			_, version, data, err := reg.Encode(sample)
			if err != nil {
				t.Fatal(err)
			}
			path := fixturePath(typ, version)
			if *update {
				writeFixture(t, path, indent(t, data))
			}
			if diff := cmp.Diff(string(readFixture(t, path)), string(indent(t, data))); diff != "" {
				t.Errorf("sample encodes differently from %s (-fixture +encoded):\n%s", path, diff)
			}
			decoded, err := reg.Decode(typ, version, readFixture(t, path))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sample, decoded); diff != "" {
				t.Errorf("fixture decodes to another payload (-sample +decoded):\n%s", diff)
			}
		})
	}
}
