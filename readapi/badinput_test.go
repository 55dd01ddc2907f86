package readapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestCoreBadInput sends malformed, mistyped, incomplete, oversized and
// misaddressed requests to the core endpoints: each gets a 4xx JSON error
// naming the problem, appends nothing, and the server keeps serving.
func TestCoreBadInput(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{BodyLimit: 64 << 10})
	f := apitest.NewFixture(t, srv)
	big := `{"department_name": "` + strings.Repeat("x", 70<<10) + `"}`

	tests := []struct {
		name, method, path, as string
		body                   string
		contentType            string
		status                 int
		// want are substrings of the error; fields are the fields the
		// answer must name.
		want   string
		fields []string
	}{
		{"malformed JSON", post, "/backend/api/accounts/", "admin", `{"name": "x",`, "", 400, "malformed JSON", nil},
		{"not an object", post, "/backend/api/departments/", "admin", `[1, 2]`, "", 400, "expected object", nil},
		{"trailing data", post, "/backend/api/departments/", "admin", `{"department_name": "x"} {}`, "", 400, "after the JSON value", nil},
		{"wrong type", post, "/backend/api/accounts/", "admin",
			`{"name": "x", "email": "x@example.test", "departments": "1"}`, "", 400, "departments: expected array",
			[]string{"departments"}},
		{"wrong element type", post, "/backend/api/accounts/", "admin",
			`{"name": "x", "email": "x@example.test", "departments": [1.5]}`, "", 400, "departments", []string{"departments"}},
		{"missing fields", post, "/backend/api/accounts/", "admin", `{}`, "", 400, "", []string{"name", "email"}},
		{"unknown field", post, "/backend/api/accounts/", "admin",
			`{"name": "x", "email": "x@example.test", "role": "SUPERUSER"}`, "", 400, `role: unknown field`, []string{"role"}},
		{"unknown role", post, "/backend/api/accounts/", "admin",
			`{"name": "x", "email": "x@example.test", "permission_name": "ROOT"}`, "", 400, "unknown role", []string{"permission_name"}},
		{"unknown department", post, "/backend/api/accounts/", "admin",
			`{"name": "x", "email": "x@example.test", "departments": [999]}`, "", 400, "department 999 does not exist", []string{"departments"}},
		{"membership outside one's departments", patch, "/backend/api/accounts/{devopsB}/", "manager",
			`{"name": "x", "email": "x@example.test"}`, "", 403, "edit_account", nil},
		{"higher role than one's own", patch, "/backend/api/accounts/{devops}/", "devops",
			`{"name": "Test DEVOPS", "email": "x@example.test", "permission_name": "SUPERUSER"}`, "", 403, "higher power", nil},
		{"own departments without edit_account", patch, "/backend/api/accounts/{anonymous}/", "anonymous",
			`{"name": "x", "email": "x@example.test", "departments": [{deptA}, {deptB}]}`, "", 403, "departments", nil},
		{"NUL in a name", post, "/backend/api/departments/", "admin", `{"department_name": "a\u0000b"}`, "", 400, "control characters", []string{"department_name"}},
		{"bytes that are not UTF-8", post, "/backend/api/departments/", "admin", "{\"department_name\": \"a\xff\xfeb\"}", "", 400,
			"body is not valid UTF-8 (at byte 22)", nil},
		{"half a surrogate pair", post, "/backend/api/departments/", "admin", `{"department_name": "a\ud800b"}`, "", 400,
			`unpaired surrogate escape \ud800 at byte 22`, nil},
		{"a low surrogate alone", post, "/backend/api/departments/", "admin", `{"department_name": "\\\udc00"}`, "", 400,
			`unpaired surrogate escape \udc00`, nil},
		{"nothing visible in a name", post, "/backend/api/departments/", "admin", `{"department_name": " \u200b\u2060 "}`, "", 400,
			"must not be empty", []string{"department_name"}},
		{"a Hangul filler for a name", post, "/backend/api/applications/", "admin", `{"app_name": "\u3164"}`, "", 400,
			"must not be empty", []string{"app_name"}},
		{"blank braille and a variation selector for a name", post, "/backend/api/environments/", "admin",
			`{"environment_name": "\u2800\ufe0f\u034f"}`, "", 400, "must not be empty", []string{"environment_name"}},
		{"newline in a name", post, "/backend/api/applications/", "admin", `{"app_name": "a\nb"}`, "", 400, "control characters", []string{"app_name"}},
		{"name too long", post, "/backend/api/departments/", "admin",
			`{"department_name": "` + strings.Repeat("ä", 101) + `"}`, "", 400, "longer than 100", []string{"department_name"}},
		{"empty body", post, "/backend/api/environments/", "admin", "", "", 400, "body is required", nil},
		{"null name", post, "/backend/api/environments/", "admin", `{"environment_name": null}`, "", 400, "is required", []string{"environment_name"}},
		{"wrong content type", post, "/backend/api/departments/", "admin", `{"department_name": "x"}`, "text/plain", 415, "application/json", nil},
		{"oversized body", post, "/backend/api/departments/", "admin", big, "", 413, "", nil},
		{"a page size too large to read", get, "/backend/api/events/?size=99999999999999999999", "admin", "", "", 400,
			"size: 99999999999999999999 is too large: a page holds at most 5000", []string{"size"}},
		{"a list page size too large to read", get, "/backend/api/accounts/?size=99999999999999999999", "admin", "", "",
			400, "size: 99999999999999999999 is too large: a page holds at most 5000", []string{"size"}},
		{"a results page size too large to read", get, "/backend/api/feature_results/?feature_id=1&size=99999999999999999999",
			"admin", "", "", 400, "size: 99999999999999999999 is too large: a page holds at most 5000", []string{"size"}},
		{"a feature id too large to read", get, "/backend/api/feature_results/?feature_id=99999999999999999999", "admin", "", "",
			400, "feature_id: 99999999999999999999 is too large: the maximum is 9223372036854775807", []string{"feature_id"}},
		{"a page number too large to read", get, "/backend/api/accounts/?page=99999999999999999999", "admin", "", "",
			400, "page: 99999999999999999999 is too large", []string{"page"}},
		{"an event seq too large to read", get, "/backend/api/events/?after=99999999999999999999", "admin", "", "",
			400, "after: 99999999999999999999 is too large: the maximum is 9223372036854775807", []string{"after"}},
		{"id out of range", del, "/backend/api/accounts/99999999999999999999/", "admin", "", "", 400, "user_id", []string{"user_id"}},
		{"unknown account", patch, "/backend/api/accounts/4040/", "admin", `{"name": "x", "email": "x@example.test"}`, "", 404, "account 4040", nil},
		{"unknown department", del, "/backend/api/departments/4040/", "admin", "", "", 404, "department 4040", nil},
		{"unknown application", patch, "/backend/api/applications/4040/x/", "admin", "", "", 404, "application 4040", nil},
		{"no token", get, "/backend/api/departments/", "", "", "", 401, "Bearer", nil},
		{"unknown token", get, "/backend/api/departments/", "nobody", "", "", 401, "unknown or revoked", nil},
		{"unknown route", get, "/backend/api/nothing/", "admin", "", "", 404, "Cannot GET", nil},
		{"wrong method", http.MethodPut, "/backend/api/departments/", "admin", `{}`, "", 405, "Method Not Allowed", nil},
		{"neither body nor query to encrypt", get, "/backend/encrypt/", "admin", "", "", 400,
			`text: is required: the text to encrypt or decrypt; action: is required: "encrypt" or "decrypt"`,
			[]string{"text", "action"}},
		{"nothing to encrypt", post, "/backend/encrypt/", "admin", `{"action": "encrypt"}`, "", 400, "text: is required", []string{"text"}},
		{"a key given twice", post, "/backend/api/departments/", "admin",
			`{"department_name": "A", "department_name": "B"}`, "", 400, `duplicate key "department_name"`, nil},
		{"a key given twice in another letter case", post, "/backend/api/departments/", "admin",
			`{"department_name": "A", "DEPARTMENT_NAME": "B"}`, "", 400, `duplicate key "DEPARTMENT_NAME"`, nil},
		{"a run request naming its feature twice", post, "/backend/exectest/", "admin",
			`{"feature_id": 999, "Feature_ID": 1}`, "", 400, `duplicate key "Feature_ID"`, nil},
		{"a key given twice in a nested object", post, "/backend/api/variables/", "admin",
			`{"environment_name": "Default", "variables": [{"variable_name": "x"}, {"variable_name": "y", "variable_value": "1", "variable_value": "2"}]}`,
			"", 400, `duplicate key "variable_value"`, nil},
		{"a value of the wrong type", post, "/backend/api/departments/", "admin", `{"department_name": 5}`, "", 400,
			"department_name: expected string, got number", []string{"department_name"}},
		{"bad decrypt input", post, "/backend/encrypt/", "admin", `{"action": "decrypt", "text": "U2FsdGVkX1 not base64"}`, "", 400, "not a value encrypted", []string{"text"}},
	}
	f.Tokens["nobody"] = "cmt_not-a-token"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := apitest.Request{Method: tc.method, Path: f.Expand(tc.path), Token: f.Tokens[tc.as], ContentType: tc.contentType}
			if tc.body != "" {
				req.Body = f.Expand(tc.body)
			} else if tc.method == post || tc.method == patch {
				req.Body = []byte{}
			}
			var r *apitest.Response
			srv.Unchanged(t, tc.name, func() { r = srv.Send(t, req) })
			r.Want(t, tc.status)
			var body struct {
				Success *bool  `json:"success"`
				Error   string `json:"error"`
				Fields  []struct {
					Field string `json:"field"`
				} `json:"fields"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Success == nil || *body.Success || body.Error == "" {
				t.Fatalf("body %q, want {\"success\": false, \"error\": ...}", r.Body)
			}
			if !strings.Contains(body.Error, tc.want) {
				t.Errorf("error %q, want it to name %q", body.Error, tc.want)
			}
			var named []string
			for _, fl := range body.Fields {
				named = append(named, fl.Field)
			}
			if strings.Join(named, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields %v, want %v (error %q)", named, tc.fields, body.Error)
			}
		})
	}

	// Any Unicode that is text is a valid name, and comes back as sent.
	for _, name := range []string{"مرحبا بالعالم", "👩‍👩‍👧 family", "e\u0301 combining", "日本語の部署", "Ω≈ç√∫"} {
		var got map[string]any
		srv.Do(t, post, "/backend/api/departments/", srv.AdminToken, map[string]any{"department_name": name}).
			Want(t, http.StatusCreated).JSON(t, &got)
		if got["department_name"] != name {
			t.Errorf("department %q came back as %q", name, got["department_name"])
		}
	}
	// Escapes are text too: a whole surrogate pair, and a backslash before
	// a "u" that starts no escape.
	var got map[string]any
	srv.Send(t, apitest.Request{Method: post, Path: "/backend/api/departments/", Token: srv.AdminToken,
		Body: `{"department_name": "\ud83d\ude80 \\ud800"}`}).Want(t, http.StatusCreated).JSON(t, &got)
	if got["department_name"] != `🚀 \ud800` {
		t.Errorf("escaped department name came back as %q", got["department_name"])
	}
	// The same key in two objects, or as a value, is no duplicate.
	srv.Do(t, post, "/backend/api/variables/", srv.AdminToken, map[string]any{"environment_name": "Default",
		"department_id": 1, "variables": []map[string]any{{"variable_name": "variable_name", "variable_value": "a"},
			{"variable_name": "second", "variable_value": "variable_value"}}}).Want(t, http.StatusCreated)
	srv.Do(t, get, "/backend/info/", "", nil).Want(t, http.StatusOK)
}
