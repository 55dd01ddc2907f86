package readapi_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// hugeNumbers are integers past what the read models' columns hold (int4,
// int8) or none may name (negative, zero), as path or query parameters.
var hugeNumbers = []string{"2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
	"-1", "0", "-9223372036854775808", "99999999999999999999"}

// overflowFixture is a server with a feature of department A that ran
// once (one step, with a screenshot), its ids in Vars: {feat}, {result},
// {run}, {step}.
func overflowFixture(t *testing.T) *apitest.Fixture {
	t.Helper()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	feat := runFeature(t, f, "devops", "Overflow", f.DeptA, `Goto URL "https://example.com/"`)
	sim := simulateRun(t, f, "devops", feat, eventschemas.StatusSuccess,
		simStep{status: eventschemas.StatusSuccess, ms: 5, shots: true})
	f.Vars["{feat}"] = strconv.FormatInt(feat, 10)
	f.Vars["{result}"] = strconv.FormatInt(sim.ResultID, 10)
	f.Vars["{run}"] = strconv.FormatInt(sim.RunID, 10)
	f.Vars["{step}"] = strconv.FormatInt(sim.StepResultIDs[0], 10)
	return f
}

// TestHugeNumbersAreClientErrors sends every route that takes an integer
// in its path or query values past the range of the columns it is
// compared with (int4, int8), negative ones and zero: the answer is a 4xx
// (never a 5xx) and nothing is appended. A route marked lenient may also
// answer 2xx: there the number is a filter that matches nothing, a bound
// that is capped, or, for some of the values, valid.
func TestHugeNumbersAreClientErrors(t *testing.T) {
	t.Parallel()
	f := overflowFixture(t)
	const lenient = true
	routes := []struct {
		method, path string
		body         string
		lenient      bool
	}{
		{get, "/backend/killTaskPID/{n}/", "", false},
		{get, "/backend/killTask/{n}/", "", false},
		{get, "/backend/updateTask/?feature_id={n}", "", false},
		{get, "/backend/updateTask/?feature_id={feat}&pid={n}", "", lenient}, // pid is Cometa's, unused
		{post, "/backend/exectest/", `{"feature_id": {n}}`, false},
		{get, "/backend/exectest/?feature_id={n}", "", false},
		{patch, "/backend/api/accounts/{n}/", `{"name": "x"}`, false},
		{del, "/backend/api/accounts/{n}/", "", false},
		{post, "/backend/api/accounts/{n}/tokens/", "", false},
		{del, "/backend/api/accounts/{n}/tokens/", "", false},
		{patch, "/backend/api/applications/{n}/x/", "", false},
		{del, "/backend/api/applications/{n}/", "", false},
		{patch, "/backend/api/environments/{n}/x/", "", false},
		{del, "/backend/api/environments/{n}/", "", false},
		{patch, "/backend/api/departments/{n}/", `{"department_name": "x"}`, false},
		{del, "/backend/api/departments/{n}/", "", false},
		{get, "/backend/api/departments/{n}/audit/", "", lenient}, // SUPERUSER: an empty audit
		{get, "/backend/api/events/?after={n}", "", lenient},
		{get, "/backend/api/events/?department_id={n}", "", lenient},
		{get, "/backend/api/events/?size={n}", "", lenient}, // capped
		{get, "/backend/api/events/?after=9223372036854775807&size={n}", "", lenient},
		{get, "/backend/api/departments/1/audit/?after={n}&size={n}", "", lenient},
		{get, "/backend/api/feature_results/{n}/events/", "", false},
		{get, "/backend/api/features/{n}/", "", false},
		{del, "/backend/api/features/{n}/", "", false},
		{patch, "/backend/api/features/", `{"feature_id": {n}, "description": "x"}`, false},
		{patch, "/backend/api/features/", `{"feature_id": {feat}, "version": {n}, "description": "x"}`, false},
		{get, "/backend/api/folders/{n}/", "", false},
		{del, "/backend/api/folders/{n}/", "", false},
		{patch, "/backend/api/folder/feature/", `{"feature_id": {feat}, "new_folder": {n}}`, lenient}, // 0 is the root
		{get, "/backend/api/features/{n}/history/", "", false},
		{get, "/backend/api/features/{feat}/versions/{n}/", "", false},
		{get, "/backend/api/features/{n}/versions/1/", "", false},
		{get, "/backend/api/features/{feat}/diff/?to={n}", "", false},
		{get, "/backend/api/features/{feat}/diff/?from={n}", "", lenient}, // from 0 is valid
		{post, "/backend/api/features/{feat}/restore/{n}/", "", false},
		{get, "/backend/api/live/?feature_result_id={n}", "", false},
		{get, "/backend/api/feature_results/?feature_id={n}", "", false},
		{get, "/backend/api/feature_results/{n}/", "", false},
		{patch, "/backend/api/feature_results/{n}/", `{"archived": true}`, false},
		{patch, "/backend/api/feature_results/", `{"feature_result_id": {n}, "archived": true}`, false},
		{del, "/backend/api/feature_results/{n}/", "", false},
		{get, "/backend/api/feature_results/{n}/junit/", "", false},
		{get, "/backend/api/feature_results_by_featureid/?feature_id={n}", "", false},
		{get, "/backend/feature_results/{n}/log/", "", false},
		{get, "/backend/feature_results/{n}/remove/1/", "", false},
		{get, "/backend/feature_runs/{n}/remove/", "", false},
		{patch, "/backend/api/feature_run/{n}/", `{"archived": true}`, false},
		{del, "/backend/api/feature_run/{n}/", "", false},
		{del, "/backend/api/feature_run/?feature_id={n}", "", false},
		{get, "/backend/api/feature_results/{n}/step_results/", "", false},
		{get, "/backend/api/feature_results/{n}/step_results/{result}/", "", false},
		{get, "/backend/api/feature_results/{feat}/step_results/{n}/", "", false},
		{get, "/backend/api/step_result/{n}/", "", false},
		{patch, "/backend/api/step_result/{n}/", `{"status": "Failed"}`, false},
		{get, "/backend/steps/{n}/pixel_diff/0/", "", false},
		{get, "/backend/steps/{step}/pixel_diff/{n}/", "", lenient}, // 0 was measured
		{get, "/backend/schedule/{n}/", "", false},
		{get, "/backend/api/features/{n}/schedule/history/", "", false},
		{get, "/backend/api/features/{feat}/schedule/history/?limit={n}", "", false},
		{get, "/backend/screenshots/{n}/", "", false},
		{post, "/backend/removeScreenshot/", `{"step_result_id": {n}, "type": "current"}`, false},
		{get, "/backend/steps/{n}/", "", false},
		{post, "/backend/steps/{n}/patch/", `{"description": "x"}`, false},
		{get, "/backend/getJson/{n}/", "", false},
		{get, "/backend/api/features/{n}/trend/", "", false},
		{get, "/backend/api/features/{feat}/trend/?last={n}", "", lenient}, // capped
		{get, "/backend/api/feature_results/{n}/changes/", "", false},
		{patch, "/backend/api/variables/{n}/", `{"variable_value": "x"}`, false},
		{del, "/backend/api/variables/{n}/", "", false},
	}
	for _, rt := range routes {
		for _, n := range hugeNumbers {
			path := f.Expand(strings.ReplaceAll(rt.path, "{n}", n))
			t.Run(rt.method+" "+path, func(t *testing.T) {
				req := apitest.Request{Method: rt.method, Path: path, Token: f.Srv.AdminToken}
				if rt.body != "" {
					req.Body = f.Expand(strings.ReplaceAll(rt.body, "{n}", n))
				}
				var r *apitest.Response
				f.Srv.Unchanged(t, path, func() { r = f.Srv.Send(t, req) })
				switch {
				case r.Status >= 500:
					t.Fatalf("status %d, want a 4xx; body %s", r.Status, r.Body)
				case r.Status < 400 && !rt.lenient:
					t.Fatalf("status %d, want a 4xx; body %.300s", r.Status, r.Body)
				}
			})
		}
	}
}
