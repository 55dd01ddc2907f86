package readapi_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// coreGETs are the core reads whose answers must survive a rebuild, with
// the user asking.
func coreGETs() []struct{ path, as string } {
	return []struct{ path, as string }{
		{"/backend/api/accounts/", "admin"},
		{"/backend/api/accounts/?search=test&size=2&page=2", "admin"},
		{"/api/accounts?search=devops&size=1", "admin"},
		{"/backend/api/account_roles/", "admin"},
		{"/backend/addoidcaccount/", "admin"},
		{"/backend/addoidcaccount/", "devops"},
		{"/backend/addoidcaccount/", "devopsB"},
		{"/backend/api/departments/", "admin"},
		{"/backend/api/departments/", "devopsB"},
		{"/backend/user/departments/", "manager"},
		{"/backend/api/applications/", "devops"},
		{"/backend/api/environments/", "devops"},
		{"/backend/api/browsers/", "devops"},
		{"/backend/api/actions/", "devops"},
		{"/backend/parseActions/", "devops"},
		{"/backend/browsers/browserstack/", "devops"},
		{"/backend/info/", ""},
	}
}

// TestCoreRebuildEquality changes accounts, departments and the catalogue
// through the API, rebuilds every read model with the code the CLI runs
// (Manager.Rebuild), and wants every GET to answer exactly the same JSON
// and every checksum to stay the same.
func TestCoreRebuildEquality(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	f := apitest.NewFixture(t, srv)
	admin := srv.AdminToken
	dept := srv.Department(t, "Rebuilt department")
	srv.Do(t, patch, "/backend/api/departments/"+f.Vars["{deptB}"]+"/", admin,
		map[string]any{"department_name": "B renamed", "settings": map[string]any{"continue_on_failure": true}}).Want(t, 200)
	srv.Do(t, del, f.Expand("/backend/api/departments/")+itoa(dept)+"/", admin, nil).Want(t, 200)
	srv.Do(t, patch, f.Expand("/backend/api/accounts/{manager}/"), admin,
		`{"name": "Manager", "email": "manager@example.test", "departments": [1, `+f.Vars["{deptB}"]+`]}`).Want(t, 200)
	srv.Do(t, post, f.Expand("/backend/api/accounts/{devops}/tokens/"), admin, nil).Want(t, 201)
	srv.Do(t, del, f.Expand("/backend/api/accounts/{anonymous}/"), admin, nil).Want(t, 200)
	var app map[string]any
	srv.Do(t, post, "/backend/api/applications/", admin, map[string]any{"app_name": "Shop"}).Want(t, 201).JSON(t, &app)
	srv.Do(t, patch, "/backend/api/applications/"+itoa(int64(app["app_id"].(float64)))+"/Shop2/", admin, nil).Want(t, 200)
	srv.Do(t, post, "/api/environments/", admin, map[string]any{"environment_name": "staging"}).Want(t, 201)

	ctx := context.Background()
	before := map[string][]byte{}
	sums := map[string]string{}
	for _, g := range coreGETs() {
		before[g.as+" "+g.path] = srv.Do(t, get, g.path, f.Tokens[g.as], nil).Want(t, http.StatusOK).Body
	}
	for _, name := range srv.Manager.Names() {
		sum, err := srv.Manager.Checksum(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		sums[name] = sum
	}

	results, err := srv.Manager.Rebuild(ctx, nil)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	for _, r := range results {
		if r.Checksum != sums[r.Name] {
			t.Errorf("read model %s: checksum %s after rebuild, %s before", r.Name, r.Checksum, sums[r.Name])
		}
	}
	for _, g := range coreGETs() {
		after := srv.Do(t, get, g.path, f.Tokens[g.as], nil).Want(t, http.StatusOK).Body
		if key := g.as + " " + g.path; !bytes.Equal(after, before[key]) {
			t.Errorf("GET %s as %s after rebuild:\n%s\nbefore:\n%s", g.path, g.as, after, before[key])
		}
	}
}
