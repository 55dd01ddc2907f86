package readapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
	"github.com/cometa-es/cometa/runner/screenshots"
	"github.com/cometa-es/cometa/runner/worker"
)

// TestChromiumRunReplay runs a feature in the real Chromium through POST
// /backend/exectest/ and a runner worker, then replays it through
// /events/: the same steps in the same order with the same statuses and
// times as the step results, with the screenshot the step took, and what
// GET /api/live/ sends for the result is the same events.
func TestChromiumRunReplay(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><title>Replay</title></head><body><h1>Hello replay</h1></body></html>`)
	}))
	t.Cleanup(page.Close)

	shots, err := screenshots.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	queue := projections.NewRunQueueReader(f.Srv.Pool)
	ids := commands.NewIDs(f.Srv.Log, func(context.Context, string) (int64, error) { return 0, nil })
	wk := worker.New(worker.Deps{Log: f.Srv.Log, Queue: queue, Screenshots: shots,
		Runs: commands.NewRuns(f.Srv.Log, ids, commands.RunsConfig{Library: projections.NewFeatureReader(f.Srv.Pool),
			Variables: queue, Running: queue}),
		Config: worker.Config{Identity: "replay-" + uuid.NewString(), BrowserBin: apitest.Chromium,
			TempDir: t.TempDir(), Passphrase: apitest.Passphrase, Logger: slog.New(slog.NewTextHandler(f.Srv.Logs, nil))}})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- wk.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("worker: %v", err)
		}
	})

	shot := stepJSON(`I can see "Hello replay"`)
	shot["screenshot"] = true
	fails := stepJSON(`I can see "Goodbye"`)
	fails["timeout"] = 2 // it waits that long for the text, then fails
	f.Vars["{feat}"] = newFeature(t, f, "devops", "Chromium replay", f.DeptA,
		stepJSON(`Goto URL "`+page.URL+`/"`), shot, fails)
	feat, _ := strconv.ParseInt(f.Vars["{feat}"], 10, 64)
	var run struct {
		ResultIDs []int64 `json:"feature_result_ids"`
	}
	k.do(http.MethodPost, "/backend/exectest/", "devops", map[string]any{"feature_id": feat, "wait": true}, 200, &run)
	f.Vars["{res}"] = strconv.FormatInt(run.ResultIDs[0], 10)

	var rp replay
	k.get("/backend/api/feature_results/{res}/events/", "devops", 200, &rp)
	var sr struct {
		Results []struct {
			Sequence          int    `json:"step_execution_sequence"`
			StepName          string `json:"step_name"`
			Status            string `json:"status"`
			Success           bool   `json:"success"`
			ExecutionTime     int64  `json:"execution_time"`
			ScreenshotCurrent string `json:"screenshot_current"`
		} `json:"results"`
	}
	k.get("/backend/api/feature_results/{res}/step_results/", "devops", 200, &sr)
	type row struct {
		Seq          int
		Name, Status string
		Success      bool
		Time         int64
		Shot         string
	}
	var fromEvents, fromResults []row
	for _, s := range rp.Steps {
		shot := ""
		for _, sh := range s.Screenshots {
			if sh.Role == "current" {
				shot = sh.Name
			}
		}
		fromEvents = append(fromEvents, row{s.Sequence, s.StepName, s.Status, s.Success, s.ExecutionTime, shot})
	}
	for _, s := range sr.Results {
		fromResults = append(fromResults, row{s.Sequence, s.StepName, s.Status, s.Success, s.ExecutionTime,
			s.ScreenshotCurrent})
	}
	if len(fromEvents) != 3 || !reflect.DeepEqual(fromEvents, fromResults) {
		t.Fatalf("steps from events:\n%+v\nstep results:\n%+v", fromEvents, fromResults)
	}
	if rp.Status != "Failed" || fromEvents[0].Status != "Success" || fromEvents[2].Status != "Failed" ||
		fromEvents[1].Shot == "" {
		t.Errorf("replay: status %s, steps %+v", rp.Status, fromEvents)
	}

	streamed := openLive(t, f.Srv.URL, "/backend/api/live/?feature_result_id="+f.Vars["{res}"], f.Tokens["devops"], "")
	got := seqsOf(streamed.until(isEvent("ResultFinished", "result-"+f.Vars["{res}"])))
	var want []int64
	for _, e := range rp.Results {
		if e.Stream == "result-"+f.Vars["{res}"] {
			want = append(want, e.Seq)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("live stream of the result: %v, its events %v", got, want)
	}
}
