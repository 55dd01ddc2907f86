package readapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// runner drives runs through the real run commands, as the runner worker
// does: request, claim, start, record steps, finish.
type runner struct {
	t    *testing.T
	srv  *apitest.Server
	runs *commands.Runs
}

func newRunner(t *testing.T, srv *apitest.Server) *runner {
	t.Helper()
	queue := projections.NewRunQueueReader(srv.Pool)
	// Run and result ids start from 1 and step over taken ones.
	ids := commands.NewIDs(srv.Log, func(context.Context, string) (int64, error) { return 0, nil })
	return &runner{t: t, srv: srv, runs: commands.NewRuns(srv.Log, ids, commands.RunsConfig{
		Library: projections.NewFeatureReader(srv.Pool), Variables: queue, Running: queue})}
}

func runnerMeta() commands.Meta {
	return commands.Meta{Actor: "service:runner", CorrelationID: uuid.NewString(), CommandID: uuid.New(),
		Now: time.Now()}
}

// request requests a run of feature as the account, which must be in dep.
func (r *runner) request(account, dep, feature int64) commands.RunRequestResult {
	r.t.Helper()
	actor, err := access.Account(account, "DEVOPS", []int64{dep})
	if err != nil {
		r.t.Fatal(err)
	}
	meta := runnerMeta()
	meta.Actor = "account-" + strconv.FormatInt(account, 10)
	res, err := r.runs.Request(context.Background(), meta, actor, commands.RunInput{FeatureID: feature})
	if err != nil {
		r.t.Fatalf("request a run of feature %d: %v", feature, err)
	}
	return res
}

// start claims and starts the run's first result.
func (r *runner) start(run commands.RunRequestResult) *commands.Held {
	r.t.Helper()
	ctx := context.Background()
	h, err := r.runs.Claim(ctx, runnerMeta(), run.ResultIDs[0], run.RunID, "runner-test",
		time.Now().Add(time.Hour), time.Now)
	if err != nil {
		r.t.Fatalf("claim: %v", err)
	}
	if err := h.Start(ctx, eventschemas.ResultStarted{Browser: json.RawMessage(`{"browser":"chrome"}`),
		BrowserVersion: "Chrome/150", StartedAt: time.Now()}); err != nil {
		r.t.Fatalf("start: %v", err)
	}
	return h
}

// step records step seq (1-based) with a screenshot.
func (r *runner) step(h *commands.Held, seq int, name, status string, ms int64) {
	r.t.Helper()
	shot := fmt.Sprintf("%064x", seq)
	err := h.Record(context.Background(), eventschemas.StepRecorded{Sequence: seq, Index: seq - 1,
		StepID: "step-" + strconv.Itoa(seq), StepName: name, Status: status,
		Success: status != eventschemas.StatusFailed, ExecutionTimeMS: ms, Screenshots: []string{shot},
		Current: shot, PixelDiff: int64(seq)},
		&eventschemas.ScreenshotTaken{Name: shot, Width: 640, Height: 480})
	if err != nil {
		r.t.Fatalf("record step %d: %v", seq, err)
	}
}

func (r *runner) finish(h *commands.Held, status string, notReached int) {
	r.t.Helper()
	if _, err := h.Finish(context.Background(), status, "", "log", notReached); err != nil {
		r.t.Fatalf("finish: %v", err)
	}
}

// settled waits until every read model has applied the log as it is now:
// the run commands, unlike the API's writes, do not wait for them.
func (r *runner) settled() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	head, _, err := r.srv.Store.Head(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.srv.Manager.WaitFor(ctx, head); err != nil {
		r.t.Fatal(err)
	}
}

// replay is the answer of GET /feature_results/<id>/events/.
type replay struct {
	RunID          int64 `json:"run_id"`
	FeatureVersion int   `json:"feature_version"`
	Status         string
	Results        []struct {
		Seq       int64  `json:"seq"`
		EventType string `json:"event_type"`
		Stream    string `json:"stream"`
	} `json:"results"`
	Steps []struct {
		Sequence      int    `json:"sequence"`
		StepName      string `json:"step_name"`
		Status        string `json:"status"`
		Success       bool   `json:"success"`
		ExecutionTime int64  `json:"execution_time"`
		Screenshots   []struct {
			Name  string `json:"name"`
			Role  string `json:"role"`
			Width int    `json:"width"`
		} `json:"screenshots"`
	} `json:"steps"`
	Changed *histDiff `json:"changed_since_last_success"`
}

