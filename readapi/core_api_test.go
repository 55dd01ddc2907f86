package readapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
	"github.com/cometa-es/cometa/runner/steps"
)

// Shorthands for the tables.
const (
	get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	onlySuperuser         = "only SUPERUSER has the flag among the default roles, and it sees every department"
	global                = "the catalogue belongs to no department, as in Cometa"
)

// wantError checks a refusal's body: Cometa's shape, and text naming the
// problem.
func wantError(substr string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		m := r.Map(t)
		msg, _ := m["error"].(string)
		if m["success"] != false || !strings.Contains(msg, substr) {
			t.Errorf("%s %s: body %s, want an error containing %q", r.Method, r.Path, r.Body, substr)
		}
	}
}

// wantIDs checks that a list answer (at key, or the bare array when key is
// "") holds exactly the ids under idKey.
func wantIDs(key, idKey string, want ...int64) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		var list []map[string]any
		if key == "" {
			r.JSON(t, &list)
		} else {
			var m map[string]json.RawMessage
			r.JSON(t, &m)
			if err := json.Unmarshal(m[key], &list); err != nil {
				t.Fatalf("%s %s: %s: %v", r.Method, r.Path, key, err)
			}
		}
		var got []int64
		for _, item := range list {
			n, _ := item[idKey].(float64)
			got = append(got, int64(n))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s %s: %s = %v, want %v", r.Method, r.Path, idKey, got, want)
		}
	}
}

// created makes an object through the API as admin in Prep and stores
// its id under the placeholder.
func created(placeholder, path, idKey string, body any) func(*testing.T, *apitest.Fixture) {
	return func(t *testing.T, f *apitest.Fixture) {
		t.Helper()
		var out map[string]any
		f.Srv.Do(t, post, path, f.Srv.AdminToken, body).Want(t, http.StatusCreated).JSON(t, &out)
		f.Vars[placeholder] = strconv.FormatFloat(out[idKey].(float64), 'f', -1, 64)
	}
}

func TestCoreEndpoints(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	apitest.RunCases(t, f, accountCases(f))
	apitest.RunCases(t, f, departmentCases(f))
	apitest.RunCases(t, f, catalogCases())
	apitest.RunCases(t, f, serverCases())
}

// PATCH /api/environments/<id>/<name>/ takes the id and the new name from
// its path; a body that names another one is refused and changes nothing,
// one that agrees, or names neither, is accepted.
func TestRenameEnvironmentBody(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	created("{env}", "/api/environments/", "environment_id", map[string]any{"environment_name": "temp"})(t, f)
	srv.Unchanged(t, "a body naming another name", func() {
		r := srv.Do(t, patch, f.Expand("/backend/api/environments/{env}/qa/"), srv.AdminToken,
			map[string]any{"environment_name": "staging"}).Want(t, 400)
		wantError(`environment_name: the body says "staging" but the path says "qa"`)(t, f, r)
	})
	srv.Unchanged(t, "a body that is not an object", func() {
		srv.Do(t, patch, f.Expand("/backend/api/environments/{env}/qa/"), srv.AdminToken, `[1]`).Want(t, 400)
	})
	srv.Unchanged(t, "a body naming another id", func() {
		r := srv.Do(t, patch, f.Expand("/backend/api/environments/{env}/qa/"), srv.AdminToken,
			map[string]any{"environment_name": "qa", "environment_id": 1}).Want(t, 400)
		wantError(f.Expand("environment_id: the body says 1 but the path says {env}"))(t, f, r)
	})
	srv.Do(t, patch, f.Expand("/backend/api/environments/{env}/qa/"), srv.AdminToken,
		f.Expand(`{"environment_name": "qa", "environment_id": {env}, "created_on": "2026-01-01"}`)).Want(t, 200)
	wantListed("/backend/api/environments/", `"environment_name":"qa"`)(t, f, nil)
	srv.Do(t, patch, f.Expand("/backend/api/environments/{env}/prod/"), srv.AdminToken, nil).Want(t, 200)
	wantListed("/backend/api/environments/", `"environment_name":"prod"`)(t, f, nil)
}

