package projections_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

func runsHarness(t *testing.T) *projectiontest.Harness {
	t.Helper()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	return projectiontest.New(t, reg, projections.NewRuns())
}

var runsT0 = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)

// requestRun appends a run of feature with one result per id.
func requestRun(h *projectiontest.Harness, runID, featureID int64, at time.Time, resultIDs ...int64) {
	results := make([]eventschemas.RunResult, 0, len(resultIDs))
	for _, id := range resultIDs {
		h.Append("result-"+itoa(id), &eventschemas.ResultAllocated{FeatureResultID: id, FeatureID: featureID})
		results = append(results, eventschemas.RunResult{FeatureResultID: id,
			Browser: json.RawMessage(`{"browser":"chrome","os":"Generic"}`)})
	}
	h.Append("run-"+itoa(runID), &eventschemas.RunRequested{RunID: runID, FeatureID: featureID,
		FeatureVersion: 1, FeatureName: "Checkout", AppID: 1, AppName: "Shop", EnvironmentID: 2,
		EnvironmentName: "staging", DepartmentID: 3, DepartmentName: "QA",
		Steps: []eventschemas.RunStep{
			{StepID: "a", Position: 1, Keyword: "Given", Content: `StartBrowser and call URL "x"`, Type: "normal"},
			{StepID: "b", Position: 2, Keyword: "Then", Content: `I can see "y"`, Type: "normal"},
			{StepID: "c", Position: 3, Keyword: "Then", Content: `I click on "z"`, Type: "normal"},
		},
		Results: results, Variables: []eventschemas.RunVariable{}, Parameters: map[string]string{},
		RequestedBy: 1, RequestedAt: at})
}

func claim(h *projectiontest.Harness, runID, resultID int64) {
	h.Append("result-"+itoa(resultID),
		&eventschemas.ResultClaimed{FeatureResultID: resultID, RunID: runID, Runner: "runner-a",
			ClaimedAt: runsT0, LeaseUntil: runsT0.Add(time.Minute)},
		&eventschemas.ResultStarted{FeatureResultID: resultID, Runner: "runner-a",
			Browser: json.RawMessage(`{}`), BrowserVersion: "Chrome/150", PID: 4242, StartedAt: runsT0})
}

func recordStep(h *projectiontest.Harness, resultID int64, seq int, status string, ms, pixels int64,
	extra ...eventschemas.Payload) {
	e := &eventschemas.StepRecorded{FeatureResultID: resultID, Sequence: seq, Index: seq - 1,
		StepID: string(rune('a' + seq - 1)), StepName: "step " + itoa(int64(seq)), Status: status,
		Success: status != eventschemas.StatusFailed, ExecutionTimeMS: ms, PixelDiff: pixels,
		Screenshots: []string{}}
	if status == eventschemas.StatusFailed {
		e.Error = "boom at " + itoa(int64(seq))
	}
	h.Append("result-"+itoa(resultID), append([]eventschemas.Payload{e}, extra...)...)
}

