package readapi_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestDeletedDepartmentRuns deletes a department with a finished result,
// a running one and four queued ones (no runner takes them in this test).
// The queued results leave the run queue and a runner's claim of one is
// refused; the finished result stays readable but every write to it or
// its run is a 404 that appends nothing, for the SUPERUSER too; killTask
// still reaches the department's feature, deleted with it, and stops its
// running and queued results. Another department's queued result stays.
func TestDeletedDepartmentRuns(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	ctx := context.Background()
	dept := f.Srv.Department(t, "Going away with its runs")
	f.Vars["{dept}"] = strconv.FormatInt(dept, 10)
	feat := runFeature(t, f, "admin", "Queued in a doomed department", dept, "Press Enter")
	f.Vars["{feat}"] = strconv.FormatInt(feat, 10)
	featA := runFeature(t, f, "devops", "Queued elsewhere", f.DeptA, "Press Enter")

	done := simulateRun(t, f, "admin", feat, okS, simStep{status: okS, ms: 5})
	f.Vars["{done}"] = strconv.FormatInt(done.ResultID, 10)
	f.Vars["{doneRun}"] = strconv.FormatInt(done.RunID, 10)
	f.Vars["{doneStep}"] = strconv.FormatInt(done.StepResultIDs[0], 10)
	running := simulateRun(t, f, "admin", feat, "", simStep{status: okS, ms: 5})
	var queued []requested
	for range 4 {
		queued = append(queued, execTest(t, f, "admin", feat))
	}
	kept := execTest(t, f, "devops", featA)

	k.do(http.MethodDelete, "/backend/api/departments/{dept}/", "admin", nil, 200, nil)
	settleAll(t, f.Srv)

	list, err := projections.NewRunQueueReader(f.Srv.Pool).Queued(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []run.Ref{{FeatureResultID: kept.ResultIDs[0], RunID: kept.RunID}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("run queue after the deletion (-want +got):\n%s", diff)
	}
	// A runner that read a queued result before the deletion cannot
	// claim it.
	runs := commands.NewRuns(f.Srv.Log, f.Srv.IDs, commands.RunsConfig{})
	claim := commands.Meta{Actor: "service:runner", Now: time.Now()}
	f.Srv.Unchanged(t, "claim of a dropped result", func() {
		_, err := runs.Claim(ctx, claim, queued[0].ResultIDs[0], queued[0].RunID, "late-runner",
			time.Now().Add(time.Minute), time.Now)
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("claim of a queued result of the deleted department: %v, want not found", err)
		}
	})

	k.get("/backend/api/feature_results/{done}/", "admin", 200, nil)
	k.get("/backend/api/step_result/{doneStep}/", "admin", 200, nil)
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPatch, "/backend/api/feature_results/{done}/", map[string]any{"archived": true}},
		{http.MethodPatch, "/backend/api/feature_results/", map[string]any{"feature_result_id": done.ResultID,
			"status": "Failed"}},
		{http.MethodPatch, "/backend/api/step_result/{doneStep}/", map[string]any{"status": "Failed"}},
		{http.MethodDelete, "/backend/api/feature_results/{done}/", nil},
		{http.MethodPatch, "/backend/api/feature_run/{doneRun}/", map[string]any{"archived": true}},
		{http.MethodDelete, "/backend/api/feature_run/{doneRun}/", nil},
	} {
		k.refused(w.method, w.path, "admin", w.body, http.StatusNotFound)
	}
	r := k.do(http.MethodPatch, "/backend/api/feature_results/{done}/", "admin",
		map[string]any{"archived": true}, http.StatusNotFound, nil)
	says("department "+f.Vars["{dept}"]+" was deleted")(t, f, r)

	var killed struct {
		Tasks int     `json:"tasks"`
		IDs   []int64 `json:"feature_result_ids"`
	}
	k.get("/backend/killTask/{feat}/", "admin", 200, &killed)
	wantKilled := []int64{running.ResultID}
	for _, q := range queued {
		wantKilled = append(wantKilled, q.ResultIDs[0])
	}
	if diff := cmp.Diff(wantKilled, killed.IDs); diff != "" {
		t.Errorf("killTask of the deleted department's feature (-want +got):\n%s", diff)
	}
}

// TestKillTaskOfDeletedFeature deletes a feature while a result of it is
// running: killTask still stops it for a caller of its department, is a
// 404 to another department, and is a 404 for a deleted feature with
// nothing running.
func TestKillTaskOfDeletedFeature(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	feat := runFeature(t, f, "devops", "Deleted while it runs", f.DeptA, "Press Enter")
	idle := runFeature(t, f, "devops", "Deleted at rest", f.DeptA, "Press Enter")
	f.Vars["{feat}"] = strconv.FormatInt(feat, 10)
	f.Vars["{idle}"] = strconv.FormatInt(idle, 10)
	sim := simulateRun(t, f, "devops", feat, "", simStep{status: okS, ms: 5})
	k.do(http.MethodDelete, "/backend/api/features/{feat}/", "devops", nil, 200, nil)
	k.do(http.MethodDelete, "/backend/api/features/{idle}/", "devops", nil, 200, nil)

	k.refused(http.MethodGet, "/backend/killTask/{feat}/", "devopsB", nil, http.StatusNotFound)
	k.refused(http.MethodGet, "/backend/killTask/{idle}/", "devops", nil, http.StatusNotFound)
	var killed struct {
		IDs []int64 `json:"feature_result_ids"`
	}
	k.get("/backend/killTask/{feat}/", "devops", 200, &killed)
	if diff := cmp.Diff([]int64{sim.ResultID}, killed.IDs); diff != "" {
		t.Errorf("killTask of a deleted feature (-want +got):\n%s", diff)
	}
}
