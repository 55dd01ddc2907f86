package run_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cometa-es/cometa/domain"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

var (
	t0     = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	chrome = json.RawMessage(`{"browser":"chrome","browser_version":"latest","os":"Generic","cloud":"local"}`)
)

func requested() eventschemas.RunRequested {
	return eventschemas.RunRequested{RunID: 40, FeatureID: 12, FeatureVersion: 3, FeatureName: "Smoke",
		Steps: []eventschemas.RunStep{{StepID: "s-1", BelongsTo: 12, Position: 1, Keyword: "Given",
			Content: `Goto URL "http://127.0.0.1/"`, Type: "normal", Timeout: 60}},
		Results:    []eventschemas.RunResult{{FeatureResultID: 81, Browser: chrome}},
		Variables:  []eventschemas.RunVariable{},
		Parameters: map[string]string{}, RequestedBy: 2, RequestedAt: t0}
}

func TestDecideRun(t *testing.T) {
	t.Parallel()
	with := func(change func(*eventschemas.RunRequested)) run.Request {
		r := requested()
		change(&r)
		return run.Request{Run: r}
	}
	ok := requested()
	given := []ev{&ok}
	archived := []ev{&ok, &eventschemas.RunArchived{RunID: 40, Archived: true}}
	removed := []ev{&ok, &eventschemas.RunRemoved{RunID: 40}}
	dt.Run(t, run.State{}, []dt.Case[run.Command]{
		{Name: "request", When: run.Request{Run: requested()}, Then: []ev{&ok}},
		{Name: "nil maps become empty", When: with(func(r *eventschemas.RunRequested) {
			r.Parameters, r.Variables = nil, nil
		}), Then: []ev{&ok}},
		{Name: "no steps", When: with(func(r *eventschemas.RunRequested) { r.Steps = nil }),
			Err: domain.ErrInvalid, Fields: []string{"steps"}, Message: "No steps found"},
		{Name: "no browsers", When: with(func(r *eventschemas.RunRequested) { r.Results = nil }),
			Err: domain.ErrInvalid, Fields: []string{"browsers"}, Message: "No browsers selected."},
		{Name: "result listed twice", When: with(func(r *eventschemas.RunRequested) {
			r.Results = append(r.Results, r.Results[0])
		}), Err: domain.ErrInvalid, Fields: []string{"feature_result_id"}},
		{Name: "browser not an object", When: with(func(r *eventschemas.RunRequested) {
			r.Results[0].Browser = json.RawMessage(`"chrome"`)
		}), Err: domain.ErrInvalid, Fields: []string{"browser"}, Message: "invalid browser object"},
		{Name: "every bad field at once", When: with(func(r *eventschemas.RunRequested) {
			r.RunID, r.FeatureID, r.FeatureVersion = 0, 0, 0
			r.Steps[0].Content = ""
		}), Err: domain.ErrInvalid, Fields: []string{"run_id", "feature_id", "feature_version", "1:step_content"}},
		{Name: "requested twice", Given: given, When: run.Request{Run: requested()}, Err: domain.ErrConflict},
		{Name: "archive", Given: given, When: run.Archive{RunID: 40, Archived: true},
			Then: []ev{&eventschemas.RunArchived{RunID: 40, Archived: true}}},
		{Name: "archive again changes nothing", Given: archived, When: run.Archive{RunID: 40, Archived: true}},
		{Name: "archive unknown run", When: run.Archive{RunID: 40, Archived: true}, Err: domain.ErrNotFound},
		{Name: "remove", Given: given, When: run.Remove{RunID: 40},
			Then: []ev{&eventschemas.RunRemoved{RunID: 40}}},
		{Name: "remove saved run", Given: archived, When: run.Remove{RunID: 40}, Err: domain.ErrConflict,
			Message: "SAVED"},
		{Name: "remove twice", Given: removed, When: run.Remove{RunID: 40}, Err: domain.ErrNotFound},
		{Name: "command on another run's stream", Given: given, When: run.Remove{RunID: 41},
			Err: domain.ErrConflict},
	})
}

func TestRunState(t *testing.T) {
	t.Parallel()
	r := requested()
	s := run.Fold([]ev{&r})
	if !s.Exists || s.ID() != 40 || !s.HasResult(81) || s.HasResult(82) {
		t.Errorf("state after RunRequested: %+v", s)
	}
}

func TestStreams(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		run.Stream(40): "run-40", run.ResultStream(81): "result-81", run.BaselineStream(12): "baseline-12",
		run.BaselineKey("s-1", 2, "chrome-latest-Generic"): "s-1#2@chrome-latest-Generic",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestDecideBaselines(t *testing.T) {
	t.Parallel()
	base := eventschemas.BaselineRecorded{FeatureID: 12, StepID: "s-1", Occurrence: 1,
		BrowserKey: "chrome", Name: "a.png", Width: 10, Height: 5, FeatureResultID: 81, Sequence: 1}
	recorded := base
	recorded.Key = "s-1#1@chrome"
	other := base
	other.Occurrence = 2
	otherRecorded := other
	otherRecorded.Key = "s-1#2@chrome"
	dt.Run(t, run.Baselines{}, []dt.Case[run.BaselineCommand]{
		{Name: "first", When: run.RecordBaseline{Baseline: base}, Then: []ev{&recorded}},
		{Name: "key taken", Given: []ev{&recorded}, When: run.RecordBaseline{Baseline: base}},
		{Name: "another occurrence", Given: []ev{&recorded}, When: run.RecordBaseline{Baseline: other},
			Then: []ev{&otherRecorded}},
		{Name: "no size", When: run.RecordBaseline{Baseline: eventschemas.BaselineRecorded{FeatureID: 12,
			StepID: "s-1", Occurrence: 1, Name: "a.png"}}, Err: domain.ErrInvalid},
		{Name: "another feature's stream", Given: []ev{&recorded}, When: run.RecordBaseline{
			Baseline: eventschemas.BaselineRecorded{FeatureID: 13, StepID: "s-1", Occurrence: 1, Name: "a.png",
				Width: 1, Height: 1}}, Err: domain.ErrConflict},
	})
}
