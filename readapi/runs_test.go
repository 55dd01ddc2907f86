package readapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/readapi/apitest"
)

const (
	okS   = eventschemas.StatusSuccess
	failS = eventschemas.StatusFailed
	skipS = eventschemas.StatusSkipped
)

// runsFixture is the apitest fixture with a feature in each department
// and runs of feature A executed by the simulated runner:
//
//	{featA} {featB}  features of departments A and B
//	{runA} {resA}    finished Failed: steps ok, ok with shots (17 pixels), failed, 1 not reached
//	{stepA1..3}      its step results
//	{imgCur} {imgBase} {imgDiff}  the images of step 2
//	{resB}           a finished result of feature B
//	{runArch} {resArch}  finished Success, for archiving
//	{resDel} {resDel2}   finished, for removal
//	{runDel} {runDel2}   finished runs, for removal
//	{resRun}         claimed and started (browser pid 4242), still running
func runsFixture(t *testing.T) (*apitest.Fixture, map[string]simulated) {
	t.Helper()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	featA := runFeature(t, f, "devops", "Checkout A", f.DeptA,
		`Goto URL "https://example.com/"`, "Press Enter", "Press Enter", `Goto URL "https://example.com/end"`)
	featB := runFeature(t, f, "devopsB", "Checkout B", f.DeptB, "Press Enter")
	f.Vars["{featA}"] = strconv.FormatInt(featA, 10)
	f.Vars["{featB}"] = strconv.FormatInt(featB, 10)

	sims := map[string]simulated{
		"A": simulateRun(t, f, "devops", featA, failS,
			simStep{status: okS, ms: 1200}, simStep{status: okS, ms: 300, pixels: 17, shots: true},
			simStep{status: failS, ms: 2000}),
		"B":     simulateRun(t, f, "devopsB", featB, okS, simStep{status: okS, ms: 5, shots: true}),
		"Arch":  simulateRun(t, f, "devops", featA, okS, simStep{status: okS, ms: 10}),
		"Del":   simulateRun(t, f, "devops", featA, okS, simStep{status: okS, ms: 10}),
		"Del2":  simulateRun(t, f, "devops", featA, okS, simStep{status: okS, ms: 10}),
		"Run1":  simulateRun(t, f, "devops", featA, failS, simStep{status: failS, ms: 10}),
		"Run2":  simulateRun(t, f, "devops", featA, okS, simStep{status: okS, ms: 10}),
		"Run":   simulateRun(t, f, "devops", featA, "", simStep{status: okS, ms: 10}),
		"Batch": simulateRun(t, f, "devops", featA, failS, simStep{status: failS, ms: 10}),
	}
	a := sims["A"]
	f.Vars["{runA}"] = strconv.FormatInt(a.RunID, 10)
	f.Vars["{resA}"] = strconv.FormatInt(a.ResultID, 10)
	for i, id := range a.StepResultIDs {
		f.Vars[fmt.Sprintf("{stepA%d}", i+1)] = strconv.FormatInt(id, 10)
	}
	f.Vars["{imgCur}"], f.Vars["{imgBase}"], f.Vars["{imgDiff}"] = a.Images[0], a.Images[1], a.Images[2]
	f.Vars["{resB}"] = strconv.FormatInt(sims["B"].ResultID, 10)
	f.Vars["{stepB1}"] = strconv.FormatInt(sims["B"].StepResultIDs[0], 10)
	f.Vars["{imgB}"] = sims["B"].Images[0]
	f.Vars["{runArch}"] = strconv.FormatInt(sims["Arch"].RunID, 10)
	f.Vars["{resArch}"] = strconv.FormatInt(sims["Arch"].ResultID, 10)
	f.Vars["{resDel}"] = strconv.FormatInt(sims["Del"].ResultID, 10)
	f.Vars["{resDel2}"] = strconv.FormatInt(sims["Del2"].ResultID, 10)
	f.Vars["{runDel}"] = strconv.FormatInt(sims["Run1"].RunID, 10)
	f.Vars["{runDel2}"] = strconv.FormatInt(sims["Run2"].RunID, 10)
	f.Vars["{resRun}"] = strconv.FormatInt(sims["Run"].ResultID, 10)
	return f, sims
}

