package readapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// uniqueKind is a resource whose name is unique, with the requests that
// create, rename and delete one.
type uniqueKind struct {
	name        string
	path, id    string // create path, id field of its answer ("data.id": nested)
	field       string // the name's field
	list        string // the field of a listed item that holds the name
	create      func(name string) map[string]any
	rename      func(srv *apitest.Server, t *testing.T, id int64, name string) *apitest.Response
	deletePath  string // with %d for the id
	listResults func(srv *apitest.Server, t *testing.T) []map[string]any
}

func uniqueKinds() []uniqueKind {
	results := func(path string) func(*apitest.Server, *testing.T) []map[string]any {
		return func(srv *apitest.Server, t *testing.T) []map[string]any {
			var out struct {
				Results []map[string]any `json:"results"`
			}
			srv.Do(t, http.MethodGet, path, srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &out)
			return out.Results
		}
	}
	return []uniqueKind{
		{
			name: "department", path: "/backend/api/departments/", id: "department_id",
			field: "department_name", list: "department_name",
			create: func(name string) map[string]any { return map[string]any{"department_name": name} },
			rename: func(srv *apitest.Server, t *testing.T, id int64, name string) *apitest.Response {
				return srv.Do(t, http.MethodPatch, fmt.Sprintf("/backend/api/departments/%d/", id),
					srv.AdminToken, map[string]any{"department_name": name})
			},
			deletePath:  "/backend/api/departments/%d/",
			listResults: results("/backend/api/departments/"),
		},
		{
			name: "application", path: "/backend/api/applications/", id: "app_id",
			field: "app_name", list: "app_name",
			create: func(name string) map[string]any { return map[string]any{"app_name": name} },
			rename: func(srv *apitest.Server, t *testing.T, id int64, name string) *apitest.Response {
				return srv.Do(t, http.MethodPatch,
					fmt.Sprintf("/backend/api/applications/%d/%s/", id, url.PathEscape(name)), srv.AdminToken, nil)
			},
			deletePath:  "/backend/api/applications/%d/",
			listResults: results("/backend/api/applications/"),
		},
		{
			name: "variable", path: "/backend/api/variables/", id: "data.id",
			field: "variable_name", list: "variable_name",
			create: func(name string) map[string]any {
				return map[string]any{"department": 1, "environment": 1, "variable_name": name,
					"variable_value": "v", "based": "environment"}
			},
			rename: func(srv *apitest.Server, t *testing.T, id int64, name string) *apitest.Response {
				return srv.Do(t, http.MethodPatch, fmt.Sprintf("/backend/api/variables/%d/", id),
					srv.AdminToken, map[string]any{"variable_name": name})
			},
			deletePath: "/backend/api/variables/%d/",
			listResults: func(srv *apitest.Server, t *testing.T) []map[string]any {
				var out []map[string]any
				srv.Do(t, http.MethodGet, "/backend/api/variables/", srv.AdminToken, nil).Want(t, http.StatusOK).JSON(t, &out)
				return out
			},
		},
		{
			name: "account", path: "/backend/api/accounts/", id: "user_id",
			field: "email", list: "email",
			create: func(email string) map[string]any {
				return map[string]any{"name": "Racer", "email": email, "permission_name": "DEVOPS"}
			},
			rename: func(srv *apitest.Server, t *testing.T, id int64, email string) *apitest.Response {
				return srv.Do(t, http.MethodPatch, fmt.Sprintf("/backend/api/accounts/%d/", id),
					srv.AdminToken, map[string]any{"name": "Racer", "email": email})
			},
			deletePath:  "/backend/api/accounts/%d/",
			listResults: results("/backend/api/accounts/?page_size=1000"),
		},
	}
}

// idAt returns the number at a dotted path of an answer ("data.id").
func idAt(m map[string]any, path string) int64 {
	var v any = m
	for _, key := range strings.Split(path, ".") {
		obj, _ := v.(map[string]any)
		v = obj[key]
	}
	id, _ := v.(float64)
	return int64(id)
}