func accountCases(f *apitest.Fixture) []apitest.Case {
	unique := func(name string) string { return fmt.Sprintf(`%s-%d@example.test`, name, len(f.Vars)) }
	return []apitest.Case{
		{Method: get, Path: "/backend/api/accounts/",
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				if n := r.Map(t)["count"].(float64); n != 6 {
					t.Errorf("count = %v, want the 6 accounts of the fixture", n)
				}
			}},
			Forbidden: &apitest.Try{As: "devops", Status: 403,
				Check: wantError("Missing permission 'view_accounts||view_accounts_panel'.")},
			BadBody: &apitest.Try{As: "admin", Path: "/backend/api/accounts/?page=first", Status: 400, Check: wantError("page")},
			NA:      "other department: " + onlySuperuser},
		{Method: get, Path: "/api/accounts?search=devops&size=1",
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				m := r.Map(t)
				if m["count"].(float64) != 2 || len(m["results"].([]any)) != 1 || m["next"] == nil {
					t.Errorf("search for devops, one per page: %s", r.Body)
				}
			}},
			NA: "the form without /backend and slash, with search and paging; refusals as above"},
		{Method: post, Path: "/backend/api/accounts/",
			OK: &apitest.Try{As: "admin", Status: 201,
				Body: `{"name": "Zoë Ünal", "email": "zoe@example.test", "permission_name": "DEVOPS", "departments": [{deptB}]}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					m := r.Map(t)
					token, _ := m["token"].(string)
					if m["name"] != "Zoë Ünal" || m["permission_name"] != "DEVOPS" || token == "" {
						t.Fatalf("created %s", r.Body)
					}
					me := f.Srv.Do(t, get, "/backend/addoidcaccount/", token, nil).Want(t, 200).Map(t)
					if me["email"] != "zoe@example.test" {
						t.Errorf("the new token logs in as %v", me["email"])
					}
				}},
			Forbidden: &apitest.Try{As: "devops", Status: 403, Body: `{"name": "x", "email": "x@example.test"}`,
				Check: wantError("Missing permission 'create_account'.")},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: `{"name": "No Mail", "email": "not an address"}`,
				Check: wantError("email")},
			NA: "other department: " + onlySuperuser},
		{Method: post, Path: "/api/accounts",
			OK: &apitest.Try{As: "admin", Status: 201, Body: map[string]any{"name": "Bare", "email": unique("bare")}},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: `{"name": "Dup", "email": "ZOE@example.test"}`,
				Check: wantError("already exists")},
			NA: "the bare form; permission as above"},
		{Method: patch, Path: "/backend/api/accounts/{devops}/",
			OK: &apitest.Try{As: "admin", Status: 200,
				Body: `{"name": "Devops Renamed", "email": "devops-renamed@example.test", "user_role": "MANAGER"}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					me := f.Srv.Do(t, get, "/backend/addoidcaccount/", f.Tokens["devops"], nil).Want(t, 200).Map(t)
					if me["name"] != "Devops Renamed" || me["user_permissions"].(map[string]any)["permission_name"] != "MANAGER" {
						t.Errorf("after the change: %v %v", me["name"], me["user_permissions"])
					}
				}},
			Forbidden: &apitest.Try{As: "anonymous", Path: "/backend/api/accounts/{analysis}/", Status: 403,
				Body: `{"name": "x", "email": "x@example.test"}`, Check: wantError("Missing permission 'edit_account'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 403, Body: `{"name": "x", "email": "x@example.test"}`},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: `{"name": ["Devops"], "email": "d@example.test"}`,
				Check: wantError("name")}},
		{Method: patch, Path: "/api/accounts/{anonymous}",
			OK: &apitest.Try{As: "anonymous", Status: 200,
				Body: `{"name": "Anonymous Self", "email": "anonymous-self@example.test", "departments": [{deptA}], "settings": {"tour": true}, "favourite_browsers": "[{\"browser\": \"chrome\"}]"}`,
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					me := f.Srv.Do(t, get, "/backend/addoidcaccount/", f.Tokens["anonymous"], nil).Want(t, 200).Map(t)
					if me["name"] != "Anonymous Self" || len(me["departments"].([]any)) != 1 ||
						me["settings"].(map[string]any)["tour"] != true || len(me["favourite_browsers"].([]any)) != 1 {
						t.Errorf("own account after the change (memberships sent back as they are): %v", me)
					}
				}},
			Forbidden: &apitest.Try{As: "anonymous", Status: 403, Body: `{"name": "a", "email": "anonymous-self@example.test", "permission_name": "SUPERUSER"}`},
			BadBody: &apitest.Try{As: "anonymous", Status: 400, Body: `{"name": "a", "email": "a@example.test", "settings": [1]}`,
				Check: wantError("settings")},
			NA: "one's own account: other department does not apply"},
		{Method: del, Path: "/backend/api/accounts/{victim}/",
			Prep: created("{victim}", "/backend/api/accounts/", "user_id", map[string]any{"name": "Victim", "email": "victim@example.test"}),
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				f.Srv.Unchanged(t, "deleting twice", func() {
					f.Srv.Do(t, del, f.Expand("/backend/api/accounts/{victim}/"), f.Srv.AdminToken, nil).Want(t, 404)
				})
			}},
			Forbidden:       &apitest.Try{As: "devops", Status: 403, Check: wantError("Missing permission 'delete_account'.")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 403},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/api/accounts/abc/", Status: 400, Check: wantError("user_id")}},
		{Method: post, Path: "/backend/api/accounts/{analysis}/tokens/",
			OK: &apitest.Try{As: "analysis", Status: 201, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				token := r.Map(t)["token"].(string)
				f.Srv.Do(t, get, "/backend/addoidcaccount/", token, nil).Want(t, 200)
				f.Srv.Do(t, get, "/backend/addoidcaccount/", f.Tokens["analysis"], nil).Want(t, 200)
				f.Tokens["analysis2"] = token
			}},
			Forbidden:       &apitest.Try{As: "analysis", Path: "/backend/api/accounts/{manager}/tokens/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 403},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/api/accounts/0/tokens/", Status: 400},
		},
		{Method: del, Path: "/backend/api/accounts/{analysis}/tokens/",
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				// Every token of the account: the first and the one issued above.
				f.Srv.Do(t, get, "/backend/addoidcaccount/", f.Tokens["analysis"], nil).Want(t, 401)
				f.Srv.Do(t, get, "/backend/addoidcaccount/", f.Tokens["analysis2"], nil).Want(t, 401)
			}},
			Forbidden:       &apitest.Try{As: "devops", Path: "/backend/api/accounts/{manager}/tokens/", Status: 403},
			OtherDepartment: &apitest.Try{As: "devopsB", Path: "/backend/api/accounts/{manager}/tokens/", Status: 403},
			BadBody:         &apitest.Try{As: "admin", Path: "/backend/api/accounts/x/tokens/", Status: 400}},
		{Method: get, Path: "/backend/api/account_roles/",
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				if n := r.Map(t)["count"].(float64); n < 7 {
					t.Errorf("count = %v, want every membership", n)
				}
			}},
			Forbidden: &apitest.Try{As: "manager", Status: 403},
			BadBody:   &apitest.Try{As: "admin", Path: "/backend/api/account_roles/?size=0", Status: 400, Check: wantError("size")},
			NA:        "other department: " + onlySuperuser},
		{Method: get, Path: "/backend/addoidcaccount/",
			OK: &apitest.Try{As: "manager", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				m := r.Map(t)
				if m["encryption_prefix"] != "U2FsdGVkX1" || fmt.Sprint(m["permissions"]) != "[MANAGER DEVOPS ANONYMOUS ANALYSIS]" {
					t.Errorf("login payload %s", r.Body)
				}
				wantIDsOf("departments", "department_id", "{deptA}")(t, f, r)
			}},
			Forbidden:       &apitest.Try{As: "", Status: 401, Check: wantError("Bearer")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: wantIDsOf("departments", "department_id", "{deptB}")},
			NA:              "bad body: the endpoint reads no input"},
	}
}