// jsonPath reads a value of a JSON answer by a dotted path ("result.ok",
// "results.0.run_id") as its JSON text.
func jsonPath(t *testing.T, body []byte, path string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i >= len(node) {
				t.Fatalf("%s: no element %s in %s", path, key, body)
			}
			v = node[i]
		default:
			t.Fatalf("%s: no %s in %s", path, key, body)
		}
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// want checks dotted paths of an answer against JSON texts (placeholders
// expanded).
func want(pairs ...string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		for i := 0; i+1 < len(pairs); i += 2 {
			if got, w := jsonPath(t, r.Body, pairs[i]), f.Expand(pairs[i+1]); got != w {
				t.Errorf("%s %s: %s = %s, want %s", r.Method, r.Path, pairs[i], got, w)
			}
		}
	}
}

func TestResultTotalsAndOrder(t *testing.T) {
	t.Parallel()
	f, sims := runsFixture(t)
	srv := f.Srv
	r := srv.Do(t, http.MethodGet, f.Expand("/backend/api/feature_results/{resA}/"), f.Tokens["devops"], nil).
		Want(t, http.StatusOK)
	want("result.total", "4", "result.ok", "2", "result.fails", "1", "result.skipped", "1",
		"result.execution_time", "3500", "result.pixel_diff", "17", "result.status", `"Failed"`,
		"result.success", "false", "result.running", "false", "result.feature_id", "{featA}",
		"result.run_id", "{runA}")(t, f, r)

	steps := srv.Do(t, http.MethodGet, f.Expand("/backend/api/feature_results/{resA}/step_results/"),
		f.Tokens["devops"], nil).Want(t, http.StatusOK)
	var page struct {
		Count   int `json:"count"`
		Results []struct {
			ID       int64  `json:"step_result_id"`
			Sequence int    `json:"step_execution_sequence"`
			Relative int64  `json:"relative_execution_time"`
			Status   string `json:"status"`
			Error    any    `json:"error"`
			Current  string `json:"screenshot_current"`
		} `json:"results"`
	}
	steps.JSON(t, &page)
	if page.Count != 3 || len(page.Results) != 3 {
		t.Fatalf("step results page %s", steps.Body)
	}
	for i, s := range page.Results {
		if s.Sequence != i+1 || s.ID != sims["A"].StepResultIDs[i] {
			t.Errorf("step %d: sequence %d id %d", i, s.Sequence, s.ID)
		}
	}
	if diff := cmp.Diff([]int64{1200, 1500, 3500},
		[]int64{page.Results[0].Relative, page.Results[1].Relative, page.Results[2].Relative}); diff != "" {
		t.Errorf("relative execution times (-want +got):\n%s", diff)
	}
	if page.Results[2].Status != failS || page.Results[2].Error != "Element not found: #step3" ||
		page.Results[1].Current != sims["A"].Images[0] {
		t.Errorf("step results %s", steps.Body)
	}

	// The run (a page of runs of the feature) sums its results.
	runs := srv.Do(t, http.MethodGet, f.Expand("/backend/api/feature_results/?feature_id={featA}&size=50"),
		f.Tokens["devops"], nil).Want(t, http.StatusOK)
	var runPage struct {
		Count   int `json:"count"`
		Results []struct {
			RunID   int64  `json:"run_id"`
			Total   int    `json:"total"`
			Status  string `json:"status"`
			Feature string `json:"feature"`
			Results []struct {
				ID int64 `json:"feature_result_id"`
			} `json:"feature_results"`
		} `json:"results"`
	}
	runs.JSON(t, &runPage)
	found := false
	for i, run := range runPage.Results {
		if i > 0 && run.RunID > runPage.Results[i-1].RunID {
			t.Errorf("runs not newest first: %d after %d", run.RunID, runPage.Results[i-1].RunID)
		}
		if run.RunID == sims["A"].RunID {
			found = true
			if run.Total != 4 || run.Status != failS || run.Feature != f.Vars["{featA}"] ||
				len(run.Results) != 1 || run.Results[0].ID != sims["A"].ResultID {
				t.Errorf("run A %+v", run)
			}
		}
	}
	if !found || runPage.Count != len(runPage.Results) {
		t.Errorf("runs page %s", runs.Body)
	}
}

