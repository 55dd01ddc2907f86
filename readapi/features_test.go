package readapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// says checks that a refusal has Cometa's error shape and names the
// problem.
func says(substr string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		m := r.Map(t)
		msg, _ := m["error"].(string)
		if want := f.Expand(substr); m["success"] != false || !strings.Contains(msg, want) {
			t.Errorf("%s %s: body %s, want an error containing %q", r.Method, r.Path, r.Body, want)
		}
	}
}

// listsExactly checks that the list at key (the bare array when key is "")
// holds the objects whose idKey are the placeholders' ids, in that order.
func listsExactly(key, idKey string, placeholders ...string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		var list []map[string]any
		if key == "" {
			r.JSON(t, &list)
		} else {
			var m map[string]json.RawMessage
			r.JSON(t, &m)
			if err := json.Unmarshal(m[key], &list); err != nil {
				t.Fatalf("%s: %s is not a list: %s", r.Path, key, r.Body)
			}
		}
		got, want := []string{}, []string{}
		for _, item := range list {
			got = append(got, fmt.Sprint(item[idKey]))
		}
		for _, p := range placeholders {
			want = append(want, f.Expand(p))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s %s: %s = %v, want %v", r.Method, r.Path, idKey, got, want)
		}
	}
}

// field checks one value of the answer, at a dotted path ("info.version",
// "results.0.feature_id"), against want (placeholders expanded).
func field(path, want string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		if got := lookup(t, r, path); got != f.Expand(want) {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, path, got, f.Expand(want))
		}
	}
}

// lookup returns the value at a dotted path of the answer, printed.
func lookup(t *testing.T, r *apitest.Response, path string) string {
	t.Helper()
	var v any
	r.JSON(t, &v)
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i >= len(node) {
				return "<missing>"
			}
			v = node[i]
		default:
			return "<missing>"
		}
	}
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func all(checks ...func(*testing.T, *apitest.Fixture, *apitest.Response)) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		for _, c := range checks {
			c(t, f, r)
		}
	}
}

// stepJSON is a step as Cometa's UI sends it.
func stepJSON(content string) map[string]any {
	return map[string]any{"step_keyword": "Given", "step_content": content, "enabled": true,
		"screenshot": false, "compare": false, "step_type": "normal", "continue_on_failure": false, "timeout": 60}
}

// newFeature creates a feature through the API as user and returns its id.
func newFeature(t *testing.T, f *apitest.Fixture, user, name string, department int64, steps ...map[string]any) string {
	t.Helper()
	if steps == nil {
		steps = []map[string]any{}
	}
	var out struct {
		ID int64 `json:"feature_id"`
	}
	f.Srv.Do(t, http.MethodPost, "/backend/api/features/", f.Tokens[user], map[string]any{
		"feature_name": name, "app_id": 1, "environment_id": 1, "department_id": department,
		"steps": map[string]any{"steps_content": steps},
	}).Want(t, http.StatusCreated).JSON(t, &out)
	return strconv.FormatInt(out.ID, 10)
}

// newFeatureFixture is the apitest fixture with {featA} (department A, by
// devops, two steps) and {featB} (department B, by devopsB).
func newFeatureFixture(t *testing.T) *apitest.Fixture {
	t.Helper()
	return newFeatureFixtureWith(t, apitest.Options{})
}

// newFeatureFixtureWith is newFeatureFixture on a server with opts.
func newFeatureFixtureWith(t *testing.T, opts apitest.Options) *apitest.Fixture {
	t.Helper()
	f := apitest.NewFixture(t, apitest.Start(t, opts))
	f.Vars["{featA}"] = newFeature(t, f, "devops", "Login A", f.DeptA,
		stepJSON(`Goto URL "https://example.com/login"`), stepJSON("Press Enter"))
	f.Vars["{featB}"] = newFeature(t, f, "devopsB", "Login B", f.DeptB, stepJSON("Press Enter"))
	return f
}

const everyRoleViews = "forbidden: every default role has view_feature"