// TestUniqueNamesUnderConcurrentCreates races creators of one name (in
// another case each, where case does not count): exactly one wins with 201, the others get the 400
// naming the field, and the read model holds the name once. Renaming the
// winner frees its old name; deleting it frees the new one.
func TestUniqueNamesUnderConcurrentCreates(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	const racers = 10

	for _, k := range uniqueKinds() {
		t.Run(k.name, func(t *testing.T) {
			name, renamed := "Race"+k.name, "Renamed"+k.name
			switch k.name {
			case "account":
				name, renamed = "race@example.test", "renamed@example.test"
			case "variable":
				name, renamed = "RACE_VAR", "RENAMED_VAR" // case counts in variable names
			}
			statuses := make([]int, racers)
			bodies := make([]string, racers)
			ids := make([]int64, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					// Alternating case: the claim compares names case-folded.
					n := name
					if i%2 == 1 && k.name != "variable" {
						n = strings.ToUpper(name)
					}
					r := srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(n))
					statuses[i], bodies[i] = r.Status, string(r.Body)
					if r.Status == http.StatusCreated {
						var out map[string]any
						r.JSON(t, &out)
						ids[i] = idAt(out, k.id)
					}
				})
			}
			wg.Wait()

			var winner int64
			wins := 0
			for i, s := range statuses {
				switch {
				case s == http.StatusCreated:
					wins++
					winner = ids[i]
				case s == http.StatusBadRequest && strings.Contains(bodies[i], k.field):
				default:
					t.Errorf("creator %d: status %d (%s), want 201 or a 400 naming %s", i, s, bodies[i], k.field)
				}
			}
			if wins != 1 {
				t.Fatalf("%d creators won, want exactly 1: %v", wins, statuses)
			}
			if n := countNamed(k.listResults(srv, t), k.list, name); n != 1 {
				t.Errorf("the read model lists %q %d times, want once", name, n)
			}

			if r := k.rename(srv, t, winner, renamed); r.Status != http.StatusOK {
				t.Fatalf("rename: status %d: %s", r.Status, r.Body)
			}
			srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(renamed)).Want(t, http.StatusBadRequest)
			srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(name)).Want(t, http.StatusCreated)

			srv.Do(t, http.MethodDelete, fmt.Sprintf(k.deletePath, winner), srv.AdminToken, nil).Want(t, http.StatusOK)
			srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(renamed)).Want(t, http.StatusCreated)
		})
	}
}

// countNamed counts the items whose field equals name case-insensitively.
func countNamed(items []map[string]any, field, name string) int {
	n := 0
	for _, it := range items {
		if s, _ := it[field].(string); strings.EqualFold(s, name) {
			n++
		}
	}
	return n
}

// TestUniqueNamesLookAlikes checks that a name with characters drawn as
// nothing (a zero-width space, a soft hyphen, a Hangul filler) is the name
// without them: creating or renaming to such a look-alike of a taken name
// is the 400 naming the field, whichever of the two came first, while
// plain names that differ stay free. An e-mail address with such a
// character is refused outright.
func TestUniqueNamesLookAlikes(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})

	for _, k := range uniqueKinds() {
		t.Run(k.name, func(t *testing.T) {
			name, other := "Lookalike"+k.name, "Other"+k.name
			lookAlikes := []string{name + "\u200b", "Look\u00adalike" + k.name, name + "\u3164"}
			wantTaken := "already exists"
			switch k.name {
			case "account":
				name, other = "lookalike@example.test", "other@example.test"
				lookAlikes = []string{"lookalike@example.test\u200b", "look\u00adalike@example.test"}
				wantTaken = "email"
			case "variable":
				name, other = "par1", "par2"
				lookAlikes = []string{"par1\u200b", "p\u2060ar1", "par1\u3164"}
				wantTaken = "Variable already exists"
			}
			want400 := func(r *apitest.Response, what string) {
				t.Helper()
				if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), k.field) ||
					!strings.Contains(string(r.Body), wantTaken) {
					t.Errorf("%s: status %d (%s), want 400 naming %s: %s", what, r.Status, r.Body, k.field, wantTaken)
				}
			}

			var created map[string]any
			srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(name)).
				Want(t, http.StatusCreated).JSON(t, &created)
			for _, l := range lookAlikes {
				want400(srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(l)), fmt.Sprintf("create %q", l))
			}
			srv.Do(t, http.MethodPost, k.path, srv.AdminToken, k.create(other)).
				Want(t, http.StatusCreated).JSON(t, &created)
			for _, l := range lookAlikes {
				want400(k.rename(srv, t, idAt(created, k.id), l), fmt.Sprintf("rename to %q", l))
			}
			if n := countNamed(k.listResults(srv, t), k.list, name); n != 1 {
				t.Errorf("the read model lists %q %d times, want once", name, n)
			}
		})
	}

	// A look-alike taken first (before names were compared without the
	// characters drawn as nothing, or here) holds the plain name too.
	srv.Do(t, http.MethodPost, "/backend/api/departments/", srv.AdminToken,
		map[string]any{"department_name": "First\u200b"}).Want(t, http.StatusCreated)
	r := srv.Do(t, http.MethodPost, "/backend/api/departments/", srv.AdminToken,
		map[string]any{"department_name": "first"})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "already exists") {
		t.Errorf("create %q beside %q: status %d (%s), want 400 already exists",
			"first", "First\u200b", r.Status, r.Body)
	}
}