// says checks that an error answer's text contains substr.
func errorSays(substr string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		var e struct {
			Error string `json:"error"`
		}
		r.JSON(t, &e)
		if !strings.Contains(e.Error, f.Expand(substr)) {
			t.Errorf("%s %s: error %q, want it to say %q", r.Method, r.Path, e.Error, substr)
		}
	}
}

const (
	everyRoleRuns = "forbidden: every default role has run_feature"
	noFlag        = "forbidden: Cometa checks no permission here"
)

func runCases() []apitest.Case {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []apitest.Case{
		{Method: post, Path: "/backend/exectest/",
			OK: &apitest.Try{As: "devops", Body: `{"feature_id": {featA}, "wait": false}`, Status: 200,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					var out requested
					r.JSON(t, &out)
					if len(out.ResultIDs) != 1 || out.RunID == 0 {
						t.Errorf("exectest answered %s", r.Body)
					}
				}},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: `{"feature_id": {featA}}`, Status: 404},
			BadBody:         &apitest.Try{As: "devops", Body: `{"feature_id": "one"}`, Status: 400},
			NA:              everyRoleRuns},
		{Method: get, Path: "/backend/exectest/?feature_id={featA}",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("success", "true")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/exectest/?feature_id=x", Status: 400},
			NA:              everyRoleRuns},
		{Method: get, Path: "/backend/api/feature_results/?feature_id={featA}",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("results.0.feature", `"{featA}"`)},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody: &apitest.Try{As: "devops", Path: "/backend/api/feature_results/", Status: 400,
				Check: errorSays("feature_id")},
			NA: "forbidden: reading results needs no flag"},
		{Method: post, Path: "/api/feature_results/",
			OK: &apitest.Try{As: "admin", Body: `{"feature_id": {featA}, "total": 3, "ok": 3}`, Status: 405,
				Check: errorSays("recorded by the runner")},
			NA: "results are never created from outside: every request is the 405 of OK"},
		{Method: get, Path: "/api/feature_results/{featA}/",
			OK: &apitest.Try{As: "devops", Status: 200,
				Check: want("results.0.feature_id", "{featA}", "count", "10")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/api/feature_results/abc/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: get, Path: "/backend/api/feature_results/{resA}/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("result.feature_result_id", "{resA}")},
			OtherDepartment: &apitest.Try{As: "devops", Path: "/backend/api/feature_results/{resB}/", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/api/feature_results/0/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: get, Path: "/backend/api/feature_results_by_featureid/?feature_id={featA}&size=2",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("count", "10")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody: &apitest.Try{As: "devops", Path: "/backend/api/feature_results_by_featureid/?feature_id=-1",
				Status: 400},
			NA: "forbidden: reading results needs no flag"},
		{Method: get, Path: "/backend/feature_results/{resA}/log/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("log", `"log of result {resA}"`)},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/feature_results/x/log/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: patch, Path: "/backend/api/feature_results/{resArch}/",
			OK:              &apitest.Try{As: "manager", Body: `{"archived": true}`, Status: 200},
			Forbidden:       &apitest.Try{As: "devops", Body: `{"archived": false}`, Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: `{"archived": false}`, Status: 404},
			BadBody:         &apitest.Try{As: "manager", Body: `{"status": "Nope"}`, Status: 400}},
		{Method: patch, Path: "/backend/api/feature_results/",
			OK: &apitest.Try{As: "manager", Body: `{"feature_result_id": {resA}, "status": "Success"}`, Status: 200},
			Forbidden: &apitest.Try{As: "devops", Body: `{"feature_result_id": {resA}, "status": "Failed"}`,
				Status: 403},
			OtherDepartment: &apitest.Try{As: "manager", Body: `{"feature_result_id": {resB}, "success": false}`,
				Status: 404},
			BadBody: &apitest.Try{As: "manager", Body: `{"feature_result_id": {resA}, "status": "Success",
				"success": false}`, Status: 400}},
		{Method: del, Path: "/backend/api/feature_results/{resDel}/",
			OK:              &apitest.Try{As: "admin", Status: 200},
			Forbidden:       &apitest.Try{As: "manager", Path: "/backend/api/feature_results/{resDel2}/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/api/feature_results/{resDel2}/", Status: 404},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/api/feature_results/{resArch}/", Status: 409}},
		{Method: get, Path: "/backend/feature_results/{resDel2}/remove/{resDel2}/",
			OK:              &apitest.Try{As: "admin", Status: 200},
			Forbidden:       &apitest.Try{As: "devops", Path: "/backend/feature_results/{resA}/remove/{resA}/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/feature_results/{resA}/remove/{resA}/", Status: 404},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/feature_results/{resA}/remove/{resB}/", Status: 400}},
		{Method: get, Path: "/backend/api/feature_results/{resA}/step_results/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("count", "3")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/api/feature_results/x/step_results/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: post, Path: "/backend/api/feature_results/{resA}/step_results/",
			OK: &apitest.Try{As: "admin", Body: `{"step_name": "x", "success": true}`, Status: 405},
			NA: "step results are never created from outside: every request is the 405 of OK"},
		{Method: get, Path: "/backend/api/feature_results/{featA}/step_results/{resA}/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("results.2.status", `"Failed"`)},
			OtherDepartment: &apitest.Try{As: "devops", Path: "/backend/api/feature_results/{featB}/step_results/{resA}/", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/api/feature_results/{featA}/step_results/x/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: get, Path: "/backend/api/step_result/{stepA2}/",
			OK: &apitest.Try{As: "devops", Status: 200,
				Check: want("results.next", "{stepA3}", "results.previous", "{stepA1}", "results.pixel_diff", "17")},
			OtherDepartment: &apitest.Try{As: "devops", Path: "/backend/api/step_result/{stepB1}/", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/api/step_result/x/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: patch, Path: "/backend/api/step_result/{stepA3}/",
			OK: &apitest.Try{As: "manager", Body: `{"status": "Success"}`, Status: 200,
				Check: func(t *testing.T, f *apitest.Fixture, _ *apitest.Response) {
					r := f.Srv.Do(t, get, f.Expand("/backend/api/feature_results/{resA}/"), f.Tokens["devops"], nil)
					want("result.ok", "3", "result.fails", "0", "result.success", "true")(t, f, r)
				}},
			Forbidden:       &apitest.Try{As: "devops", Body: `{"status": "Failed"}`, Status: 403},
			OtherDepartment: &apitest.Try{As: "manager", Path: "/backend/api/step_result/{stepB1}/", Body: `{"status": "Failed"}`, Status: 404},
			BadBody:         &apitest.Try{As: "manager", Body: `{"status": 3}`, Status: 400}},
		{Method: get, Path: "/backend/steps/{stepA2}/pixel_diff/17/",
			OK:              &apitest.Try{As: "manager", Status: 200, Check: want("pixel_diff", "17")},
			Forbidden:       &apitest.Try{As: "devops", Status: 403},
			OtherDepartment: &apitest.Try{As: "manager", Path: "/backend/steps/{stepB1}/pixel_diff/0/", Status: 404},
			BadBody:         &apitest.Try{As: "manager", Path: "/backend/steps/{stepA2}/pixel_diff/5/", Status: 409}},
		{Method: get, Path: "/backend/screenshots/{stepA2}/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				var names []string
				r.JSON(t, &names)
				if diff := cmp.Diff([]string{f.Vars["{imgCur}"], f.Vars["{imgBase}"], f.Vars["{imgDiff}"]}, names); diff != "" {
					t.Errorf("screenshots of step 2 (-want +got):\n%s", diff)
				}
			}},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/screenshots/x/", Status: 400},
			NA:              "forbidden: reading results needs no flag"},
		{Method: post, Path: "/backend/removeScreenshot/",
			OK: &apitest.Try{As: "admin", Body: `{"step_result_id": {stepA2}, "type": "difference"}`, Status: 200,
				Check: want("file_deleted", "true")},
			Forbidden:       &apitest.Try{As: "manager", Body: `{"step_result_id": {stepA2}, "type": "current"}`, Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: `{"step_result_id": {stepA2}, "type": "current"}`, Status: 404},
			BadBody:         &apitest.Try{As: "admin", Body: `{"step_result_id": {stepA2}, "type": "thumbnail"}`, Status: 400}},
		{Method: get, Path: "/backend/removeScreenshot/{imgCur}/",
			OK:              &apitest.Try{As: "admin", Status: 200, Check: want("removed", "1", "file_deleted", "true")},
			Forbidden:       &apitest.Try{As: "manager", Path: "/backend/removeScreenshot/{imgBase}/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devops", Path: "/backend/removeScreenshot/{imgB}/", Status: 404},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/removeScreenshot/AMVARA_63.png/", Status: 400}},
		{Method: patch, Path: "/backend/api/feature_run/{runArch}/",
			OK:              &apitest.Try{As: "devops", Body: `{"archived": true}`, Status: 200},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: `{"archived": false}`, Status: 404},
			BadBody:         &apitest.Try{As: "devops", Body: `{"status": "Success"}`, Status: 400},
			NA:              noFlag},
		{Method: del, Path: "/backend/api/feature_run/{runDel}/",
			OK:              &apitest.Try{As: "admin", Status: 200},
			Forbidden:       &apitest.Try{As: "manager", Path: "/backend/api/feature_run/{runDel2}/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/api/feature_run/{runDel2}/", Status: 404},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/api/feature_run/{runArch}/", Status: 409}},
		{Method: get, Path: "/backend/feature_runs/{runDel2}/remove/",
			OK:              &apitest.Try{As: "admin", Status: 200},
			Forbidden:       &apitest.Try{As: "devops", Path: "/backend/feature_runs/{runA}/remove/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/feature_runs/{runA}/remove/", Status: 404},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/feature_runs/0/remove/", Status: 400}},
		{Method: del, Path: "/backend/api/feature_run/?feature_id={featA}&type=all_failed",
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				var out struct {
					Removed []int64 `json:"removed"`
				}
				r.JSON(t, &out)
				if len(out.Removed) != 1 {
					t.Errorf("removed %v, want the one failed run left", out.Removed)
				}
			}},
			Forbidden:       &apitest.Try{As: "manager", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody: &apitest.Try{As: "admin", Path: "/backend/api/feature_run/?feature_id={featA}&type=most",
				Status: 400, Check: errorSays("all, all_failed, all_except_last")}},
		{Method: get, Path: "/backend/updateTask/?feature_id={featA}",
			OK: &apitest.Try{As: "devops", Status: 200, Check: want("tasks.0.pid", "4242",
				"tasks.0.feature_result_id", "{resRun}")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/updateTask/?feature_id=x", Status: 400},
			NA:              everyRoleRuns},
		{Method: post, Path: "/backend/updateTask/",
			OK: &apitest.Try{As: "devops", Body: `{"action": "start", "feature_id": {featA}, "pid": 99,
				"browser": "{}"}`, Status: 200, Check: want("tasks.0.pid", "4242")},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: `{"action": "finish", "feature_id": {featA}}`, Status: 404},
			BadBody:         &apitest.Try{As: "devops", Body: `{"action": "start"}`, Status: 400},
			NA:              everyRoleRuns},
		{Method: get, Path: "/backend/killTaskPID/4242/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: want("feature_result_ids", "[{resRun}]")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/killTaskPID/x/", Status: 400},
			NA:              everyRoleRuns},
		{Method: get, Path: "/backend/killTask/{featA}/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				var out struct {
					Tasks int `json:"tasks"`
				}
				r.JSON(t, &out)
				// The two runs the exectest rows requested were queued;
				// the running result was asked to stop by killTaskPID.
				if out.Tasks != 2 {
					t.Errorf("killTask answered %s, want the 2 queued results", r.Body)
				}
			}},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/killTask/-3/", Status: 400},
			NA:              everyRoleRuns},
	}
}

