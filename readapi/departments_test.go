package readapi_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestDeletedDepartmentFeaturesGone deletes a department that holds a
// scheduled feature with two versions: to the SUPERUSER, as to everyone,
// the feature is then gone like a deleted one. Every read of it is 404,
// every write is 404 and appends nothing, no list shows it, and its
// schedule neither is listed nor is among those the scheduler fires.
func TestDeletedDepartmentFeaturesGone(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	const name = "Orphaned with its department"
	dept := f.Srv.Department(t, "Going away")
	f.Vars["{dept}"] = strconv.FormatInt(dept, 10)
	f.Vars["{feat}"] = newFeature(t, f, "admin", name, dept, stepJSON("Press Enter"))
	feat, _ := strconv.ParseInt(f.Vars["{feat}"], 10, 64)
	k.do(http.MethodPatch, "/backend/api/features/", "admin", map[string]any{"feature_id": feat,
		"steps": map[string]any{"steps_content": []any{stepJSON("Press Enter"), stepJSON("Press TAB")}}}, 200, nil)
	k.do(http.MethodPatch, "/backend/schedule/{feat}/", "admin", map[string]any{"schedule": "0 3 * * *"}, 200, nil)

	k.do(http.MethodPost, "/backend/api/variables/", "admin", map[string]any{"department": dept, "environment": 1,
		"feature": feat, "variable_name": "orphan_var", "variable_value": "v", "based": "feature"}, 201, nil)

	lists := []string{"/backend/api/features/", "/api/features/", "/api/schedules/", "/backend/api/variables/"}
	for _, path := range lists {
		if body := string(k.get(path, "admin", 200, nil).Body); !strings.Contains(body, name) {
			t.Fatalf("GET %s before the deletion does not list the feature: %s", path, body)
		}
	}
	runLists := []string{"/backend/api/feature_results/?feature_id={feat}", "/api/feature_results/{feat}/",
		"/backend/api/feature_results_by_featureid/?feature_id={feat}"}
	for _, path := range runLists {
		k.get(path, "admin", 200, nil)
	}
	if !atRoot(k, feat) {
		t.Fatal("GET /backend/api/folders/ before the deletion does not show the feature at the root")
	}
	k.do(http.MethodDelete, "/backend/api/departments/{dept}/", "admin", nil, 200, nil)

	for _, path := range []string{
		"/backend/api/features/{feat}/", "/api/features/{feat}/",
		"/backend/steps/{feat}/", "/backend/getJson/{feat}/",
		"/backend/api/features/{feat}/history/", "/backend/api/features/{feat}/versions/1/",
		"/backend/api/features/{feat}/diff/?from=1&to=2", "/backend/api/features/{feat}/trend/",
		"/backend/api/features/{feat}/schedule/history/",
	} {
		k.get(path, "admin", http.StatusNotFound, nil)
	}
	for _, path := range runLists {
		k.get(path, "admin", http.StatusNotFound, nil)
	}
	k.refused(http.MethodPatch, "/api/features/", "admin",
		map[string]any{"feature_id": feat, "feature_name": "Renamed"}, http.StatusNotFound)
	k.refused(http.MethodPost, "/backend/steps/{feat}/patch/", "admin",
		map[string]any{"steps": []any{stepJSON("Press Escape")}}, http.StatusNotFound)
	k.refused(http.MethodPost, "/api/features/{feat}/restore/1/", "admin", nil, http.StatusNotFound)
	k.refused(http.MethodPatch, "/backend/schedule/{feat}/", "admin",
		map[string]any{"schedule": "0 4 * * *"}, http.StatusNotFound)
	k.refused(http.MethodDelete, "/backend/api/features/{feat}/", "admin", nil, http.StatusNotFound)
	k.refused(http.MethodPost, "/backend/api/features/", "admin", map[string]any{"feature_name": "Newcomer",
		"app_id": 1, "environment_id": 1, "department_id": dept, "steps": map[string]any{"steps_content": []any{}}},
		http.StatusBadRequest)
	k.refused(http.MethodPost, "/backend/api/variables/", "admin", map[string]any{"department": dept, "environment": 1,
		"variable_name": "late_var", "variable_value": "v"}, http.StatusBadRequest)

	for _, path := range lists {
		if body := string(k.get(path, "admin", 200, nil).Body); strings.Contains(body, name) {
			t.Errorf("GET %s after the deletion lists the feature: %s", path, body)
		}
	}
	if atRoot(k, feat) {
		t.Error("GET /backend/api/folders/ after the deletion shows the feature at the root")
	}
	active, err := projections.NewScheduleReader(f.Srv.Pool).Active(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range active {
		if s.FeatureID == feat {
			t.Errorf("the schedule of feature %d still fires: %+v", s.FeatureID, s)
		}
	}
}

// atRoot reports whether the SUPERUSER's folder tree shows feature id at
// the root.
func atRoot(k kit, id int64) bool {
	k.t.Helper()
	var tree struct {
		Features []int64 `json:"features"`
	}
	k.get("/backend/api/folders/", "admin", 200, &tree)
	return slices.Contains(tree.Features, id)
}

// TestDeletedDepartmentVariablesGone deletes a department that holds a
// variable: to the SUPERUSER, as to everyone, the variable is then gone.
// A PATCH (one that would move it to a live department too), a DELETE and
// a batch into the deleted department are refused and append nothing, and
// its name stays free in the live department.
func TestDeletedDepartmentVariablesGone(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	dept := f.Srv.Department(t, "Leaving with its variables")
	f.Vars["{dept}"] = strconv.FormatInt(dept, 10)
	var made struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	k.do(http.MethodPost, "/backend/api/variables/", "admin", map[string]any{"department": dept,
		"environment": 1, "variable_name": "RV6", "variable_value": "v"}, 201, &made)
	f.Vars["{var}"] = strconv.FormatInt(made.Data.ID, 10)
	k.do(http.MethodDelete, "/backend/api/departments/{dept}/", "admin", nil, 200, nil)

	k.refused(http.MethodPatch, "/backend/api/variables/{var}/", "admin",
		map[string]any{"department": f.DeptA}, http.StatusNotFound)
	k.refused(http.MethodPatch, "/backend/api/variables/{var}/", "admin",
		map[string]any{"variable_value": "changed"}, http.StatusNotFound)
	k.refused(http.MethodDelete, "/backend/api/variables/{var}/", "admin", nil, http.StatusNotFound)
	batch := func(department int64) map[string]any {
		return map[string]any{"environment_id": 1, "department_id": department,
			"variables": []any{map[string]any{"variable_name": "RV6", "variable_value": "w"}}}
	}
	f.Srv.Unchanged(t, "a batch into the deleted department", func() {
		r := k.do(http.MethodPost, "/backend/api/variables/", "admin", batch(dept), http.StatusBadRequest, nil)
		says("department {dept} does not exist")(t, f, r)
	})

	// Nothing moved the name into the live department: the single form
	// creates it there, and the batch then replaces that variable's value.
	var fresh struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	k.do(http.MethodPost, "/backend/api/variables/", "admin", map[string]any{"department": f.DeptA,
		"environment": 1, "variable_name": "RV6", "variable_value": "v"}, http.StatusCreated, &fresh)
	r := k.do(http.MethodPost, "/backend/api/variables/", "admin", batch(f.DeptA), http.StatusOK, nil)
	if got, want := lookup(t, r, "data.0.id"), strconv.FormatInt(fresh.Data.ID, 10); got != want {
		t.Errorf("the batch in department %d set variable %s, want %s", f.DeptA, got, want)
	}
	body := string(k.get("/backend/api/variables/", "admin", 200, nil).Body)
	if strings.Contains(body, `"id":`+f.Vars["{var}"]+`,`) {
		t.Errorf("the variable of the deleted department is listed: %s", body)
	}
}

// TestDeletedDepartmentFoldersGone deletes a department that holds a
// folder: the SUPERUSER's GET, rename, move and DELETE of the folder are
// all 404, and the writes append nothing.
func TestDeletedDepartmentFoldersGone(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	dept := f.Srv.Department(t, "Leaving with its folders")
	f.Vars["{dept}"] = strconv.FormatInt(dept, 10)
	var made struct {
		ID int64 `json:"folder_id"`
	}
	k.do(http.MethodPost, "/backend/api/folders/", "admin", map[string]any{"name": "Orphan", "department": dept},
		http.StatusCreated, &made)
	f.Vars["{dir}"] = strconv.FormatInt(made.ID, 10)
	k.do(http.MethodDelete, "/backend/api/departments/{dept}/", "admin", nil, 200, nil)

	k.get("/backend/api/folders/{dir}/", "admin", http.StatusNotFound, nil)
	k.refused(http.MethodPatch, "/backend/api/folders/", "admin",
		map[string]any{"folder_id": made.ID, "name": "Renamed"}, http.StatusNotFound)
	k.refused(http.MethodPatch, "/backend/api/folders/", "admin",
		map[string]any{"folder_id": made.ID, "department": f.DeptA}, http.StatusNotFound)
	k.refused(http.MethodPost, "/backend/api/folders/", "admin",
		map[string]any{"old_folder": made.ID, "new_folder": 0, "department": f.DeptA}, http.StatusNotFound)
	k.refused(http.MethodDelete, "/backend/api/folders/{dir}/", "admin", nil, http.StatusNotFound)
	k.refused(http.MethodDelete, "/backend/api/folders/{dir}/remove/", "admin", nil, http.StatusNotFound)
}