func featureCases() []apitest.Case {
	const (
		get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
		everyRoleCreates      = "forbidden: every default role has create_feature and edit_feature"
	)
	seedBody := `{"feature_name": "Seed ✓ Ünïcode 功能", "app_id": 1, "app_name": "stale", "description": "d",
		"environment_id": 1, "environment_name": "stale", "browser_id": 1, "browser_name": "chrome",
		"browser_code": "x", "department_id": {deptA}, "department_name": "stale", "steps": 2,
		"steps_content": [
			{"step_keyword": "Given", "step_content": "Goto URL \"https://example.com/\"", "enabled": true},
			{"step_keyword": "and", "step_content": "Press Enter", "enabled": false}],
		"wait": false, "browsers": [], "cloud": "local", "depends_on_other": true, "send_mail": false,
		"original_timezone": "Europe/Berlin", "schedule": "30 2 * * 1-5",
		"email_address": [" a@example.test ", ""], "email_subject": "", "email_body": "", "last_edited": 1,
		"video": false}`
	return []apitest.Case{
		{Method: get, Path: "/backend/api/features/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: listsExactly("results", "feature_id", "{featA}")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: listsExactly("results", "feature_id", "{featB}")},
			NA:              everyRoleViews + "; bad body: the list takes no input"},
		{Method: get, Path: "/api/features",
			OK: &apitest.Try{As: "admin", Status: 200, Check: listsExactly("results", "feature_id", "{featA}", "{featB}")},
			NA: "SUPERUSER sees every department's features; the bare form without the slash; refusals as above"},
		{Method: get, Path: "/backend/api/features/{featA}/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("results.0.feature_id", "{featA}"),
				field("results.0.created_by.user_id", "{devops}"), field("results.0.steps", "2"),
				field("results.0.version", "1"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Check: says("feature {featA}: not found")},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/api/features/abc/", Status: 400, Check: says("feature_id")},
			NA:              everyRoleViews},
		{Method: post, Path: "/api/features/",
			OK: &apitest.Try{As: "devops", Body: seedBody, Status: 201, Check: all(
				field("feature_name", "Seed ✓ Ünïcode 功能"), field("steps", "1"), field("department_name", "Default"),
				field("app_name", "Default"), field("depends_on_others", "true"), field("video", "false"),
				field("email_address", `["a@example.test"]`), field("created_by.user_id", "{devops}"),
				field("schedule", "30 2 * * 1-5"), field("original_timezone", "Europe/Berlin"))},
			OtherDepartment: &apitest.Try{As: "devops", Status: 403, Check: says("not a member of department {deptB}"),
				Body: `{"feature_name": "x", "app_id": 1, "environment_id": 1, "department_id": {deptB}}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Check: says(
				"step 2: step_content: unknown step: Press Entr (the closest known step is: Press Enter)"),
				Body: `{"feature_name": "x", "app_id": 1, "environment_id": 1, "steps_content": [
					{"step_content": "Press Enter"}, {"step_content": "Press Entr"}]}`},
			NA: everyRoleCreates},
		{Method: post, Path: "/backend/api/features",
			OK: &apitest.Try{As: "devopsB", Status: 201, Check: all(field("department_id", "{deptB}"), field("steps", "1")),
				Body: `{"feature_name": "B's own", "app_id": 1, "environment_id": 1,
					"steps": {"steps_content": [{"step_content": "Press Enter"}], "screenshots": []}}`},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 403, Check: says("not a member"),
				Body: `{"feature_name": "x", "app_id": 1, "environment_id": 1, "department_id": {deptA}}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Check: says("feature_name: expected string"),
				Body: `{"feature_name": 5, "app_id": 1, "environment_id": 1}`},
			NA: everyRoleCreates},
		{Method: patch, Path: "/backend/api/features/",
			OK: &apitest.Try{As: "manager", Status: 200, Check: all(field("info.description", "edited ✓"),
				field("info.version", "2"), field("info.steps", "2"), field("info.last_edited.user_id", "{manager}"),
				field("info.created_by.user_id", "{devops}")),
				Body: `{"feature_id": {featA}, "description": "edited ✓", "version": 1}`},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Check: says("not found"),
				Body: `{"feature_id": {featA}, "description": "mine now"}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Check: says("Multi level loop are not allowed."),
				Body: `{"feature_id": {featA}, "steps": {"steps_content": [
					{"step_content": "Loop \"2\" times starting at \"1\" and do"},
					{"step_content": "Loop \"2\" times starting at \"1\" and do"},
					{"step_content": "End Loop"}, {"step_content": "End Loop"}]}}`},
			NA: everyRoleCreates},
		{Method: patch, Path: "/api/features",
			OK: &apitest.Try{As: "anonymous", Status: 201, Check: all(field("success", "true"),
				field("info.feature_name", "Made by PATCH"), field("info.department_id", "{deptA}")),
				Body: `{"feature_id": 0, "feature_name": "Made by PATCH", "app_id": 1, "environment_id": 1}`},
			OtherDepartment: &apitest.Try{As: "devops", Status: 403, Check: says("not a member"),
				Body: `{"feature_id": 0, "feature_name": "x", "app_id": 1, "environment_id": 1, "department_id": {deptB}}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Check: says("feature_id"), Body: `{"feature_name": "x"}`},
			NA:      everyRoleCreates},
		{Method: del, Path: "/backend/api/features/{featDel}/",
			Prep: func(t *testing.T, f *apitest.Fixture) {
				f.Vars["{featDel}"] = newFeature(t, f, "devops", "To delete", f.DeptA)
				f.Vars["{featKeep}"] = newFeature(t, f, "devops", "To keep", f.DeptA)
			},
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				f.Srv.Do(t, get, f.Expand("/backend/api/features/{featDel}/"), f.Tokens["devops"], nil).Want(t, 404)
			}},
			Forbidden: &apitest.Try{As: "manager", Path: "/backend/api/features/{featKeep}/", Status: 403,
				Check: says("Missing permission 'delete_feature'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/api/features/{featKeep}/", Status: 404},
			BadBody:         &apitest.Try{As: "devops", Path: "/backend/api/features/-3/", Status: 400, Check: says("feature_id")},
		},
	}
}

