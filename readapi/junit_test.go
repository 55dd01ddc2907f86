package readapi_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"testing"
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
