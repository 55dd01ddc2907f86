package readapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// catalogFeature creates a feature of department with the application and
// environment that the placeholders app and env name, as admin, and
// returns its id.
func catalogFeature(t *testing.T, f *apitest.Fixture, department int64, app, env string) string {
	t.Helper()
	var out struct {
		ID int64 `json:"feature_id"`
	}
	f.Srv.Do(t, post, "/backend/api/features/", f.Srv.AdminToken, f.Expand(`{"feature_name": "Uses `+
		app+` `+env+` `+strconv.Itoa(len(f.Vars))+`", "app_id": `+app+`, "environment_id": `+env+
		`, "department_id": `+strconv.FormatInt(department, 10)+`}`)).Want(t, http.StatusCreated).JSON(t, &out)
	return strconv.FormatInt(out.ID, 10)
}

// Deleting an application that live features use is a 409 naming how many
// and the first few, and changes nothing: the features keep a valid
// application and new ones can still use it. Once no live feature uses it,
// the deletion goes through.
func TestDeleteUsedApplication(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	created("{app}", "/backend/api/applications/", "app_id", map[string]any{"app_name": "In use"})(t, f)
	var features []string
	for range 6 {
		features = append(features, catalogFeature(t, f, f.DeptA, "{app}", "1"))
	}

	srv.Unchanged(t, "deleting an application in use", func() {
		r := srv.Do(t, del, f.Expand("/backend/api/applications/{app}/"), srv.AdminToken, nil).Want(t, 409)
		says("application {app} is used by 6 features (ids "+strings.Join(features[:5], ", ")+
			", ...): move them to another application first")(t, f, r)
	})
	srv.Unchanged(t, "deleting it without the permission", func() {
		srv.Do(t, del, f.Expand("/backend/api/applications/{app}/"), f.Tokens["devops"], nil).Want(t, 403)
	})
	wantListed("/backend/api/applications/", `"app_name":"In use"`)(t, f, nil)
	features = append(features, catalogFeature(t, f, f.DeptA, "{app}", "1"))

	for _, id := range features[1:] {
		srv.Do(t, del, "/backend/api/features/"+id+"/", srv.AdminToken, nil).Want(t, 200)
	}
	r := srv.Do(t, del, f.Expand("/backend/api/applications/{app}/"), srv.AdminToken, nil).Want(t, 409)
	says("application {app} is used by 1 feature (id "+features[0]+"):")(t, f, r)
	srv.Do(t, patch, "/backend/api/features/", srv.AdminToken,
		`{"feature_id": `+features[0]+`, "app_id": 1}`).Want(t, 200)
	srv.Do(t, del, f.Expand("/backend/api/applications/{app}/"), srv.AdminToken, nil).Want(t, 200)
	wantNotListed("/backend/api/applications/", `"app_name":"In use"`)(t, f, nil)
}

// Deleting an environment that live features or live variables use is a
// 409 naming both and changes nothing. Deleted features and those (and
// the variables) of a deleted department do not count.
func TestDeleteUsedEnvironment(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	created("{env}", "/backend/api/environments/", "environment_id", map[string]any{"environment_name": "In use"})(t, f)
	f.Vars["{f1}"] = catalogFeature(t, f, f.DeptA, "1", "{env}")
	f.Vars["{f2}"] = catalogFeature(t, f, f.DeptB, "1", "{env}")
	gone := catalogFeature(t, f, f.DeptA, "1", "{env}")
	srv.Do(t, del, "/backend/api/features/"+gone+"/", srv.AdminToken, nil).Want(t, 200)
	old := srv.Department(t, "Old")
	catalogFeature(t, f, old, "1", "{env}")
	variable := func(department int64) string {
		var out struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		srv.Do(t, post, "/backend/api/variables/", srv.AdminToken, f.Expand(`{"department": `+
			strconv.FormatInt(department, 10)+`, "environment": {env}, "variable_name": "USER", `+
			`"variable_value": "ada", "based": "environment"}`)).Want(t, http.StatusCreated).JSON(t, &out)
		return strconv.FormatInt(out.Data.ID, 10)
	}
	f.Vars["{var}"] = variable(f.DeptA)
	variable(old)
	srv.Do(t, del, "/backend/api/departments/"+strconv.FormatInt(old, 10)+"/", srv.AdminToken, nil).Want(t, 200)

	srv.Unchanged(t, "deleting an environment in use", func() {
		r := srv.Do(t, del, f.Expand("/backend/api/environments/{env}/"), srv.AdminToken, nil).Want(t, 409)
		says("environment {env} is used by 2 features (ids {f1}, {f2}) and 1 variable (id {var}): "+
			"move them to another environment first")(t, f, r)
	})
	srv.Unchanged(t, "deleting it without the permission", func() {
		srv.Do(t, del, f.Expand("/backend/api/environments/{env}/"), f.Tokens["devops"], nil).Want(t, 403)
	})
	r := srv.Do(t, get, f.Expand("/backend/api/features/{f1}/"), srv.AdminToken, nil).Want(t, 200)
	field("results.0.environment_name", "In use")(t, f, r)

	for _, id := range []string{"{f1}", "{f2}"} {
		srv.Do(t, patch, "/backend/api/features/", srv.AdminToken,
			f.Expand(`{"feature_id": `+id+`, "environment_id": 1}`)).Want(t, 200)
	}
	r = srv.Do(t, del, f.Expand("/backend/api/environments/{env}/"), srv.AdminToken, nil).Want(t, 409)
	says("environment {env} is used by 1 variable (id {var}):")(t, f, r)
	srv.Do(t, del, f.Expand("/backend/api/variables/{var}/"), srv.AdminToken, nil).Want(t, 200)
	srv.Do(t, del, f.Expand("/backend/api/environments/{env}/"), srv.AdminToken, nil).Want(t, 200)
	wantNotListed("/backend/api/environments/", `"environment_name":"In use"`)(t, f, nil)
}