func TestRunEndpoints(t *testing.T) {
	t.Parallel()
	f, _ := runsFixture(t)
	runWriteCases(t, f, runCases())
}

// runWriteCases is apitest.RunCases for endpoints of which some GETs
// change things (the seed's GET /exectest/, /killTask/, .../remove/...):
// only refused requests must append nothing, and an OK request of a
// mutating GET must append something.
//
// TODO(readapi): fold into apitest.RunCases as a Case option; the harness
// belongs to the API core.
func runWriteCases(t *testing.T, f *apitest.Fixture, cases []apitest.Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Method+" "+c.Path, func(t *testing.T) {
			if c.OK == nil || (c.Forbidden == nil || c.OtherDepartment == nil || c.BadBody == nil) && c.NA == "" {
				t.Fatalf("a case needs OK, and NA to explain every nil request")
			}
			for _, step := range []struct {
				name    string
				try     *apitest.Try
				refused bool
			}{
				{"ok", c.OK, c.OK.Status >= 400}, {"forbidden", c.Forbidden, true},
				{"other department", c.OtherDepartment, true}, {"bad body", c.BadBody, true},
			} {
				if step.try == nil {
					continue
				}
				t.Run(step.name, func(t *testing.T) {
					send := func() { sendTry(t, f, c, step.try) }
					if step.refused {
						f.Srv.Unchanged(t, c.Method+" "+c.Path+" ("+step.name+")", send)
						return
					}
					send()
				})
			}
		})
	}
}