func TestFeatureEndpoints(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	apitest.RunCases(t, f, featureCases())
	apitest.RunCases(t, f, stepCases())
	sameAfterRebuild(t, f, map[string][]string{
		"devops": {"/backend/api/features/", "/backend/api/features/{featA}/", "/backend/steps/{featA}/",
			"/backend/steps/{featWrap}/", "/backend/steps/{featWrap}/?subSteps", "/backend/getJson/{featWrap}/",
			"/backend/stepsByName/?feature_name=Login%20A"},
		"admin":   {"/backend/api/features/"},
		"devopsB": {"/backend/api/features/"},
	})
}

// sameAfterRebuild fetches the paths as each user, rebuilds every read
// model from the log, and fails unless every answer is byte for byte the
// same.
func sameAfterRebuild(t *testing.T, f *apitest.Fixture, paths map[string][]string) {
	t.Helper()
	fetch := func() map[string][]byte {
		out := map[string][]byte{}
		for user, list := range paths {
			for _, p := range list {
				r := f.Srv.Do(t, http.MethodGet, f.Expand(p), f.Tokens[user], nil).Want(t, 200)
				out[user+" "+p] = r.Body
			}
		}
		return out
	}
	before := fetch()
	if _, err := f.Srv.Manager.Rebuild(context.Background(), nil); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	for key, body := range fetch() {
		if !bytes.Equal(body, before[key]) {
			t.Errorf("GET %s after a rebuild:\n%s\nbefore:\n%s", key, body, before[key])
		}
	}
}

func TestFeatureFixtureRoundTrip(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	raw, err := os.ReadFile("testdata/first-testcase.steps.json")
	if err != nil {
		t.Fatal(err)
	}
	var sent []map[string]any
	if err := json.Unmarshal(raw, &sent); err != nil {
		t.Fatal(err)
	}
	id := newFeature(t, f, "devops", "First testcase", f.DeptA, sent...)

	var got struct {
		Results []map[string]any `json:"results"`
	}
	f.Srv.Do(t, http.MethodGet, "/backend/steps/"+id+"/", f.Tokens["devops"], nil).Want(t, 200).JSON(t, &got)
	if len(got.Results) != len(sent) {
		t.Fatalf("%d steps back, sent %d", len(got.Results), len(sent))
	}
	for i, s := range sent {
		for key, want := range s {
			if back := got.Results[i][key]; fmt.Sprint(back) != fmt.Sprint(want) {
				t.Errorf("step %d: %s = %v, sent %v", i+1, key, back, want)
			}
		}
	}

	// Sent back as the UI does (with ids), nothing changes: no new version.
	f.Srv.Do(t, http.MethodPost, "/backend/steps/"+id+"/patch/", f.Tokens["devops"],
		map[string]any{"steps": got.Results}).Want(t, 200)
	var feature struct {
		Results []struct {
			Version int `json:"version"`
		} `json:"results"`
	}
	f.Srv.Do(t, http.MethodGet, "/backend/api/features/"+id+"/", f.Tokens["devops"], nil).Want(t, 200).JSON(t, &feature)
	if feature.Results[0].Version != 1 {
		t.Errorf("sending the steps back unchanged made version %d", feature.Results[0].Version)
	}
}

