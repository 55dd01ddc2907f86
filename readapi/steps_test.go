package readapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// stepKinds checks the step_type and belongs_to of every step of a list
// answer, as "type:belongs_to" with placeholders expanded.
func stepKinds(key string, want ...string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	type kind struct {
		Type      string `json:"step_type"`
		BelongsTo int64  `json:"belongs_to"`
	}
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		var list []kind
		if key == "" {
			r.JSON(t, &list)
		} else {
			var wrapped struct {
				Results []kind `json:"results"`
			}
			r.JSON(t, &wrapped)
			list = wrapped.Results
		}
		if len(list) != len(want) {
			t.Fatalf("%s %s: %d steps, want %d: %s", r.Method, r.Path, len(list), len(want), r.Body)
		}
		for i, s := range list {
			if got := s.Type + ":" + strconv.FormatInt(s.BelongsTo, 10); got != f.Expand(want[i]) {
				t.Errorf("%s %s: step %d is %s, want %s", r.Method, r.Path, i+1, got, f.Expand(want[i]))
			}
		}
	}
}

func stepCases() []apitest.Case {
	const get, post = http.MethodGet, http.MethodPost
	return []apitest.Case{
		{Method: get, Path: "/backend/steps/{featWrap}/",
			Prep: func(t *testing.T, f *apitest.Fixture) {
				f.Vars["{featWrap}"] = newFeature(t, f, "devops", "Wrapper", f.DeptA,
					stepJSON(`Run feature with id "`+f.Vars["{featA}"]+`" before continuing`), stepJSON("Press Enter"))
			},
			OK: &apitest.Try{As: "devops", Status: 200, Check: stepKinds("results",
				"subfeature:{featWrap}", "substep:{featA}", "substep:{featA}", "normal:{featWrap}")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/steps/0/", Status: 400, Check: says("feature_id")},
			NA:              everyRoleViews},
		{Method: get, Path: "/steps/{featWrap}?subSteps=1",
			OK: &apitest.Try{As: "devops", Status: 200, Check: stepKinds("results",
				"substep:{featA}", "substep:{featA}", "normal:{featWrap}")},
			NA: "the bare form with ?subSteps; refusals as above"},
		{Method: post, Path: "/backend/steps/{featA}/patch/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("info.version", "3"),
				field("results.1.step_content", "Send keys \"ü ✓ 😀\""), field("info.description", "via patch")),
				Body: `{"feature_id": {featA}, "description": "via patch", "steps": [
					{"step_keyword": "Given", "step_content": "Goto URL \"https://example.com/login\"", "enabled": true},
					{"step_keyword": "and", "step_content": "Send keys \"ü ✓ 😀\"", "enabled": true},
					{"step_keyword": "and", "step_content": "Press Enter", "enabled": true}]}`},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Body: `{"description": "mine"}`},
			BadBody: &apitest.Try{As: "devops", Status: 400,
				Check: says("Infinite loop found. Trace: {featA} ➔ {featWrap} ➔ {featA}"),
				Body:  `{"steps": [{"step_content": "Run feature with id \"{featWrap}\" before continuing"}]}`},
			NA: "forbidden: every default role has edit_feature"},
		{Method: get, Path: "/backend/getJson/{featWrap}/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: stepKinds("",
				"substep:{featA}", "substep:{featA}", "substep:{featA}", "normal:{featWrap}")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/getJson/x/", Status: 400, Check: says("feature_id")},
			NA:              everyRoleViews},
		{Method: get, Path: "/backend/stepsByName/?feature_name=Login%20A",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: field("results.0.feature_id", "{featA}")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: field("results", "[]")},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/stepsByName/", Status: 400, Check: says("feature_name")},
			NA:              everyRoleViews},
		{Method: get, Path: "/backend/stepsByName",
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"feature_name": "Login A"}`,
				Check: all(field("results.0.feature_id", "{featA}"), field("results.2.step_content", "Press Enter"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Body: `{"feature_name": "Login A"}`,
				Check: field("results", "[]")},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"feature_name": 7}`,
				Check: says("feature_name: expected string")},
			NA: "the seed's GET with a JSON body, without the slash; " + everyRoleViews},
		{Method: post, Path: "/backend/stepsByName/",
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"feature_name": "Login A"}`,
				Check: field("results.2.step_content", "Press Enter")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Body: `{"feature_name": "Login A"}`,
				Check: field("results", "[]")},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"feature_name": ["Login A"]}`,
				Check: says("feature_name: expected string")},
			NA: everyRoleViews},
	}
}