func sendTry(t *testing.T, f *apitest.Fixture, c apitest.Case, tr *apitest.Try) {
	t.Helper()
	path := c.Path
	if tr.Path != "" {
		path = tr.Path
	}
	body := tr.Body
	if s, ok := body.(string); ok {
		body = f.Expand(s)
	}
	r := f.Srv.Send(t, apitest.Request{Method: c.Method, Path: f.Expand(path), Token: f.Tokens[tr.As],
		Body: body, ContentType: tr.ContentType})
	r.Want(t, tr.Status)
	if tr.Check != nil {
		tr.Check(t, f, r)
	}
}

// TestRunUnknownIDs wants a 404 for ids that name nothing, and nothing
// appended.
func TestRunUnknownIDs(t *testing.T) {
	t.Parallel()
	f, _ := runsFixture(t)
	srv := f.Srv
	const none = "987654"
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/backend/exectest/", map[string]any{"feature_id": 987654}},
		{http.MethodGet, "/backend/api/feature_results/?feature_id=" + none, nil},
		{http.MethodGet, "/api/feature_results/" + none + "/", nil},
		{http.MethodGet, "/backend/api/feature_results/" + none + "/", nil},
		{http.MethodPatch, "/backend/api/feature_results/" + none + "/", map[string]any{"archived": true}},
		{http.MethodDelete, "/backend/api/feature_results/" + none + "/", nil},
		{http.MethodGet, "/backend/api/feature_results/" + none + "/step_results/", nil},
		{http.MethodGet, "/backend/api/feature_results/" + none + "/junit/", nil},
		{http.MethodGet, "/backend/feature_results/" + none + "/log/", nil},
		{http.MethodGet, "/backend/feature_results/" + none + "/remove/" + none + "/", nil},
		{http.MethodGet, "/backend/feature_runs/" + none + "/remove/", nil},
		{http.MethodPatch, "/backend/api/feature_run/" + none + "/", map[string]any{"archived": true}},
		{http.MethodDelete, "/backend/api/feature_run/" + none + "/", nil},
		{http.MethodGet, "/backend/api/step_result/" + none + "/", nil},
		{http.MethodPatch, "/backend/api/step_result/" + none + "/", map[string]any{"status": "Success"}},
		{http.MethodGet, "/backend/steps/" + none + "/pixel_diff/0/", nil},
		{http.MethodGet, "/backend/screenshots/" + none + "/", nil},
		{http.MethodPost, "/backend/removeScreenshot/", map[string]any{"step_result_id": 987654, "type": "current"}},
		{http.MethodGet, "/backend/removeScreenshot/" + strings.Repeat("a", 64) + ".png/", nil},
		{http.MethodGet, "/backend/killTask/" + none + "/", nil},
		{http.MethodGet, "/backend/killTaskPID/" + none + "/", nil},
		{http.MethodGet, "/backend/updateTask/?feature_id=" + none, nil},
	} {
		srv.Unchanged(t, c.method+" "+c.path, func() {
			if c.path == "/backend/api/feature_results/"+none+"/junit/" {
				if resp, _ := raw(t, srv, c.method, c.path, srv.AdminToken, nil); resp.StatusCode != 404 {
					t.Errorf("%s %s: %d, want 404", c.method, c.path, resp.StatusCode)
				}
				return
			}
			srv.Do(t, c.method, c.path, srv.AdminToken, c.body).Want(t, http.StatusNotFound)
		})
	}
}