// TestFeatureNamesAfterCatalogRename renames a feature's application and
// environment: the feature reads with the new names at once, a save
// afterwards stores them, and so does a run requested afterwards, even
// when the save sends the old names and the same ids.
func TestFeatureNamesAfterCatalogRename(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	created("{app}", "/backend/api/applications/", "app_id", map[string]any{"app_name": "Shop"})(t, f)
	created("{env}", "/backend/api/environments/", "environment_id",
		map[string]any{"environment_name": "Staging"})(t, f)
	var out struct {
		ID int64 `json:"feature_id"`
	}
	f.Srv.Do(t, http.MethodPost, "/backend/api/features/", f.Tokens["devops"], f.Expand(`{"feature_name": "Checkout",
		"app_id": {app}, "environment_id": {env}, "department_id": {deptA},
		"steps": {"steps_content": [{"step_keyword": "Given", "step_content": "Press Enter", "enabled": true}]}}`)).
		Want(t, http.StatusCreated).JSON(t, &out)
	feat := strconv.FormatInt(out.ID, 10)

	f.Srv.Do(t, http.MethodPatch, f.Expand("/backend/api/applications/{app}/Shop2/"), f.Srv.AdminToken, nil).Want(t, 200)
	f.Srv.Do(t, http.MethodPatch, f.Expand("/backend/api/environments/{env}/Stage2/"), f.Srv.AdminToken, nil).Want(t, 200)
	settleAll(t, f.Srv)
	r := f.Srv.Do(t, http.MethodGet, "/backend/api/features/"+feat+"/", f.Tokens["devops"], nil).Want(t, 200)
	all(field("results.0.app_name", "Shop2"), field("results.0.environment_name", "Stage2"))(t, f, r)

	f.Srv.Do(t, http.MethodPatch, "/backend/api/features/", f.Tokens["devops"], f.Expand(`{"feature_id": `+feat+`,
		"app_id": {app}, "app_name": "Shop", "environment_id": {env}, "environment_name": "Staging",
		"description": "after the renames"}`)).Want(t, 200)
	saved := lastEventData(t, f.Srv, "feature-"+feat, "FeatureSaved")
	if got := saved["definition"].(map[string]any); got["app_name"] != "Shop2" || got["environment_name"] != "Stage2" {
		t.Errorf("FeatureSaved after the renames has app_name %v, environment_name %v; want Shop2, Stage2",
			got["app_name"], got["environment_name"])
	}

	f.Srv.Do(t, http.MethodPatch, f.Expand("/backend/api/applications/{app}/Shop3/"), f.Srv.AdminToken, nil).Want(t, 200)
	run := execTest(t, f, "devops", out.ID)
	requested := lastEventData(t, f.Srv, fmt.Sprintf("run-%d", run.RunID), "RunRequested")
	if requested["app_name"] != "Shop3" || requested["environment_name"] != "Stage2" {
		t.Errorf("RunRequested after the renames has app_name %v, environment_name %v; want Shop3, Stage2",
			requested["app_name"], requested["environment_name"])
	}
}

// lastEventData returns the data of the last event of the type in stream.
func lastEventData(t *testing.T, srv *apitest.Server, stream, eventType string) map[string]any {
	t.Helper()
	var data map[string]any
	err := srv.Pool.QueryRow(context.Background(), `SELECT data FROM eventlog.events
		WHERE stream = $1 AND type = $2 ORDER BY revision DESC LIMIT 1`, stream, eventType).Scan(&data)
	if err != nil {
		t.Fatalf("last %s of %s: %v", eventType, stream, err)
	}
	return data
}