// TestRunReplay runs a feature twice through the run commands, editing it
// in between, and replays each run from its events: the same step order,
// statuses and times as the step results, the screenshots, and for the
// failed run what changed since the last success. The trend follows.
func TestRunReplay(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	r := newRunner(t, f.Srv)
	f.Vars["{feat}"] = newFeature(t, f, "devops", "Replayed", f.DeptA, stepJSON(`Goto URL "https://example.com/"`),
		stepJSON("Press Enter"), stepJSON("Press TAB"))
	feat, _ := strconv.ParseInt(f.Vars["{feat}"], 10, 64)

	first := r.request(f.IDs["devops"], f.DeptA, feat)
	h := r.start(first)
	r.step(h, 1, `Goto URL "https://example.com/"`, eventschemas.StatusSuccess, 120)
	r.step(h, 2, "Press Enter", eventschemas.StatusSuccess, 30)
	r.step(h, 3, "Press TAB", eventschemas.StatusSuccess, 20)
	r.finish(h, eventschemas.StatusSuccess, 0)

	var steps struct {
		Results []map[string]any `json:"results"`
	}
	k.get("/backend/steps/{feat}/", "devops", 200, &steps)
	list := []any{}
	for i, s := range steps.Results {
		if i == 1 {
			s["step_content"] = `Send keys "abc"`
		}
		list = append(list, s)
	}
	k.do(http.MethodPatch, "/backend/api/features/", "manager", map[string]any{"feature_id": feat,
		"steps": map[string]any{"steps_content": list}}, 200, nil)

	second := r.request(f.IDs["devops"], f.DeptA, feat)
	h = r.start(second)
	r.step(h, 1, `Goto URL "https://example.com/"`, eventschemas.StatusSuccess, 110)
	r.step(h, 2, `Send keys "abc"`, eventschemas.StatusFailed, 5000)
	r.finish(h, eventschemas.StatusFailed, 1)
	r.settled()

	for _, tc := range []struct {
		run     commands.RunRequestResult
		version int
		status  string
		steps   int
	}{{first, 1, "Success", 3}, {second, 2, "Failed", 2}} {
		id := tc.run.ResultIDs[0]
		f.Vars["{res}"] = strconv.FormatInt(id, 10)
		var rp replay
		k.get("/backend/api/feature_results/{res}/events/", "analysis", 200, &rp)
		var types []string
		for _, e := range rp.Results {
			types = append(types, e.EventType)
		}
		wantTypes := []string{"RunRequested", "ResultAllocated", "ResultClaimed", "ResultStarted"}
		for range tc.steps {
			wantTypes = append(wantTypes, "StepRecorded", "ScreenshotTaken")
		}
		wantTypes = append(wantTypes, "ResultFinished")
		// ResultAllocated precedes RunRequested in the log.
		wantTypes[0], wantTypes[1] = wantTypes[1], wantTypes[0]
		if strings.Join(types, ",") != strings.Join(wantTypes, ",") {
			t.Errorf("result %d events %v, want %v", id, types, wantTypes)
		}
		if rp.RunID != tc.run.RunID || rp.FeatureVersion != tc.version || rp.Status != tc.status {
			t.Errorf("result %d: run %d version %d status %q", id, rp.RunID, rp.FeatureVersion, rp.Status)
		}

		var sr struct {
			Results []struct {
				Sequence      int    `json:"step_execution_sequence"`
				StepName      string `json:"step_name"`
				Status        string `json:"status"`
				Success       bool   `json:"success"`
				ExecutionTime int64  `json:"execution_time"`
			} `json:"results"`
		}
		k.get("/backend/api/feature_results/{res}/step_results/", "devops", 200, &sr)
		type stepRow struct {
			Seq           int
			Name, Status  string
			Success       bool
			ExecutionTime int64
		}
		var fromEvents, fromResults []stepRow
		for _, s := range rp.Steps {
			fromEvents = append(fromEvents, stepRow{s.Sequence, s.StepName, s.Status, s.Success, s.ExecutionTime})
			if len(s.Screenshots) != 1 || s.Screenshots[0].Role != "current" || s.Screenshots[0].Width != 640 {
				t.Errorf("result %d step %d screenshots %+v", id, s.Sequence, s.Screenshots)
			}
		}
		for _, s := range sr.Results {
			fromResults = append(fromResults, stepRow{s.Sequence, s.StepName, s.Status, s.Success, s.ExecutionTime})
		}
		if len(fromEvents) != tc.steps || !reflect.DeepEqual(fromEvents, fromResults) {
			t.Errorf("result %d: steps from events %+v, step results %+v", id, fromEvents, fromResults)
		}
	}

	// The failed run names the edit since the success.
	f.Vars["{res}"] = strconv.FormatInt(second.ResultIDs[0], 10)
	var ch struct {
		LastSuccess *struct {
			FeatureResultID int64 `json:"feature_result_id"`
			FeatureVersion  int   `json:"feature_version"`
		} `json:"last_success"`
		Changed *histDiff `json:"changed_since_last_success"`
	}
	k.get("/backend/api/feature_results/{res}/changes/", "devops", 200, &ch)
	if ch.LastSuccess == nil || ch.LastSuccess.FeatureResultID != first.ResultIDs[0] || ch.Changed == nil ||
		ch.Changed.From != 1 || ch.Changed.To != 2 || len(ch.Changed.Steps) != 1 || ch.Changed.Steps[0].Kind != "edited" {
		t.Errorf("changes of the failed result: %+v %+v", ch.LastSuccess, ch.Changed)
	}
	// The failed result itself carries the same diff.
	var one struct {
		Result struct {
			Status  string    `json:"status"`
			Changed *histDiff `json:"changed_since_last_success"`
		} `json:"result"`
	}
	k.get("/backend/api/feature_results/{res}/", "devops", 200, &one)
	if one.Result.Status != "Failed" || one.Result.Changed == nil || one.Result.Changed.From != 1 ||
		one.Result.Changed.To != 2 || len(one.Result.Changed.Steps) != 1 {
		t.Errorf("failed result JSON: %+v", one.Result)
	}
	f.Vars["{res}"] = strconv.FormatInt(first.ResultIDs[0], 10)
	one.Result.Changed = nil
	k.get("/backend/api/feature_results/{res}/", "devops", 200, &one)
	if one.Result.Changed != nil {
		t.Errorf("a successful result's JSON has changes %+v", one.Result.Changed)
	}
	k.get("/backend/api/feature_results/{res}/changes/", "devops", 200, &ch)
	if ch.Changed != nil {
		t.Errorf("a successful result has changes %+v", ch.Changed)
	}
	k.get("/backend/api/feature_results/{res}/events/", "devopsB", 404, nil)
	k.get("/backend/api/feature_results/{res}/changes/", "devopsB", 404, nil)
	k.get("/backend/api/feature_results/999999/events/", "devops", 404, nil)
	k.get("/backend/api/feature_results/x/events/", "devops", 400, nil)

	var trend struct {
		Runs     int      `json:"runs"`
		Passed   int      `json:"passed"`
		PassRate *float64 `json:"pass_rate"`
		Results  []struct {
			FeatureResultID int64 `json:"feature_result_id"`
			ExecutionTime   int64 `json:"execution_time"`
			PixelDiff       int64 `json:"pixel_diff"`
		} `json:"results"`
	}
	k.get("/backend/api/features/{feat}/trend/?last=5", "devops", 200, &trend)
	if trend.Runs != 2 || trend.Passed != 1 || trend.PassRate == nil || *trend.PassRate != 0.5 ||
		trend.Results[0].ExecutionTime != 170 || trend.Results[1].ExecutionTime != 5110 ||
		trend.Results[0].PixelDiff != 6 {
		t.Errorf("trend: %+v", trend)
	}
	k.get("/backend/api/features/{feat}/trend/?last=1", "devops", 200, &trend)
	if trend.Runs != 1 || trend.Results[0].FeatureResultID != second.ResultIDs[0] {
		t.Errorf("trend of the last 1: %+v", trend)
	}
	k.get("/backend/api/features/{feat}/trend/?last=0", "devops", 400, nil)
	k.get("/backend/api/features/{feat}/trend/", "devopsB", 404, nil)
	// Wrong types and unknown ids: a 4xx, never a 5xx, nothing appended.
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/backend/api/features/{feat}/trend/?last=x", 400},
		{"/backend/api/features/{feat}/trend/?last=-1", 400},
		{"/backend/api/features/{feat}/trend/?last=1.5", 400},
		{"/backend/api/features/abc/trend/", 400},
		{"/backend/api/features/987654/trend/", 404},
		{"/backend/api/feature_results/0/events/", 400},
	} {
		f.Srv.Unchanged(t, tc.path, func() { k.get(tc.path, "devops", tc.status, nil) })
	}
}