func departmentCases(f *apitest.Fixture) []apitest.Case {
	return []apitest.Case{
		{Method: get, Path: "/backend/api/departments/",
			OK:              &apitest.Try{As: "admin", Status: 200, Check: wantIDs("results", "department_id", f.DeptA, f.DeptB)},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: wantIDs("results", "department_id", f.DeptB)},
			NA:              "every caller may list its own departments; there is no input"},
		{Method: get, Path: "/backend/user/departments/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: wantIDs("results", "department_id", f.DeptA)},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: wantIDs("results", "department_id", f.DeptB)},
			NA:              "every caller may list its own departments; there is no input"},
		{Method: post, Path: "/backend/api/departments/",
			OK: &apitest.Try{As: "admin", Status: 201, Body: map[string]any{"department_name": "Qualität ✓ 品質"},
				Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
					if m := r.Map(t); m["slug"] != "Qualitat-Pin-Zhi" || m["department_name"] != "Qualität ✓ 品質" {
						t.Errorf("created %s", r.Body)
					}
				}},
			Forbidden: &apitest.Try{As: "manager", Status: 403, Body: map[string]any{"department_name": "X"},
				Check: wantError("Missing permission 'create_department'.")},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: map[string]any{"department_name": "department b"},
				Check: wantError("already exists")},
			NA: "other department: " + onlySuperuser},
		{Method: patch, Path: "/backend/api/departments/{deptC}/",
			Prep: created("{deptC}", "/backend/api/departments/", "department_id", map[string]any{"department_name": "C"}),
			OK: &apitest.Try{As: "admin", Status: 200, Body: map[string]any{"department_name": "C renamed", "settings": map[string]any{"result_expire_days": 30}},
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					body := string(f.Srv.Do(t, get, "/backend/api/departments/", f.Srv.AdminToken, nil).Body)
					if !strings.Contains(body, `"department_name":"C renamed","slug":"C-renamed","settings":{"result_expire_days":30}`) {
						t.Errorf("after the change: %s", body)
					}
				}},
			Forbidden: &apitest.Try{As: "devops", Status: 403, Body: map[string]any{"department_name": "Y"}},
			BadBody:   &apitest.Try{As: "admin", Status: 400, Body: map[string]any{"settings": []int{1}}, Check: wantError("settings")},
			NA:        "other department: " + onlySuperuser},
		{Method: del, Path: "/backend/api/departments/{deptD}/",
			Prep: created("{deptD}", "/backend/api/departments/", "department_id", map[string]any{"department_name": "D"}),
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				f.Srv.Do(t, del, f.Expand("/backend/api/departments/{deptD}/"), f.Srv.AdminToken, nil).Want(t, 404)
			}},
			Forbidden: &apitest.Try{As: "devops", Status: 403},
			BadBody:   &apitest.Try{As: "admin", Path: "/backend/api/departments/-1/", Status: 400},
			NA:        "other department: " + onlySuperuser},
	}
}

