package readapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestFeatureFolderVariableBadInput sends the endpoints of features,
// steps, folders and variables what they must refuse: each answer is a
// JSON error naming the problem, appends nothing, and the server keeps
// serving.
func TestFeatureFolderVariableBadInput(t *testing.T) {
	t.Parallel()
	// A small body limit, so that the oversized body fits the socket
	// buffers and the client reads the 413 instead of a reset.
	f := newFeatureFixtureWith(t, apitest.Options{BodyLimit: 64 << 10})
	f.Vars["{dir}"] = newFolder(t, f, "devops", "Dir", "")
	f.Vars["{par1}"] = newFolder(t, f, "devops", "ParFolder", "")
	f.Vars["{par2}"] = newFolder(t, f, "devops", "ParFolder", "{dir}")
	big := `{"feature_name": "` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, method, path, body, contentType string
		status                                int
		says                                  string
	}{
		{"malformed JSON", "POST", "/backend/api/features/", `{"feature_name": `, "", 400, "malformed JSON"},
		{"trailing data", "PATCH", "/backend/api/features/", `{"feature_id": {featA}} {}`, "", 400, "after the JSON value"},
		{"not JSON", "POST", "/backend/api/features/", `feature_name=x`, "text/plain", 415, "application/json"},
		{"oversized body", "POST", "/backend/api/features/", big, "", 413, ""},
		{"no body", "PATCH", "/backend/api/features/", "", "", 400, "body is required"},
		{"steps not a list", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "steps_content": "Press Enter"}`, "", 400, "steps_content"},
		{"steps of the wrong shape", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "steps": "Press Enter"}`, "", 400, "steps"},
		{"timeout as text", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "steps_content": [
				{"step_content": "Press Enter"}, {"step_content": "Press Enter", "timeout": "60"}]}`, "", 400, "step 2"},
		{"timeout out of range", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "steps_content": [
				{"step_content": "Press Enter", "timeout": 99999}]}`, "", 400, "step 1: timeout"},
		{"missing fields", "POST", "/backend/api/features/", `{"description": "nameless"}`, "", 400, "feature_name"},
		{"negative application id", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": -1, "environment_id": 1}`, "", 400, "app_id: must be a positive id, got -1"},
		{"fractional application id", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1.5, "environment_id": 1}`, "", 400, "app_id: expected integer, got number 1.5"},
		{"a run of no feature", "GET", "/backend/exectest/", "", "", 400, "feature_id: is required"},
		{"tasks of no feature", "GET", "/backend/updateTask/", "", "", 400, "feature_id: is required"},
		{"a run of feature 0", "POST", "/backend/exectest/", `{"feature_id": 0}`, "", 400,
			"feature_id: must be a positive integer, got 0"},
		{"a run of feature -1", "GET", "/backend/exectest/?feature_id=-1", "", "", 400,
			"feature_id: must be a positive integer, got -1"},
		{"a run with browsers as a string", "POST", "/backend/exectest/", `{"feature_id": {featA}, "browsers": "x"}`,
			"", 400, "browsers: a run uses the browsers of its feature"},
		{"a run with its own browsers", "POST", "/backend/exectest/",
			`{"feature_id": {featA}, "browsers": [{"browser": "firefox"}]}`, "", 400, "browsers: a run uses"},
		{"tasks of feature 0", "GET", "/backend/updateTask/?feature_id=0", "", "", 400,
			"feature_id: must be a positive integer, got 0"},
		{"runs of feature 0", "GET", "/backend/api/feature_results/?feature_id=0", "", "", 400,
			"feature_id: must be a positive integer, got 0"},
		{"results of feature -1", "GET", "/backend/api/feature_results_by_featureid/?feature_id=-1", "", "", 400,
			"feature_id: must be a positive integer, got -1"},
		{"the run list asked for one result", "GET", "/backend/api/feature_results/?feature_result_id=2", "", "", 400,
			"feature_result_id: this list takes feature_id; a single result is GET /backend/api/feature_results/"},
		{"browsers as a string", "PATCH", "/backend/api/features/", `{"feature_id": {featA}, "browsers": "x"}`,
			"", 400, "browsers: must be a JSON array"},
		{"a browser other than Chromium", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "browsers": [{"browser": "chrome"}, {"browser": "firefox"}]}`, "", 400,
			`browsers[1].browser: only Chromium is available on this server ("chrome" or "chromium"), got "firefox"`},
		{"a browser that is not an object", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "browsers": ["chrome"]}`, "", 400,
			"browsers[0]: must be a browser object"},
		{"an e-mail address that is not one", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "email_address": ["", "ann@example.com", "not an email"]}`, "", 400,
			`email_address[2]: must be an e-mail address, got "not an email"`},
		{"steps of no feature name", "GET", "/backend/stepsByName/", "", "", 400, "feature_name: is required"},
		{"unknown application", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 999, "environment_id": 1}`, "", 400, "app_id: no such object: 999"},
		{"unknown environment on edit", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "environment_id": 999}`, "", 400, "environment_id"},
		{"NUL in a name", "POST", "/backend/api/features/",
			`{"feature_name": "a\u0000b", "app_id": 1, "environment_id": 1}`, "", 400, "feature_name"},
		{"nothing visible in a name", "POST", "/backend/api/features/",
			`{"feature_name": "\u200b", "app_id": 1, "environment_id": 1}`, "", 400, "feature_name: must not be empty"},
		{"control character in a name", "POST", "/backend/api/folders/", `{"name": "a\u0007b"}`, "", 400, "name"},
		{"bad schedule", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "schedule": "every day"}`, "", 400, "schedule"},
		{"bad schedule zone", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "schedule": "0 3 * * *", "original_timezone": "Mars/Olympus"}`, "", 400,
			"original_timezone"},
		{"unknown feature", "PATCH", "/backend/api/features/", `{"feature_id": 999, "description": "x"}`, "", 404, "feature 999"},
		{"unknown feature's steps", "GET", "/backend/steps/999/", "", "", 404, "feature 999"},
		{"stale version", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "description": "late", "version": 7}`, "", 409, "not 7"},
		{"version zero", "PATCH", "/backend/api/features/", `{"feature_id": {featA}, "version": 0}`, "", 400, "version"},
		{"path and body disagree", "POST", "/backend/steps/{featA}/patch/", `{"feature_id": {featB}}`, "", 400, "feature_id"},
		{"sub-feature of another department", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "steps": [{"step_content": "Run feature with id \"{featB}\" before continuing"}]}`,
			"", 400, `no feature with id "{featB}"`},
		{"sub-feature by an ambiguous name", "POST", "/backend/api/features/",
			`{"feature_name": "x", "app_id": 1, "environment_id": 1, "steps_content": [
				{"step_content": "Run feature with name \"Twin\" before continuing"}]}`, "", 400, "more than one"},
		{"End Loop without Loop", "POST", "/backend/steps/{featA}/patch/",
			`{"steps": [{"step_content": "Press Enter"}, {"step_content": "End Loop"}]}`, "", 400, "step 2"},
		{"unknown folder", "PATCH", "/backend/api/folders/", `{"folder_id": 999, "name": "x"}`, "", 404, "folder 999"},
		{"unknown parent", "POST", "/backend/api/folders/", `{"name": "x", "parent_id": 999}`, "", 400, "parent_id"},
		{"half a move", "POST", "/backend/api/folders/", `{"old_folder": {dir}}`, "", 400, "old_folder"},
		{"feature into an unknown folder", "PATCH", "/backend/api/folder/feature/",
			`{"feature_id": {featA}, "new_folder": 999}`, "", 400, "new_folder"},
		{"feature into a folder named nowhere", "PATCH", "/backend/api/folder/feature/",
			`{"feature_id": {featA}, "new_folder": "Nowhere ✗"}`, "", 400, "Nowhere ✗"},
		{"feature into a folder name several folders have", "PATCH", "/backend/api/folder/feature/",
			`{"feature_id": {featA}, "new_folder": "ParFolder"}`, "", 400,
			`new_folder: "ParFolder" is the name of more than one folder in department {deptA}: ` +
				`give the folder id instead (one of {par1}, {par2})`},
		{"unknown variable", "DELETE", "/backend/api/variables/999/", "", "", 404, "variable 999"},
		{"variable name of the wrong type", "POST", "/backend/api/variables/",
			`{"environment_name": "Default", "variables": [{"variable_name": 5, "variable_value": "x"}]}`,
			"", 400, "variable_name"},
		{"variable in a missing scope", "POST", "/backend/api/variables/",
			`{"department": {deptA}, "environment": 999, "variable_name": "x", "variable_value": "y"}`,
			"", 400, "environment 999 does not exist"},
		{"variable of a missing feature", "POST", "/backend/api/variables/",
			`{"department": {deptA}, "environment": 1, "feature": 999, "variable_name": "x", "variable_value": "y"}`,
			"", 400, "feature 999 does not exist"},
		{"variable feature of the wrong type", "POST", "/backend/api/variables/",
			`{"department": {deptA}, "environment": 1, "feature": "seven", "variable_name": "x", "variable_value": "y"}`,
			"", 400, "feature: must be a feature id or null"},
		{"NUL in an encrypted value", "POST", "/backend/api/variables/",
			`{"department": {deptA}, "environment": 1, "variable_name": "z6", "variable_value": "a\u0000b",
				"encrypted": true, "based": "department"}`, "", 400, "variable_value: must not contain NUL"},
		{"NUL in a single variable's name", "POST", "/backend/api/variables/",
			`{"department": {deptA}, "environment": 1, "variable_name": "a\u0000b", "variable_value": "y"}`,
			"", 400, "variable_name: must not contain NUL"},
		{"NUL in a variable's new name, checked before the lookup", "PATCH", "/backend/api/variables/999/",
			`{"variable_name": "a\u0000b"}`, "", 400, "variable_name: must not contain NUL"},
		{"NUL in a batch variable's value", "POST", "/backend/api/variables/",
			`{"environment_name": "Default", "variables": [{"variable_name": "nul", "variable_value": "a\u0000b"}]}`,
			"", 400, "variables[0].variable_value: must not contain NUL"},
		{"NUL in a batch variable's name", "POST", "/backend/api/variables/",
			`{"environment_name": "Default", "variables": [{"variable_name": "a\u0000b", "variable_value": "x"}]}`,
			"", 400, "variables[0].variable_name: must not contain NUL"},
		{"single variable without keys", "POST", "/backend/api/variables/", `{"variable_value": "y"}`,
			"", 400, "environment is required."},
		{"a name listed twice", "POST", "/backend/api/variables/",
			`{"environment_name": "Default", "variables": [{"variable_name": "a", "variable_value": "1"},
				{"variable_name": "a", "variable_value": "2"}]}`, "", 400, "twice"},
	}
	newFeature(t, f, "devops", "Twin", f.DeptA)
	newFeature(t, f, "devops", "Twin", f.DeptA)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Srv.Unchanged(t, tc.name, func() {
				req := apitest.Request{Method: tc.method, Path: f.Expand(tc.path), Token: f.Tokens["devops"],
					ContentType: tc.contentType}
				if tc.body != "" {
					req.Body = f.Expand(tc.body)
				}
				r := f.Srv.Send(t, req).Want(t, tc.status)
				if tc.says != "" {
					says(tc.says)(t, f, r)
				}
			})
		})
	}
	f.Srv.Do(t, http.MethodGet, "/backend/api/features/", f.Tokens["devops"], nil).Want(t, 200)

	// Any Unicode goes, in names, steps and values.
	r := f.Srv.Do(t, http.MethodPost, "/backend/api/features/", f.Tokens["devops"], map[string]any{
		"feature_name": "Ω ≈ ç √ 🚀 \u202e עברית", "app_id": 1, "environment_id": 1,
		"steps_content": []map[string]any{stepJSON(`Send keys "日本語 \" ü"`)}}).Want(t, 201)
	field("feature_name", "Ω ≈ ç √ 🚀 \u202e עברית")(t, f, r)
}