func finish(h *projectiontest.Harness, runID, resultID int64, status string, notReached int) {
	h.Append("result-"+itoa(resultID), &eventschemas.ResultFinished{FeatureResultID: resultID, RunID: runID,
		Status: status, Success: status == eventschemas.StatusSuccess, Log: "log of " + itoa(resultID),
		NotReached: notReached, FinishedAt: runsT0.Add(time.Minute)})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

type resultRow struct {
	Recorded, OK, Fails, NotReached int
	ExecutionTime, PixelDiff        int64
	Status                          string
	Success, Running                bool
}

func readResult(t *testing.T, pool *pgxpool.Pool, id int64) resultRow {
	t.Helper()
	var r resultRow
	err := pool.QueryRow(context.Background(), `SELECT recorded, ok, fails, not_reached, execution_time,
			pixel_diff, status, success, running FROM rm_runs.results WHERE feature_result_id = $1`, id).
		Scan(&r.Recorded, &r.OK, &r.Fails, &r.NotReached, &r.ExecutionTime, &r.PixelDiff, &r.Status,
			&r.Success, &r.Running)
	if err != nil {
		t.Fatalf("result %d: %v", id, err)
	}
	return r
}

type stepRow struct {
	Sequence       int
	Name, Status   string
	ExecutionTime  int64
	RelativeTime   int64
	PixelDiff      int64
	FeatureResult  int64
	StepResultID   int64
	ScreenshotsCSV string
}

func readSteps(t *testing.T, pool *pgxpool.Pool, resultID int64) []stepRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT s.sequence, s.step_name, s.status, s.execution_time,
			s.relative_execution_time, s.pixel_diff, s.feature_result_id, s.step_result_id,
			coalesce((SELECT string_agg(x.role || ':' || x.name, ',' ORDER BY x.position)
				FROM rm_runs.screenshots x WHERE x.step_result_id = s.step_result_id), '')
		FROM rm_runs.step_results s WHERE s.feature_result_id = $1 ORDER BY s.sequence`, resultID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stepRow, error) {
		var s stepRow
		err := r.Scan(&s.Sequence, &s.Name, &s.Status, &s.ExecutionTime, &s.RelativeTime, &s.PixelDiff,
			&s.FeatureResult, &s.StepResultID, &s.ScreenshotsCSV)
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunsTotalsFromStepEvents(t *testing.T) {
	t.Parallel()
	h := runsHarness(t)
	h.Append("feature-9", &eventschemas.FeatureSaved{FeatureID: 9, Version: 1,
		Definition: eventschemas.FeatureDefinition{FeatureName: "Checkout", DepartmentID: 3}})
	requestRun(h, 40, 9, runsT0, 100, 101)
	claim(h, 40, 100)
	claim(h, 40, 101)

	// The steps of two results interleave in the log.
	recordStep(h, 100, 1, eventschemas.StatusSuccess, 1200, 0)
	recordStep(h, 101, 1, eventschemas.StatusSuccess, 900, 0)
	recordStep(h, 101, 2, eventschemas.StatusSkipped, 0, 0)
	recordStep(h, 100, 2, eventschemas.StatusSuccess, 300, 17,
		&eventschemas.ScreenshotTaken{FeatureResultID: 100, Sequence: 2, Name: "cur.png", Width: 10, Height: 5},
		&eventschemas.ScreenshotCompared{FeatureResultID: 100, Sequence: 2, Baseline: "base.png",
			Current: "cur.png", Diff: "diff.png", PixelDiff: 17, BaselineWidth: 10, BaselineHeight: 5,
			CurrentWidth: 10, CurrentHeight: 5})
	recordStep(h, 101, 3, eventschemas.StatusSuccess, 50, 4)
	recordStep(h, 100, 3, eventschemas.StatusFailed, 2000, 0)
	h.Sync()

	if got := readResult(t, h.Pool, 100); got.Running != true || got.Status != "" {
		t.Errorf("result 100 before finishing: %+v", got)
	}
	finish(h, 40, 100, eventschemas.StatusFailed, 2)
	finish(h, 40, 101, eventschemas.StatusSuccess, 0)
	h.Sync()

	want100 := resultRow{Recorded: 3, OK: 2, Fails: 1, NotReached: 2, ExecutionTime: 3500, PixelDiff: 17,
		Status: "Failed"}
	if diff := cmp.Diff(want100, readResult(t, h.Pool, 100)); diff != "" {
		t.Errorf("result 100 (-want +got):\n%s", diff)
	}
	want101 := resultRow{Recorded: 3, OK: 3, ExecutionTime: 950, PixelDiff: 4, Status: "Success", Success: true}
	if diff := cmp.Diff(want101, readResult(t, h.Pool, 101)); diff != "" {
		t.Errorf("result 101 (-want +got):\n%s", diff)
	}

	steps := readSteps(t, h.Pool, 100)
	wantRel := []int64{1200, 1500, 3500}
	for i, s := range steps {
		if s.Sequence != i+1 || s.RelativeTime != wantRel[i] {
			t.Errorf("result 100 step %d: sequence %d relative %d, want %d and %d",
				i, s.Sequence, s.RelativeTime, i+1, wantRel[i])
		}
	}
	if len(steps) != 3 {
		t.Fatalf("result 100 has %d steps, want 3", len(steps))
	}
	if want := "current:cur.png,template:base.png,difference:diff.png"; steps[1].ScreenshotsCSV != want {
		t.Errorf("step 2 images %q, want %q", steps[1].ScreenshotsCSV, want)
	}
	// Step result ids are handed out in log order across results.
	ids := []int64{steps[0].StepResultID, steps[1].StepResultID, steps[2].StepResultID}
	if diff := cmp.Diff([]int64{1, 4, 6}, ids); diff != "" {
		t.Errorf("step result ids of result 100 (-want +got):\n%s", diff)
	}
	if rel := readSteps(t, h.Pool, 101); len(rel) != 3 || rel[2].RelativeTime != 950 {
		t.Errorf("result 101 steps %+v", rel)
	}

	var run struct {
		Total, OK, Fails, Skipped int
		ExecutionTime, PixelDiff  int64
		Status                    string
		Success                   bool
	}
	if err := h.Pool.QueryRow(context.Background(), `SELECT total, ok, fails, skipped, execution_time,
			pixel_diff, status, success FROM rm_runs.runs WHERE run_id = 40`).Scan(&run.Total, &run.OK,
		&run.Fails, &run.Skipped, &run.ExecutionTime, &run.PixelDiff, &run.Status, &run.Success); err != nil {
		t.Fatal(err)
	}
	if run.Total != 8 || run.OK != 5 || run.Fails != 1 || run.Skipped != 2 || run.ExecutionTime != 4450 ||
		run.PixelDiff != 21 || run.Status != "Failed" || run.Success {
		t.Errorf("run 40 totals %+v", run)
	}
	h.CheckRebuild()
}

func TestRunsLastRunArchiveRemove(t *testing.T) {
	t.Parallel()
	h := runsHarness(t)
	ctx := context.Background()
	lastRun := func() (int64, string) {
		t.Helper()
		var id int64
		var status string
		err := h.Pool.QueryRow(ctx, `SELECT run_id, status FROM rm_runs.feature_last_run WHERE feature_id = 9`).
			Scan(&id, &status)
		if err == pgx.ErrNoRows {
			return 0, ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return id, status
	}

	requestRun(h, 1, 9, runsT0, 10)
	claim(h, 1, 10)
	recordStep(h, 10, 1, eventschemas.StatusSuccess, 10, 0)
	finish(h, 1, 10, eventschemas.StatusSuccess, 0)
	requestRun(h, 2, 9, runsT0.Add(time.Hour), 20, 21)
	h.Sync()
	if id, status := lastRun(); id != 2 || status != "" {
		t.Errorf("last run %d %q, want run 2 running", id, status)
	}

	// Killed before a runner claimed it.
	h.Append("result-20", &eventschemas.RunKilled{FeatureResultID: 20, RunID: 2, FeatureID: 9, Reason: "aborted"},
		&eventschemas.ResultFinished{FeatureResultID: 20, RunID: 2, Status: eventschemas.StatusCanceled,
			Reason: "aborted before it started"})
	h.Append("result-21", &eventschemas.RunKilled{FeatureResultID: 21, RunID: 2, FeatureID: 9, Reason: "aborted"},
		&eventschemas.ResultFinished{FeatureResultID: 21, RunID: 2, Status: eventschemas.StatusCanceled})
	h.Sync()
	if id, status := lastRun(); id != 2 || status != "Canceled" {
		t.Errorf("last run %d %q, want run 2 Canceled", id, status)
	}

	// Removing both results of run 2 hides it: run 1 is the last again.
	h.Append("result-20", &eventschemas.ResultRemoved{FeatureResultID: 20})
	h.Sync()
	if id, _ := lastRun(); id != 2 {
		t.Errorf("after removing one of two results the last run is %d, want 2", id)
	}
	h.Append("result-21", &eventschemas.ResultRemoved{FeatureResultID: 21})
	h.Sync()
	if id, status := lastRun(); id != 1 || status != "Success" {
		t.Errorf("last run %d %q, want run 1 Success", id, status)
	}

	h.Append("result-10", &eventschemas.ResultArchived{FeatureResultID: 10, Archived: true})
	h.Append("run-1", &eventschemas.RunArchived{RunID: 1, Archived: true},
		&eventschemas.RunArchived{RunID: 1, Archived: false}, &eventschemas.RunRemoved{RunID: 1})
	h.Sync()
	if id, _ := lastRun(); id != 0 {
		t.Errorf("last run %d after removing every run, want none", id)
	}
	var archived, removed bool
	if err := h.Pool.QueryRow(ctx, `SELECT archived, removed FROM rm_runs.results WHERE feature_result_id = 10`).
		Scan(&archived, &removed); err != nil || !archived || removed {
		t.Errorf("archived result of a removed run: archived %v removed %v (%v)", archived, removed, err)
	}
	h.CheckRebuild()
}

func TestRunsBaselinesAndFeatureCopies(t *testing.T) {
	t.Parallel()
	h := runsHarness(t)
	ctx := context.Background()
	h.Append("feature-9", &eventschemas.FeatureSaved{FeatureID: 9, Version: 1,
		Definition: eventschemas.FeatureDefinition{FeatureName: "Checkout", DepartmentID: 3}})
	h.Append("feature-9", &eventschemas.FeatureSaved{FeatureID: 9, Version: 2,
		Definition: eventschemas.FeatureDefinition{FeatureName: "Checkout v2", DepartmentID: 4}})
	h.Append("baseline-9", &eventschemas.BaselineRecorded{FeatureID: 9, Key: "a#1@chrome", Name: "b1.png",
		StepID: "a", Occurrence: 1, BrowserKey: "chrome", Width: 3, Height: 2, FeatureResultID: 5, Sequence: 1})
	h.Append("baseline-9", &eventschemas.BaselineRecorded{FeatureID: 9, Key: "a#1@chrome", Name: "other.png",
		StepID: "a", Occurrence: 1, BrowserKey: "chrome", Width: 3, Height: 2, FeatureResultID: 6, Sequence: 1})
	h.Sync()

	var name string
	var dept int64
	if err := h.Pool.QueryRow(ctx, `SELECT feature_name, department_id FROM rm_runs.features WHERE feature_id = 9`).
		Scan(&name, &dept); err != nil || name != "Checkout v2" || dept != 4 {
		t.Errorf("feature copy %q %d (%v)", name, dept, err)
	}
	if err := h.Pool.QueryRow(ctx, `SELECT name FROM rm_runs.baselines WHERE feature_id = 9 AND key = 'a#1@chrome'`).
		Scan(&name); err != nil || name != "b1.png" {
		t.Errorf("baseline %q (%v), want the first recorded", name, err)
	}
	h.Append("feature-9", &eventschemas.FeatureDeleted{FeatureID: 9})
	h.CheckRebuild()
}

func TestRunsCorrections(t *testing.T) {
	t.Parallel()
	h := runsHarness(t)
	ctx := context.Background()
	requestRun(h, 1, 9, runsT0, 10)
	claim(h, 1, 10)
	recordStep(h, 10, 1, eventschemas.StatusSuccess, 100, 0)
	h.Append("result-10", &eventschemas.StepRecorded{FeatureResultID: 10, Sequence: 2, Index: 1, StepID: "b",
		StepName: "step 2", Status: eventschemas.StatusFailed, ExecutionTimeMS: 50, Error: "no",
		Screenshots: []string{"cur.png"}, Current: "cur.png"})
	finish(h, 1, 10, eventschemas.StatusFailed, 1)

	// The user overrides the failed step: the result counts it as ok and
	// becomes successful, its status stays what the runner recorded.
	h.Append("result-10", &eventschemas.StepStatusChanged{FeatureResultID: 10, Sequence: 2,
		Status: eventschemas.StatusSuccess, Success: true, ChangedBy: 1})
	h.Sync()
	got := readResult(t, h.Pool, 10)
	if got.OK != 2 || got.Fails != 0 || !got.Success || got.Status != "Failed" {
		t.Errorf("after the step override: %+v", got)
	}

	h.Append("result-10", &eventschemas.ResultStatusChanged{FeatureResultID: 10,
		Status: eventschemas.StatusSuccess, Success: true})
	h.Append("result-10", &eventschemas.ScreenshotRemoved{FeatureResultID: 10, Sequence: 2, Name: "cur.png"})
	h.Sync()
	var status, current string
	var removed bool
	if err := h.Pool.QueryRow(ctx, `SELECT r.status, s.screenshot_current, x.removed
		FROM rm_runs.results r JOIN rm_runs.step_results s USING (feature_result_id)
		JOIN rm_runs.screenshots x ON x.step_result_id = s.step_result_id
		WHERE r.feature_result_id = 10 AND s.sequence = 2`).Scan(&status, &current, &removed); err != nil {
		t.Fatal(err)
	}
	if status != "Success" || current != "" || !removed {
		t.Errorf("status %q, screenshot_current %q, image removed %v", status, current, removed)
	}
	var runStatus string
	if err := h.Pool.QueryRow(ctx, `SELECT status FROM rm_runs.runs WHERE run_id = 1`).Scan(&runStatus); err != nil ||
		runStatus != "Success" {
		t.Errorf("run status %q (%v), want Success", runStatus, err)
	}
	h.CheckRebuild()
}

// A result's browser object was requested with "latest"; once its browser
// has started it shows the version that ran, and the rest of the object
// stays as requested.
func TestRunsBrowserShowsTheVersionThatRan(t *testing.T) {
	t.Parallel()
	h := runsHarness(t)
	requested := json.RawMessage(`{"os":"Generic","browser":"chrome","browser_version":"latest","device":null}`)
	for _, id := range []int64{200, 201, 202} {
		h.Append("result-"+itoa(id), &eventschemas.ResultAllocated{FeatureResultID: id, FeatureID: 9})
	}
	h.Append("run-50", &eventschemas.RunRequested{RunID: 50, FeatureID: 9, FeatureVersion: 1, FeatureName: "F",
		DepartmentID: 3, Steps: []eventschemas.RunStep{}, Variables: []eventschemas.RunVariable{},
		Parameters: map[string]string{}, RequestedBy: 1, RequestedAt: runsT0,
		Results: []eventschemas.RunResult{{FeatureResultID: 200, Browser: requested},
			{FeatureResultID: 201, Browser: requested}, {FeatureResultID: 202, Browser: requested}}})
	for id, product := range map[int64]string{200: "HeadlessChrome/146.0.7680.80", 201: "", 202: "Chromium"} {
		h.Append("result-"+itoa(id),
			&eventschemas.ResultClaimed{FeatureResultID: id, RunID: 50, Runner: "runner-a", ClaimedAt: runsT0,
				LeaseUntil: runsT0.Add(time.Minute)},
			&eventschemas.ResultStarted{FeatureResultID: id, Runner: "runner-a", Browser: requested,
				BrowserVersion: product, PID: 4242, StartedAt: runsT0})
	}
	h.Sync()

	for id, want := range map[int64]string{200: "146.0.7680.80", 201: "latest", 202: "Chromium"} {
		var browser map[string]any
		var raw []byte
		if err := h.Pool.QueryRow(context.Background(),
			`SELECT browser FROM rm_runs.results WHERE feature_result_id = $1`, id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &browser); err != nil {
			t.Fatal(err)
		}
		if browser["browser_version"] != want || browser["browser"] != "chrome" || browser["os"] != "Generic" ||
			len(browser) != 4 {
			t.Errorf("result %d: browser %s, want browser_version %q and the rest as requested", id, raw, want)
		}
	}
}