// PATCH /api/applications/<id>/<name>/ takes the id and the new name from
// its path; a body may come along, but one that is not JSON or names
// another id or name is refused and changes nothing.
func TestRenameApplicationBody(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	created("{app}", "/backend/api/applications/", "app_id", map[string]any{"app_name": "Before"})(t, f)
	path := f.Expand("/backend/api/applications/{app}/After/")
	for _, tc := range []struct{ name, body, says string }{
		{"another name", `{"app_name": "Other"}`,
			`app_name: the body says "Other" but the path says "After"`},
		{"malformed JSON", `garbage`, "malformed JSON"},
		{"not an object", `[1]`, "expected object"},
		{"another id", `{"app_id": 1, "app_name": "After"}`, "app_id: the body says 1 but the path says {app}"},
		{"an id that is not one", `{"app_id": "1"}`, "app_id: must be an integer id"},
		{"a name that is not one", `{"app_name": 5}`, "app_name: must be a string"},
	} {
		srv.Unchanged(t, tc.name, func() {
			r := srv.Do(t, patch, path, srv.AdminToken, tc.body).Want(t, 400)
			says(tc.says)(t, f, r)
		})
	}
	wantNotListed("/backend/api/applications/", `"app_name":"After"`)(t, f, nil)

	srv.Do(t, patch, path, srv.AdminToken,
		f.Expand(`{"app_id": {app}, "app_name": "After", "slug": "Before", "created_on": null}`)).Want(t, 200)
	wantListed("/backend/api/applications/", `"app_name":"After"`)(t, f, nil)
	srv.Do(t, patch, f.Expand("/backend/api/applications/{app}/Final/"), srv.AdminToken, nil).Want(t, 200)
	wantListed("/backend/api/applications/", `"app_name":"Final"`)(t, f, nil)
}

// A rename's body is compared with the path's name as the name is stored,
// trimmed, so that padding on either side is not a difference; two names
// that differ only in how their characters are encoded (NFC against NFD)
// are refused with the difference escaped, not printed twice alike.
func TestRenameApplicationBodyAsStored(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	created("{app}", "/backend/api/applications/", "app_id", map[string]any{"app_name": "Shop"})(t, f)

	srv.Do(t, patch, f.Expand("/backend/api/applications/{app}/%20Shop3/"), srv.AdminToken,
		`{"app_name": "Shop3"}`).Want(t, 200)
	wantListed("/backend/api/applications/", `"app_name":"Shop3"`)(t, f, nil)
	srv.Do(t, patch, f.Expand("/backend/api/applications/{app}/Shop4/"), srv.AdminToken,
		`{"app_name": " Shop4 "}`).Want(t, 200)
	wantListed("/backend/api/applications/", `"app_name":"Shop4"`)(t, f, nil)

	srv.Unchanged(t, "NFD body, NFC path", func() {
		r := srv.Do(t, patch, f.Expand("/backend/api/applications/{app}/Caf%C3%A9/"), srv.AdminToken,
			`{"app_name": "Cafe\u0301"}`).Want(t, 400)
		says(`app_name: the body says "Cafe\u0301" but the path says "Caf\u00e9"`)(t, f, r)
	})
	srv.Unchanged(t, "a visible difference", func() {
		r := srv.Do(t, patch, f.Expand("/backend/api/applications/{app}/Caf%C3%A9/"), srv.AdminToken,
			`{"app_name": "Cafés"}`).Want(t, 400)
		says(`app_name: the body says "Cafés" but the path says "Café"`)(t, f, r)
	})
}
