package readapi_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image/jpeg"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gen2brain/webp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/worker"
)

// startWorker runs a real runner (Chromium through go-rod) against the
// server's store until the test ends, with its browsers' folders under
// dir.
func startWorker(t *testing.T, srv *apitest.Server, dir string) {
	t.Helper()
	fr, qr := projections.NewFeatureReader(srv.Pool), projections.NewRunQueueReader(srv.Pool)
	runs := commands.NewRuns(srv.Log, srv.IDs, commands.RunsConfig{Library: fr, Variables: qr, Running: qr})
	logger := slog.New(slog.NewTextHandler(srv.Logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	wk := worker.New(worker.Deps{Log: srv.Log, Runs: runs, Queue: qr, Screenshots: srv.Deps.Screenshots,
		Variables: commands.NewVariables(srv.Log, srv.IDs, projections.NewVariableReader(srv.Pool), apitest.Passphrase),
		Config: worker.Config{Identity: "e2e-runner", PollInterval: 200 * time.Millisecond, TempDir: dir,
			Passphrase: apitest.Passphrase, Logger: logger}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wk.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		if live, err := browser.LiveProcesses(-1, dir); err != nil || len(live) > 0 {
			t.Errorf("browser processes left behind: %v (%v)", live, err)
		}
	})
}

// TestRunEndToEnd runs a feature on a local page in real Chromium through
// HTTP (POST /backend/exectest/ with wait), then reads everything the run
// produced through the API: result, runs list, step results, screenshots
// as WebP and as JPEG, log and JUnit report.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	srv := f.Srv
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Shop</title><h1 style="color:#c00">Hello from the shop</h1>`)
	}))
	t.Cleanup(page.Close)
	dir, err := os.MkdirTemp("", "e2e-browsers")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	startWorker(t, srv, dir)

	var feat struct {
		ID int64 `json:"feature_id"`
	}
	srv.Do(t, http.MethodPost, "/backend/api/features/", f.Tokens["devops"], map[string]any{
		"feature_name": "Shop smoke", "app_id": 1, "environment_id": 1, "department_id": f.DeptA,
		"steps": map[string]any{"steps_content": []map[string]any{
			{"step_keyword": "Given", "step_content": `StartBrowser and call URL "` + page.URL + `/"`,
				"enabled": true, "screenshot": true, "timeout": 30},
			{"step_keyword": "Then", "step_content": `I can see "Hello from the shop"`, "enabled": true,
				"timeout": 10},
			{"step_keyword": "Then", "step_content": `BrowserTitle is "Shop"`, "enabled": true,
				"screenshot": true, "compare": true, "timeout": 10},
		}},
	}).Want(t, http.StatusCreated).JSON(t, &feat)
	f.Vars["{feat}"] = fmt.Sprint(feat.ID)

	r := srv.Do(t, http.MethodPost, "/backend/exectest/", f.Tokens["devops"],
		map[string]any{"feature_id": feat.ID, "wait": true}).Want(t, http.StatusOK)
	var ran struct {
		RunID     int64   `json:"run_id"`
		ResultIDs []int64 `json:"feature_result_ids"`
		Status    string  `json:"status"`
		Results   []struct {
			Status  string `json:"status"`
			Running bool   `json:"running"`
			Total   int    `json:"total"`
			OK      int    `json:"ok"`
		} `json:"results"`
	}
	r.JSON(t, &ran)
	if ran.Status != "Success" || len(ran.Results) != 1 || ran.Results[0].Status != "Success" ||
		ran.Results[0].Running || ran.Results[0].Total != 3 || ran.Results[0].OK != 3 {
		t.Fatalf("exectest with wait answered %s\nserver log:\n%s", r.Body, srv.Logs.String())
	}
	f.Vars["{res}"] = fmt.Sprint(ran.ResultIDs[0])

	one := srv.Do(t, http.MethodGet, f.Expand("/backend/api/feature_results/{res}/"), f.Tokens["devops"], nil).
		Want(t, http.StatusOK)
	want("result.success", "true", "result.fails", "0", "result.skipped", "0", "result.feature_id", "{feat}")(t, f, one)
	if !strings.Contains(jsonPath(t, one.Body, "result.browser_version"), "Chrom") {
		t.Errorf("browser_version %s", jsonPath(t, one.Body, "result.browser_version"))
	}
	// The feature's "info" summarises its last run.
	info := srv.Do(t, http.MethodGet, f.Expand("/backend/api/features/{feat}/"), f.Tokens["devops"], nil).
		Want(t, http.StatusOK)
	want("results.0.info.status", `"Success"`, "results.0.info.total", "3", "results.0.info.ok", "3",
		"results.0.info.running", "false", "results.0.info.success", "true")(t, f, info)
	if by := jsonPath(t, info.Body, "results.0.info.executed_by.user_id"); by == "" || by == "null" {
		t.Errorf("info.executed_by: %s", info.Body)
	}

	runs := srv.Do(t, http.MethodGet, f.Expand("/backend/api/feature_results/?feature_id={feat}"),
		f.Tokens["devops"], nil).Want(t, http.StatusOK)
	want("count", "1", "results.0.status", `"Success"`, "results.0.feature_results.0.feature_result_id", "{res}")(t, f, runs)

	steps := srv.Do(t, http.MethodGet, f.Expand("/backend/api/feature_results/{res}/step_results/"),
		f.Tokens["devops"], nil).Want(t, http.StatusOK)
	var page1 struct {
		Results []struct {
			ID       int64    `json:"step_result_id"`
			Sequence int      `json:"step_execution_sequence"`
			Name     string   `json:"step_name"`
			Time     int64    `json:"execution_time"`
			Relative int64    `json:"relative_execution_time"`
			Status   string   `json:"status"`
			Shots    []string `json:"screenshots"`
		} `json:"results"`
	}
	steps.JSON(t, &page1)
	if len(page1.Results) != 3 {
		t.Fatalf("step results %s", steps.Body)
	}
	var sum int64
	for i, s := range page1.Results {
		sum += s.Time
		if s.Sequence != i+1 || s.Status != "Success" || s.Relative != sum {
			t.Errorf("step %d: %+v (relative time want %d)", i+1, s, sum)
		}
	}
	if !strings.HasPrefix(page1.Results[0].Name, "StartBrowser and call URL") || len(page1.Results[0].Shots) != 1 ||
		len(page1.Results[1].Shots) != 0 || len(page1.Results[2].Shots) == 0 {
		t.Errorf("step names and screenshots: %s", steps.Body)
	}

	// The screenshots, listed per step and served compressed both ways.
	names := srv.Do(t, http.MethodGet, fmt.Sprintf("/backend/screenshots/%d/", page1.Results[0].ID),
		f.Tokens["devops"], nil).Want(t, http.StatusOK)
	var list []string
	names.JSON(t, &list)
	if len(list) != 1 || list[0] != page1.Results[0].Shots[0] {
		t.Fatalf("screenshots of step 1: %s", names.Body)
	}
	resp, body := raw(t, srv, http.MethodGet, "/backend/screenshot/"+list[0]+"/", f.Tokens["devops"],
		http.Header{"Accept": {"image/webp,*/*"}})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/webp" {
		t.Fatalf("WebP: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := webp.Decode(bytes.NewReader(body))
	if err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("WebP screenshot: %v, %v", err, img)
	}
	resp, body = raw(t, srv, http.MethodGet, "/backend/screenshot/"+list[0]+"/", f.Tokens["devops"],
		http.Header{"Accept": {"image/png"}})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("JPEG: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil {
		t.Errorf("JPEG screenshot: %v", err)
	}

	logs := srv.Do(t, http.MethodGet, f.Expand("/backend/feature_results/{res}/log/"), f.Tokens["devops"], nil).
		Want(t, http.StatusOK)
	want("success", "true")(t, f, logs)

	resp, body = raw(t, srv, http.MethodGet, f.Expand("/backend/api/feature_results/{res}/junit/"),
		f.Tokens["devops"], nil)
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if resp.StatusCode != 200 || xml.Unmarshal(body, &doc) != nil || len(doc.Suites) != 1 ||
		doc.Suites[0].Tests != 3 || doc.Suites[0].Failures != 0 || len(doc.Suites[0].Cases) != 3 ||
		doc.Suites[0].Cases[2].Name != `BrowserTitle is "Shop"` {
		t.Errorf("junit: %d\n%s", resp.StatusCode, body)
	}
}
