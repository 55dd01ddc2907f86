package readapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestTextPostgreSQLCannotHold sends a NUL or bytes that are not UTF-8 in
// every kind of text the API looks something up by: path parameters,
// query parameters and the lookup fields of bodies. Each is a 400 naming
// the parameter or field, appends nothing, and no query reaches PostgreSQL
// with it (which would answer 500).
func TestTextPostgreSQLCannotHold(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	cases := []struct {
		name, method, path, body string
		// field is what the error must name.
		field string
	}{
		{"NUL in a path parameter", "GET", "/backend/api/variables/a%00b/", "", "environment_name: must not contain NUL"},
		{"bad UTF-8 in a path parameter", "GET", "/backend/api/variables/%ff/", "", "environment_name: must be valid UTF-8"},
		{"NUL in a query", "GET", "/backend/stepsByName/?feature_name=a%00b", "", "feature_name: must not contain NUL"},
		{"NUL in a body lookup", "POST", "/backend/stepsByName/", `{"feature_name": "a\u0000b"}`,
			"feature_name: must not contain NUL"},
		{"event stream", "GET", "/backend/api/events/?stream=a%00b", "", "stream: must not contain NUL"},
		{"event type", "GET", "/backend/api/events/?event_type=a%00b", "", "event_type: must not contain NUL"},
		{"event actor", "GET", "/backend/api/events/?actor=a%00b", "", "actor: must not contain NUL"},
		{"event correlation", "GET", "/backend/api/events/?correlation_id=a%00b", "", "correlation_id: must not"},
		{"audit stream", "GET", "/backend/api/departments/{deptA}/audit/?stream=a%00b", "", "stream: must not"},
		{"audit correlation", "GET", "/backend/api/departments/{deptA}/audit/?correlation_id=%ff", "",
			"correlation_id: must be valid UTF-8"},
		{"folder name", "PATCH", "/backend/api/folder/feature/", `{"feature_id": {featA}, "new_folder": "a\u0000b"}`,
			"new_folder: must not contain NUL"},
		{"batch environment", "POST", "/backend/api/variables/",
			`{"environment_name": "a\u0000b", "department_id": {deptA}, "variables": [{"variable_name": "q", "variable_value": "1"}]}`,
			"environment_name: must not contain NUL"},
		{"batch variable name", "POST", "/backend/api/variables/",
			`{"environment_name": "Default", "department_id": {deptA}, "variables": [{"variable_name": "q\u0000", "variable_value": "1"}]}`,
			"variables[0].variable_name: must not contain NUL"},
		{"sub-feature name", "PATCH", "/backend/api/features/",
			`{"feature_id": {featA}, "steps": [{"step_content": "Run feature with name \"a\u0000b\" before continuing"}]}`,
			"step 1: step_content"},
		{"live stream", "GET", "/backend/api/live/?stream=a%00b", "", "stream: must not contain NUL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Srv.Unchanged(t, tc.name, func() {
				req := apitest.Request{Method: tc.method, Path: f.Expand(tc.path), Token: f.Tokens["admin"]}
				if tc.body != "" {
					req.Body = f.Expand(tc.body)
				}
				r := f.Srv.Send(t, req).Want(t, http.StatusBadRequest)
				says(tc.field)(t, f, r)
			})
		})
	}
	if logs := f.Srv.Logs.String(); strings.Contains(logs, "SQLSTATE 22021") {
		t.Errorf("a query got text PostgreSQL cannot hold; log:\n%s", logs)
	}
}