func catalogCases() []apitest.Case {
	return []apitest.Case{
		{Method: get, Path: "/backend/api/applications/",
			OK: &apitest.Try{As: "devopsB", Status: 200, Check: wantIDs("results", "app_id", 1)},
			NA: global + "; there is no input"},
		{Method: get, Path: "/api/applications",
			OK: &apitest.Try{As: "devopsB", Status: 200, Check: wantIDs("results", "app_id", 1)},
			NA: global + "; there is no input"},
		{Method: post, Path: "/backend/api/applications/",
			OK: &apitest.Try{As: "admin", Status: 201, Body: map[string]any{"app_name": "Web shop ☕"},
				Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
					if m := r.Map(t); m["app_name"] != "Web shop ☕" || m["slug"] != "Web-shop" {
						t.Errorf("created %s", r.Body)
					}
				}},
			Forbidden: &apitest.Try{As: "manager", Status: 403, Body: map[string]any{"app_name": "X"},
				Check: wantError("Missing permission 'create_application'.")},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: map[string]any{"app_name": "web SHOP ☕"},
				Check: wantError("already exists")},
			NA: global},
		{Method: patch, Path: "/backend/api/applications/{app}/Renamed%20app/",
			Prep:      created("{app}", "/backend/api/applications/", "app_id", map[string]any{"app_name": "To rename"}),
			OK:        &apitest.Try{As: "admin", Status: 200, Check: wantListed("/backend/api/applications/", `"app_name":"Renamed app"`)},
			Forbidden: &apitest.Try{As: "devops", Status: 403, Check: wantError("edit_application")},
			BadBody:   &apitest.Try{As: "admin", Path: "/backend/api/applications/{app}/%20/", Status: 400, Check: wantError("app_name")},
			NA:        global},
		{Method: del, Path: "/backend/api/applications/{app}/",
			OK:        &apitest.Try{As: "admin", Status: 200, Check: wantNotListed("/backend/api/applications/", "Renamed app")},
			Forbidden: &apitest.Try{As: "devops", Status: 403, Check: wantError("delete_application")},
			BadBody:   &apitest.Try{As: "admin", Path: "/backend/api/applications/999/", Status: 404},
			NA:        global},
		{Method: get, Path: "/backend/api/environments/",
			OK: &apitest.Try{As: "anonymous", Status: 200, Check: wantIDs("results", "environment_id", 1)},
			NA: global + "; there is no input"},
		{Method: post, Path: "/api/environments/",
			OK: &apitest.Try{As: "admin", Status: 201, Body: map[string]any{"environment_name": "staging"},
				Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
					if r.Map(t)["environment_name"] != "staging" {
						t.Errorf("created %s", r.Body)
					}
				}},
			Forbidden: &apitest.Try{As: "devops", Status: 403, Body: map[string]any{"environment_name": "x"},
				Check: wantError("Missing permission 'create_environment'.")},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: map[string]any{"environment_name": "  "},
				Check: wantError("environment_name")},
			NA: global},
		{Method: post, Path: "/backend/api/environments/",
			OK: &apitest.Try{As: "admin", Status: 201, Body: map[string]any{"environment_name": "prod"}},
			BadBody: &apitest.Try{As: "admin", Status: 400, Body: map[string]any{"environment_name": "prod", "environment_id": 4},
				Check: wantError("unknown field")},
			NA: global + "; permission as above"},
		{Method: patch, Path: "/backend/api/environments/{env}/qa/",
			Prep:      created("{env}", "/api/environments/", "environment_id", map[string]any{"environment_name": "temp"}),
			OK:        &apitest.Try{As: "admin", Status: 200, Check: wantListed("/backend/api/environments/", `"environment_name":"qa"`)},
			Forbidden: &apitest.Try{As: "devops", Status: 403},
			BadBody:   &apitest.Try{As: "admin", Path: "/backend/api/environments/zero/qa/", Status: 400},
			NA:        global},
		{Method: del, Path: "/backend/api/environments/{env}/",
			OK:        &apitest.Try{As: "admin", Status: 200, Check: wantNotListed("/backend/api/environments/", `"qa"`)},
			Forbidden: &apitest.Try{As: "devops", Status: 403},
			BadBody:   &apitest.Try{As: "admin", Path: "/backend/api/environments/77/", Status: 404},
			NA:        global},
		{Method: get, Path: "/backend/api/browsers/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				var list []struct {
					BrowserJSON map[string]any `json:"browser_json"`
				}
				r.JSON(t, &list)
				if len(list) != 1 || list[0].BrowserJSON["browser"] != "chrome" ||
					!strings.Contains(list[0].BrowserJSON["browser_version"].(string), ".") {
					t.Errorf("browsers %s, want the installed Chromium", r.Body)
				}
			}},
			NA: global + "; there is no input"},
		{Method: get, Path: "/backend/browsers/browserstack/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				m := r.Map(t)
				if m["success"] != false || len(m["results"].([]any)) != 0 || !strings.Contains(m["msg"].(string), "not configured") {
					t.Errorf("without credentials: %s", r.Body)
				}
			}},
			NA: global + "; there is no input"},
		{Method: get, Path: "/backend/api/actions/?department=DIF&app=amvara",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				var m struct {
					Results []struct {
						Name   string `json:"action_name"`
						Values int    `json:"values"`
						Type   string `json:"step_type"`
					} `json:"results"`
				}
				r.JSON(t, &m)
				want := steps.NewCatalogue().Actions()
				if len(m.Results) != len(want) || m.Results[0].Name != want[0].Name || m.Results[0].Type != "BROWSER" {
					t.Errorf("%d actions, first %+v; want the %d of the catalogue", len(m.Results), m.Results[0], len(want))
				}
			}},
			NA: global + "; the filters are accepted and change nothing"},
		{Method: get, Path: "/backend/parseActions/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				if m := r.Map(t); m["count"].(float64) != float64(len(steps.NewCatalogue().Actions())) {
					t.Errorf("parseActions %s", r.Body)
				}
			}},
			NA: global + "; there is no input"},
	}
}

