package projections_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// trendRun appends one run of feature 5 at version with one result that
// records the steps' execution times and pixel differences and finishes
// with status.
func trendRun(h *projectiontest.Harness, runID, resultID int64, version int, status string, steps ...[2]int64) {
	rs := "result-" + strconv.FormatInt(resultID, 10)
	h.Append(rs, &eventschemas.ResultAllocated{FeatureResultID: resultID, FeatureID: 5})
	h.Append("run-"+strconv.FormatInt(runID, 10), &eventschemas.RunRequested{RunID: runID, FeatureID: 5,
		FeatureVersion: version, DepartmentID: 2, RequestedAt: h.Clock,
		Results: []eventschemas.RunResult{{FeatureResultID: resultID, Browser: json.RawMessage(`{}`)}},
		Steps:   []eventschemas.RunStep{}, Variables: []eventschemas.RunVariable{}})
	start := h.Clock
	h.Append(rs, &eventschemas.ResultStarted{FeatureResultID: resultID, Runner: "r", Browser: json.RawMessage(`{}`),
		StartedAt: start})
	for i, st := range steps {
		s := eventschemas.StatusSuccess
		if status == eventschemas.StatusFailed && i == len(steps)-1 {
			s = eventschemas.StatusFailed
		}
		h.Append(rs, &eventschemas.StepRecorded{FeatureResultID: resultID, Sequence: i + 1, StepID: "a",
			StepName: "x", Status: s, Success: s == eventschemas.StatusSuccess, ExecutionTimeMS: st[0],
			PixelDiff: st[1], Screenshots: []string{}})
	}
	h.Append(rs, &eventschemas.ResultFinished{FeatureResultID: resultID, RunID: runID, Status: status,
		Success: status == eventschemas.StatusSuccess, FinishedAt: start.Add(1500 * time.Millisecond)})
}

// TestTrendAddedToAStoreWithRuns adds the trend read model to a store that
// already holds runs (projected so far by the runs model only): a rebuild
// fills it with the whole history, including the last success recorded
// for each failure, and it then follows new runs like any model.
func TestTrendAddedToAStoreWithRuns(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.NewRuns())
	ctx := context.Background()
	trendRun(h, 1, 11, 1, eventschemas.StatusSuccess, [2]int64{100, 0}, [2]int64{50, 7})
	trendRun(h, 2, 12, 2, eventschemas.StatusFailed, [2]int64{200, 1})
	trendRun(h, 3, 13, 2, eventschemas.StatusCanceled)
	trendRun(h, 4, 14, 3, eventschemas.StatusFailed, [2]int64{10, 0}, [2]int64{20, 3})
	h.Sync()

	// A process with the new model: never built, so a rebuild fills it.
	added, err := projections.New(h.Pool, h.Store, reg, slog.New(slog.DiscardHandler), projections.Options{},
		projections.NewTrend())
	if err != nil {
		t.Fatal(err)
	}
	res, err := added.Rebuild(ctx, nil, "trend")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Events == 0 {
		t.Errorf("rebuild read no events")
	}

	r := projections.NewTrendReader(h.Pool)
	type point struct {
		Result    int64
		Version   int
		Status    string
		Exec, Px  int64
		Steps     int
		Duration  int64
		LastOK    int64
		LastOKVer int
	}
	read := func(last int) []point {
		t.Helper()
		pts, err := r.Last(ctx, 5, last)
		if err != nil {
			t.Fatal(err)
		}
		var out []point
		for _, p := range pts {
			tr, ok, err := r.Result(ctx, p.FeatureResultID)
			if err != nil || !ok {
				t.Fatalf("result %d: %v %v", p.FeatureResultID, ok, err)
			}
			out = append(out, point{p.FeatureResultID, p.FeatureVersion, p.Status, p.ExecutionTime, p.PixelDiff,
				p.Steps, p.Duration, tr.LastSuccessResult, tr.LastSuccessVersion})
		}
		return out
	}
	want := []point{
		{11, 1, "Success", 150, 7, 2, 1500, 0, 0},
		{12, 2, "Failed", 200, 1, 1, 1500, 11, 1},
		{14, 3, "Failed", 30, 3, 2, 1500, 11, 1},
	}
	if diff := cmp.Diff(want, read(10)); diff != "" {
		t.Errorf("trend after the rebuild (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], read(2)); diff != "" {
		t.Errorf("last 2 (-want +got):\n%s", diff)
	}

	// From now on the new model follows the log.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- added.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	trendRun(h, 5, 15, 3, eventschemas.StatusSuccess, [2]int64{5, 0})
	last := h.Append("result-14", &eventschemas.ResultRemoved{FeatureResultID: 14})
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := added.WaitFor(waitCtx, last, "trend"); err != nil {
		t.Fatal(err)
	}
	want = []point{want[0], want[1], {15, 3, "Success", 5, 0, 1, 1500, 11, 1}}
	if diff := cmp.Diff(want, read(10)); diff != "" {
		t.Errorf("trend after new runs (-want +got):\n%s", diff)
	}

	before, err := added.Checksum(ctx, "trend")
	if err != nil {
		t.Fatal(err)
	}
	again, err := added.Rebuild(ctx, nil, "trend")
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Checksum != before {
		t.Errorf("rebuild checksum %s, incremental %s", again[0].Checksum, before)
	}
}
