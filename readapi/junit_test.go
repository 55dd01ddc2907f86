package readapi_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/readapi/apitest"
)

func TestJUnitReport(t *testing.T) {
	t.Parallel()
	f, sims := runsFixture(t)
	srv := f.Srv
	path := f.Expand("/backend/api/feature_results/{resA}/junit/")
	resp, body := raw(t, srv, http.MethodGet, path, f.Tokens["devops"], nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
		t.Fatalf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
			Out string `xml:"system-out"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, body)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites", len(doc.Suites))
	}
	s := doc.Suites[0]
	// Three executed steps and the one not reached.
	if s.Name != "Checkout A" || s.Tests != 4 || s.Failures != 1 || s.Skipped != 1 || s.Time != "3.500" {
		t.Errorf("suite %s tests=%d failures=%d skipped=%d time=%s", s.Name, s.Tests, s.Failures, s.Skipped, s.Time)
	}
	wantNames := []string{"step 1", "step 2", "step 3", `Goto URL "https://example.com/end"`}
	wantTimes := []string{"1.200", "0.300", "2.000", "0.000"}
	for i, c := range s.Cases {
		if c.Name != wantNames[i] || c.Time != wantTimes[i] {
			t.Errorf("case %d: %q %s, want %q %s", i, c.Name, c.Time, wantNames[i], wantTimes[i])
		}
	}
	if len(s.Cases) != 4 || s.Cases[2].Failure == nil || s.Cases[2].Failure.Message != "Element not found: #step3" ||
		s.Cases[3].Skipped == nil {
		t.Errorf("cases %+v", s.Cases)
	}
	if s.Out != "log of result "+f.Vars["{resA}"] {
		t.Errorf("system-out %q", s.Out)
	}
	if resp, _ := raw(t, srv, http.MethodGet, f.Expand("/backend/api/feature_results/{resB}/junit/"),
		f.Tokens["devops"], nil); resp.StatusCode != 404 {
		t.Errorf("junit of another department's result: %d, want 404", resp.StatusCode)
	}
	_ = sims
}

// TestRunsSameAfterRebuild wants the runs endpoints to answer the same
// JSON after every read model was rebuilt from the log.
func TestRunsSameAfterRebuild(t *testing.T) {
	t.Parallel()
	f, _ := runsFixture(t)
	srv := f.Srv
	// Corrections on top of what the runner recorded.
	srv.Do(t, http.MethodPatch, f.Expand("/backend/api/step_result/{stepA3}/"), f.Tokens["manager"],
		map[string]any{"status": "Success"}).Want(t, 200)
	srv.Do(t, http.MethodPatch, f.Expand("/backend/api/feature_run/{runArch}/"), f.Tokens["devops"],
		map[string]any{"archived": true}).Want(t, 200)
	srv.Do(t, http.MethodGet, f.Expand("/backend/feature_results/{resDel}/remove/{resDel}/"), srv.AdminToken, nil).
		Want(t, 200)
	paths := []string{
		"/backend/api/feature_results/?feature_id={featA}",
		"/backend/api/feature_results/?feature_id={featA}&archived=true",
		"/api/feature_results/{featA}/",
		"/backend/api/feature_results/{resA}/",
		"/backend/api/feature_results/{resA}/step_results/",
		"/backend/api/step_result/{stepA2}/",
		"/backend/screenshots/{stepA2}/",
		"/backend/feature_results/{resA}/log/",
		"/backend/updateTask/?feature_id={featA}",
	}
	fetch := func() map[string][]byte {
		out := map[string][]byte{}
		for _, p := range paths {
			out[p] = srv.Do(t, http.MethodGet, f.Expand(p), f.Tokens["devops"], nil).Want(t, 200).Body
		}
		_, junit := raw(t, srv, http.MethodGet, f.Expand("/backend/api/feature_results/{resA}/junit/"),
			f.Tokens["devops"], nil)
		out["junit"] = junit
		return out
	}
	before := fetch()
	if _, err := srv.Manager.Rebuild(context.Background(), nil); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	for p, body := range fetch() {
		if !bytes.Equal(body, before[p]) {
			t.Errorf("GET %s after a rebuild:\n%s\nbefore:\n%s", p, body, before[p])
		}
	}
}

// junitCounts is what a CI server reads first of a report: the counts and
// the problems of its cases.
type junitCounts struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, f *apitest.Fixture, result int64) junitCounts {
	t.Helper()
	path := "/backend/api/feature_results/" + strconv.FormatInt(result, 10) + "/junit/"
	resp, body := raw(t, f.Srv, http.MethodGet, path, f.Tokens["devops"], nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	var doc junitCounts
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("the report does not parse: %v\n%s", err, body)
	}
	return doc
}

// finishRun runs feature id as a runner would, recording steps with the
// given statuses, and finishes it with status and reason.
func finishRun(t *testing.T, f *apitest.Fixture, id int64, status, reason string, stepStatuses ...string) simulated {
	t.Helper()
	ctx := context.Background()
	srv := f.Srv
	req := execTest(t, f, "devops", id)
	out := simulated{requested: req, ResultID: req.ResultIDs[0]}
	runs := commands.NewRuns(srv.Log, srv.IDs, commands.RunsConfig{})
	meta := commands.Meta{Actor: "service:runner", CorrelationID: uuid.NewString(), CommandID: uuid.New(), Now: time.Now()}
	held, err := runs.Claim(ctx, meta, out.ResultID, req.RunID, "test-runner", time.Now().Add(time.Hour), time.Now)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	for i, st := range stepStatuses {
		rec := eventschemas.StepRecorded{Sequence: i + 1, Index: i, StepID: "s" + strconv.Itoa(i+1),
			StepName: "step " + strconv.Itoa(i+1), Status: st, Success: st != eventschemas.StatusFailed,
			Screenshots: []string{}}
		if st == eventschemas.StatusFailed {
			rec.Error = "step " + strconv.Itoa(i+1) + " broke"
		}
		if err := held.Record(ctx, rec); err != nil {
			t.Fatalf("record step %d: %v", i+1, err)
		}
	}
	if _, err := held.Finish(ctx, status, reason, "", 0); err != nil {
		t.Fatalf("finish: %v", err)
	}
	settleAll(t, srv)
	rows, err := srv.Pool.Query(ctx, `SELECT step_result_id FROM rm_runs.step_results
		WHERE feature_result_id = $1 ORDER BY sequence`, out.ResultID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		if err := rows.Scan(&sid); err != nil {
			t.Fatal(err)
		}
		out.StepResultIDs = append(out.StepResultIDs, sid)
	}
	return out
}

// Every Failed or Canceled result gives a failing report, also when no
// step failed; a result whose failures were overridden to Success gives a
// passing one.
func TestJUnitFollowsTheResultStatus(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	id := runFeature(t, f, "devops", "Flow", f.DeptA, "Press Enter", "Press Enter")
	const (
		okS   = eventschemas.StatusSuccess
		failS = eventschemas.StatusFailed
	)

	tests := []struct {
		name     string
		status   string
		reason   string
		steps    []string
		failures int
		errors   int
		message  string
	}{
		{"a flow error before any step", failS, `step 1 "Break Loop": outside of a Loop`, nil, 0, 1,
			`step 1 "Break Loop": outside of a Loop`},
		{"a browser that did not start", failS, "the browser did not start: no chromium", nil, 0, 1,
			"the browser did not start: no chromium"},
		{"canceled after a passed step", eventschemas.StatusCanceled, "aborted: the run was killed", []string{okS}, 0, 1,
			"aborted: the run was killed"},
		{"failed without a reason", failS, "", []string{okS, okS}, 0, 1, "the result is Failed though none of its steps failed"},
		{"a failed step", failS, "step 2 broke", []string{okS, failS}, 1, 0, ""},
		{"passed", okS, "", []string{okS, okS}, 0, 0, ""},
	}
	for _, tc := range tests {
		res := finishRun(t, f, id, tc.status, tc.reason, tc.steps...)
		doc := readJUnit(t, f, res.ResultID)
		s := doc.Suites[0]
		if s.Failures != tc.failures || s.Errors != tc.errors || doc.Failures != tc.failures || doc.Errors != tc.errors {
			t.Errorf("%s: failures %d errors %d (document %d, %d), want %d and %d", tc.name, s.Failures, s.Errors,
				doc.Failures, doc.Errors, tc.failures, tc.errors)
			continue
		}
		if tc.errors == 0 {
			continue
		}
		last := s.Cases[len(s.Cases)-1]
		if last.Name != "Flow" || last.Error == nil || last.Error.Message != tc.message ||
			last.Error.Type != "Result"+tc.status {
			t.Errorf("%s: last case %+v, want an error with %q", tc.name, last, tc.message)
		}
	}

	// A passed result overridden to Failed fails the report.
	passed := finishRun(t, f, id, okS, "", okS)
	f.Srv.Do(t, http.MethodPatch, "/backend/api/feature_results/"+strconv.FormatInt(passed.ResultID, 10)+"/",
		f.Tokens["manager"], map[string]any{"status": failS}).Want(t, 200)
	if doc := readJUnit(t, f, passed.ResultID); doc.Errors != 1 || doc.Failures != 0 {
		t.Errorf("a result overridden to Failed: failures %d errors %d", doc.Failures, doc.Errors)
	}

	// A failed result whose failed step and status were overridden to
	// Success passes.
	failed := finishRun(t, f, id, failS, "step 1 broke", failS, okS)
	f.Srv.Do(t, http.MethodPatch, "/backend/api/step_result/"+strconv.FormatInt(failed.StepResultIDs[0], 10)+"/",
		f.Tokens["manager"], map[string]any{"status": okS}).Want(t, 200)
	f.Srv.Do(t, http.MethodPatch, "/backend/api/feature_results/"+strconv.FormatInt(failed.ResultID, 10)+"/",
		f.Tokens["manager"], map[string]any{"status": okS}).Want(t, 200)
	if doc := readJUnit(t, f, failed.ResultID); doc.Errors != 0 || doc.Failures != 0 {
		t.Errorf("a result overridden to Success: failures %d errors %d", doc.Failures, doc.Errors)
	}
}