func serverCases() []apitest.Case {
	return []apitest.Case{
		{Method: get, Path: "/backend/info/",
			OK: &apitest.Try{Status: 200, Check: func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
				if r.Map(t)["version"] != "test" {
					t.Errorf("info %s", r.Body)
				}
			}},
			NA: "public, and takes no input"},
		{Method: get, Path: "/backend/encrypt/?action=encrypt&text=Gr%C3%BC%C3%9Fe%20%F0%9F%8C%8D",
			OK: &apitest.Try{As: "devops", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				cipher := r.Map(t)["result"].(string)
				if !strings.HasPrefix(cipher, "U2FsdGVkX1") {
					t.Fatalf("ciphertext %q", cipher)
				}
				back := f.Srv.Do(t, get, "/backend/encrypt/", f.Srv.AdminToken,
					map[string]any{"action": "decrypt", "text": cipher}).Want(t, 200).Map(t)
				if back["result"] != "Grüße 🌍" {
					t.Errorf("decrypted %v", back["result"])
				}
			}},
			Forbidden: &apitest.Try{As: "devops", Path: "/backend/encrypt/?action=decrypt&text=U2FsdGVkX1abc", Status: 403,
				Check: wantError("Missing permission 'manage_configurations'.")},
			BadBody: &apitest.Try{As: "devops", Path: "/backend/encrypt/?action=rot13&text=x", Status: 400, Check: wantError("action")},
			NA:      "other department: a ciphertext belongs to no department"},
		{Method: post, Path: "/backend/encrypt/",
			OK: &apitest.Try{As: "anonymous", Status: 200, Body: map[string]any{"action": "encrypt", "text": "שלום עולם ‎👋"},
				Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
					back := f.Srv.Do(t, post, "/backend/encrypt/", f.Srv.AdminToken,
						map[string]any{"action": "decrypt", "text": r.Map(t)["result"]}).Want(t, 200).Map(t)
					if back["result"] != "שלום עולם ‎👋" {
						t.Errorf("decrypted %v", back["result"])
					}
				}},
			Forbidden: &apitest.Try{As: "anonymous", Status: 403, Body: map[string]any{"action": "decrypt", "text": "x"}},
			BadBody:   &apitest.Try{As: "admin", Status: 415, Body: "action=encrypt&text=x", ContentType: "application/x-www-form-urlencoded"},
			NA:        "other department: a ciphertext belongs to no department"},
	}
}

// wantListed checks that GET path (as admin) contains substr.
func wantListed(path, substr string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, _ *apitest.Response) {
		t.Helper()
		if body := string(f.Srv.Do(t, get, path, f.Srv.AdminToken, nil).Want(t, 200).Body); !strings.Contains(body, substr) {
			t.Errorf("GET %s: %s, want %s in it", path, body, substr)
		}
	}
}

// wantNotListed checks that GET path (as admin) no longer contains substr.
func wantNotListed(path, substr string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, _ *apitest.Response) {
		t.Helper()
		if body := string(f.Srv.Do(t, get, path, f.Srv.AdminToken, nil).Want(t, 200).Body); strings.Contains(body, substr) {
			t.Errorf("GET %s: %s still holds %s", path, body, substr)
		}
	}
}

// wantIDsOf is wantIDs with the id given as a fixture placeholder.
func wantIDsOf(key, idKey, placeholder string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		id, _ := strconv.ParseInt(f.Expand(placeholder), 10, 64)
		wantIDs(key, idKey, id)(t, f, r)
	}
}
