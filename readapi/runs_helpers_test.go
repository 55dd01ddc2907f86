package readapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// runFeature creates a feature through the API as user and returns its id.
func runFeature(t *testing.T, f *apitest.Fixture, user, name string, department int64, contents ...string) int64 {
	t.Helper()
	steps := make([]map[string]any, 0, len(contents))
	for _, c := range contents {
		steps = append(steps, map[string]any{"step_keyword": "Given", "step_content": c, "enabled": true})
	}
	var out struct {
		ID int64 `json:"feature_id"`
	}
	f.Srv.Do(t, http.MethodPost, "/backend/api/features/", f.Tokens[user], map[string]any{
		"feature_name": name, "app_id": 1, "environment_id": 1, "department_id": department,
		"steps": map[string]any{"steps_content": steps},
	}).Want(t, http.StatusCreated).JSON(t, &out)
	return out.ID
}

// requested is a run requested through POST /backend/exectest/.
type requested struct {
	RunID     int64   `json:"run_id"`
	ResultIDs []int64 `json:"feature_result_ids"`
}

func execTest(t *testing.T, f *apitest.Fixture, user string, featureID int64) requested {
	t.Helper()
	var out requested
	f.Srv.Do(t, http.MethodPost, "/backend/exectest/", f.Tokens[user], map[string]any{"feature_id": featureID}).
		Want(t, http.StatusOK).JSON(t, &out)
	if len(out.ResultIDs) != 1 {
		t.Fatalf("exectest gave results %v, want one", out.ResultIDs)
	}
	return out
}

// simStep is one step the simulated runner records. With shots it stores
// a current screenshot, a baseline and a difference image for it.
type simStep struct {
	status string
	ms     int64
	pixels int64
	shots  bool
}

// simulated is what a simulated execution recorded.
type simulated struct {
	requested
	ResultID int64
	// Images are the names stored for the steps with shots, in order
	// current, baseline, difference.
	Images []string
	// StepResultIDs are the step result ids in sequence order.
	StepResultIDs []int64
}

// pngOf returns a small PNG filled with c, its first pixel made from seed
// so that images of different seeds differ.
func pngOf(t *testing.T, c color.Color, w, h int, seed int64) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	img.Set(0, 0, color.RGBA{R: uint8(seed), G: uint8(seed >> 8), B: 7, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// simulateRun requests a run of featureID as user and executes it with
// the real run commands, as a runner would, without a browser: claim,
// start (browser pid 4242), the steps, and (unless finish is "") finish.
func simulateRun(t *testing.T, f *apitest.Fixture, user string, featureID int64, finish string,
	steps ...simStep) simulated {
	t.Helper()
	ctx := context.Background()
	srv := f.Srv
	req := execTest(t, f, user, featureID)
	out := simulated{requested: req, ResultID: req.ResultIDs[0]}
	runs := commands.NewRuns(srv.Log, srv.IDs, commands.RunsConfig{})
	meta := commands.Meta{Actor: "service:runner", CorrelationID: uuid.NewString(), CommandID: uuid.New(),
		Now: time.Now()}
	held, err := runs.Claim(ctx, meta, out.ResultID, req.RunID, "test-runner", time.Now().Add(time.Hour), time.Now)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if err := held.Start(ctx, eventschemas.ResultStarted{Browser: json.RawMessage(`{"browser":"chrome"}`),
		BrowserVersion: "Chrome/150.0", PID: 4242, StartedAt: time.Now()}); err != nil {
		t.Fatalf("start: %v", err)
	}
	failures := 0
	for i, st := range steps {
		rec := eventschemas.StepRecorded{Sequence: i + 1, Index: i, StepID: "s" + strconv.Itoa(i+1),
			StepName: "step " + strconv.Itoa(i+1), Status: st.status, Success: st.status != eventschemas.StatusFailed,
			ExecutionTimeMS: st.ms, PixelDiff: st.pixels, Screenshots: []string{}}
		if st.status == eventschemas.StatusFailed {
			rec.Error = "Element not found: #step" + strconv.Itoa(i+1)
			failures++
		}
		var extra []eventschemas.Payload
		if st.shots {
			var names []string
			for j, c := range []color.Color{color.White, color.Black, color.RGBA{R: 255, A: 255}} {
				name, err := srv.Deps.Screenshots.Put(ctx, pngOf(t, c, 40+i, 30+j, out.ResultID))
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, name)
			}
			rec.Current, rec.Template, rec.Difference = names[0], names[1], names[2]
			rec.Screenshots = []string{names[0], names[2]}
			extra = append(extra, &eventschemas.ScreenshotTaken{Name: names[0], Width: 40, Height: 30},
				&eventschemas.ScreenshotCompared{Baseline: names[1], Current: names[0], Diff: names[2],
					PixelDiff: st.pixels, Threshold: 0.1})
			out.Images = append(out.Images, names...)
		}
		if err := held.Record(ctx, rec, extra...); err != nil {
			t.Fatalf("record step %d: %v", i+1, err)
		}
	}
	if finish != "" {
		if _, err := held.Finish(ctx, finish, "", "log of result "+strconv.FormatInt(out.ResultID, 10), 1); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	settleAll(t, srv)
	rows, err := srv.Pool.Query(ctx, `SELECT step_result_id FROM rm_runs.step_results
		WHERE feature_result_id = $1 ORDER BY sequence`, out.ResultID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out.StepResultIDs = append(out.StepResultIDs, id)
	}
	return out
}

// settleAll waits until every read model has reached the end of the log.
func settleAll(t *testing.T, srv *apitest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	head, _, err := srv.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Manager.WaitFor(ctx, head); err != nil {
		t.Fatal(err)
	}
}

// raw sends a request without the OpenAPI check (for images, XML and
// paths no route of the document matches) and returns the answer.
func raw(t *testing.T, srv *apitest.Server, method, path, token string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, buf.Bytes()
}

// The readers the run commands of the API use.
var _ commands.RunningResults = (*projections.RunQueueReader)(nil)