// TestExectestWithoutEnabledSteps: a feature whose steps are all disabled
// is a 400 naming the cause, before anything is queued, with or without
// wait.
func TestExectestWithoutEnabledSteps(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	off := stepJSON("Press Enter")
	off["enabled"] = false
	f.Vars["{off}"] = newFeature(t, f, "devops", "All disabled", f.DeptA, off)
	for _, body := range []string{`{"feature_id": {off}}`, `{"feature_id": {off}, "wait": true}`} {
		f.Srv.Unchanged(t, "exectest "+body, func() {
			r := f.Srv.Send(t, apitest.Request{Method: http.MethodPost, Path: "/backend/exectest/",
				Token: f.Tokens["devops"], Body: f.Expand(body)})
			r.Want(t, http.StatusBadRequest)
			errorSays("No steps found in the feature")(t, f, r)
		})
	}
}

// TestStepResultsOfAnotherFeature asks for the step results of a result
// under a feature it does not belong to: the 404 says which result and
// feature were looked up and whose result it is.
func TestStepResultsOfAnotherFeature(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	one := runFeature(t, f, "devops", "One", f.DeptA, "Press Enter")
	two := runFeature(t, f, "devops", "Two", f.DeptA, "Press Enter")
	sim := simulateRun(t, f, "devops", two, okS, simStep{status: okS, ms: 5})
	f.Vars["{one}"] = strconv.FormatInt(one, 10)
	f.Vars["{two}"] = strconv.FormatInt(two, 10)
	f.Vars["{res}"] = strconv.FormatInt(sim.ResultID, 10)

	k.get("/backend/api/feature_results/{two}/step_results/{res}/", "devops", 200, nil)
	r := k.get("/backend/api/feature_results/{one}/step_results/{res}/", "devops", http.StatusNotFound, nil)
	says("feature result {res} of feature {one} (it is a result of feature {two}")(t, f, r)
	msg, _ := r.Map(t)["error"].(string)
	if strings.Contains(msg, f.Expand("feature result {res}: not found")) {
		t.Errorf("the 404 reads as if result %d did not exist: %s", sim.ResultID, r.Body)
	}
}
