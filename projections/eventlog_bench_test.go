package projections_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// BenchmarkEventLogRebuild rebuilds the event log read model (a row per
// event with its departments) over 200 runs of 40 steps, about 9,000
// events, beside the runs read model rebuilt over the same log in the same
// run: the cost of keeping every event for audits and replays against the
// model that Cometa's result pages need anyway. Figures are medians of the
// iterations (run with -benchtime=5x for five).
func BenchmarkEventLogRebuild(b *testing.B) {
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		b.Fatal(err)
	}
	h := projectiontest.New(b, reg, projections.NewRuns())
	for run := int64(1); run <= 200; run++ {
		rs := "result-" + strconv.FormatInt(run, 10)
		h.Append(rs, &eventschemas.ResultAllocated{FeatureResultID: run, FeatureID: 5})
		h.Append("run-"+strconv.FormatInt(run, 10), &eventschemas.RunRequested{RunID: run, FeatureID: 5,
			FeatureVersion: 1, DepartmentID: 2, RequestedAt: h.Clock, Steps: []eventschemas.RunStep{},
			Results:   []eventschemas.RunResult{{FeatureResultID: run, Browser: json.RawMessage(`{}`)}},
			Variables: []eventschemas.RunVariable{}})
		steps := []eventschemas.Payload{
			&eventschemas.ResultClaimed{FeatureResultID: run, RunID: run, Runner: "r", ClaimedAt: h.Clock,
				LeaseUntil: h.Clock.Add(time.Minute)},
			&eventschemas.ResultStarted{FeatureResultID: run, Runner: "r", Browser: json.RawMessage(`{}`)},
		}
		for seq := 1; seq <= 40; seq++ {
			steps = append(steps, &eventschemas.StepRecorded{FeatureResultID: run, Sequence: seq, StepID: "s",
				StepName: "Press Enter", Status: eventschemas.StatusSuccess, Success: true, ExecutionTimeMS: 12,
				Screenshots: []string{}})
		}
		steps = append(steps, &eventschemas.ResultFinished{FeatureResultID: run, RunID: run,
			Status: eventschemas.StatusSuccess, Success: true, FinishedAt: h.Clock})
		h.Append(rs, steps...)
	}
	h.Sync()
	ctx := context.Background()
	m, err := projections.New(h.Pool, h.Store, reg, slog.New(slog.DiscardHandler), projections.Options{},
		projections.NewEventLog(), projections.NewRuns())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Rebuild(ctx, nil, "event_log"); err != nil { // warm up
		b.Fatal(err)
	}

	rate := func(name string) float64 {
		b.Helper()
		start := time.Now()
		res, err := m.Rebuild(ctx, nil, name)
		if err != nil {
			b.Fatal(err)
		}
		return benchreport.Rate(int(res[0].Events), time.Since(start))
	}
	var ours, base []float64
	for b.Loop() {
		ours = append(ours, rate("event_log"))
		base = append(base, rate("runs"))
	}
	benchreport.Record(b, medianOf(ours), medianOf(base), "events/s")
}

func medianOf(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
