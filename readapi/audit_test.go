package readapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// auditSecret is the plain value of an encrypted variable of the audit
// test; no answer may hold it.
const auditSecret = "aüdit-s3cret"

// auditEvent is an event as the audit endpoints list it.
type auditEvent struct {
	Seq           int64     `json:"seq"`
	EventType     string    `json:"event_type"`
	Stream        string    `json:"stream"`
	OccurredAt    time.Time `json:"occurred_at"`
	Actor         string    `json:"actor"`
	CorrelationID string    `json:"correlation_id"`
	Deps          []int64   `json:"department_ids"`
	User          *struct {
		UserID int64 `json:"user_id"`
	} `json:"user"`
}

type auditPage struct {
	Results []auditEvent `json:"results"`
	Next    *string      `json:"next"`
	LastSeq int64        `json:"last_seq"`
}

// TestAuditEvents lists the raw events as SUPERUSER with every filter and
// by pages, one department's events to whom may see them, and checks that
// no secret appears and that bad parameters are refused.
func TestAuditEvents(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	setVariables(t, f, "devops", `{"environment_name": "Default", "variables": [
		{"variable_name": "password", "variable_value": "`+auditSecret+`", "encrypted": true}]}`, "{pw}")
	f.Vars["{featA}"] = newFeature(t, f, "devops", "Audited A", f.DeptA, stepJSON("Press Enter"))
	f.Vars["{featB}"] = newFeature(t, f, "devopsB", "Audited B", f.DeptB, stepJSON("Press Enter"))

	var all auditPage
	raw := k.get("/backend/api/events/?size=5000", "admin", 200, &all)
	if n := f.Srv.EventCount(t); int64(len(all.Results)) != n || all.Next != nil || all.LastSeq != n {
		t.Fatalf("%d events listed (last seq %d, next %v), the store holds %d", len(all.Results), all.LastSeq, all.Next, n)
	}
	for i, e := range all.Results {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d, want a dense sequence", i, e.Seq)
		}
		if strings.HasPrefix(e.Actor, "account-") && (e.User == nil || "account-"+strconv.FormatInt(e.User.UserID, 10) != e.Actor) {
			t.Errorf("event %d by %s names user %+v", e.Seq, e.Actor, e.User)
		}
	}
	body := string(raw.Body)
	if strings.Contains(body, auditSecret) || !strings.Contains(body, "U2FsdGVkX1") {
		t.Errorf("the events hold the plain secret, or no ciphertext")
	}
	for user, token := range f.Tokens {
		if strings.Contains(body, token) {
			t.Errorf("the events hold the token of %s", user)
		}
		// Nor its hash: every event answer leaves token_sha256 out.
		if strings.Contains(body, commands.TokenHash(token)) {
			t.Errorf("the events hold the hash of %s's token", user)
		}
	}

	// Each filter keeps exactly the events it names.
	mid := all.Results[len(all.Results)/2]
	for _, tc := range []struct {
		query string
		keep  func(auditEvent) bool
	}{
		{"stream=feature-{featA}", func(e auditEvent) bool { return e.Stream == "feature-"+f.Vars["{featA}"] }},
		{"event_type=FeatureCreated,VariableSet", func(e auditEvent) bool {
			return e.EventType == "FeatureCreated" || e.EventType == "VariableSet"
		}},
		{"actor={devops}", func(e auditEvent) bool { return e.Actor == "account-"+f.Vars["{devops}"] }},
		{"actor=service:bootstrap", func(e auditEvent) bool { return e.Actor == "service:bootstrap" }},
		{"correlation_id=" + mid.CorrelationID, func(e auditEvent) bool { return e.CorrelationID == mid.CorrelationID }},
		{"from=" + url.QueryEscape(mid.OccurredAt.Format(time.RFC3339Nano)), func(e auditEvent) bool {
			return !e.OccurredAt.Before(mid.OccurredAt)
		}},
		{"to=" + url.QueryEscape(mid.OccurredAt.Format(time.RFC3339Nano)), func(e auditEvent) bool {
			return e.OccurredAt.Before(mid.OccurredAt)
		}},
		{"department_id={deptB}", func(e auditEvent) bool { return slices.Contains(e.Deps, f.DeptB) }},
		{"after=" + strconv.FormatInt(mid.Seq, 10), func(e auditEvent) bool { return e.Seq > mid.Seq }},
	} {
		var page auditPage
		k.get("/backend/api/events/?size=5000&"+tc.query, "admin", 200, &page)
		want := []int64{}
		for _, e := range all.Results {
			if tc.keep(e) {
				want = append(want, e.Seq)
			}
		}
		got := []int64{}
		for _, e := range page.Results {
			got = append(got, e.Seq)
		}
		if !slices.Equal(got, want) || len(want) == 0 && tc.query != "actor=service:bootstrap" {
			t.Errorf("%s: %v, want %v", tc.query, got, want)
		}
	}

	// Pages of 7 following next add up to the whole log; past the end is
	// an empty page.
	var paged []int64
	next := "/backend/api/events/?size=7"
	for pages := 0; next != ""; pages++ {
		var page auditPage
		k.get(next, "admin", 200, &page)
		for _, e := range page.Results {
			paged = append(paged, e.Seq)
		}
		next = ""
		if page.Next != nil {
			u, err := url.Parse(*page.Next)
			if err != nil {
				t.Fatal(err)
			}
			next = u.RequestURI()
		}
		if pages > len(all.Results) {
			t.Fatal("the pages do not end")
		}
	}
	if len(paged) != len(all.Results) || paged[len(paged)-1] != all.LastSeq {
		t.Errorf("paged %d events, want %d", len(paged), len(all.Results))
	}
	var empty auditPage
	k.get("/backend/api/events/?after="+strconv.FormatInt(all.LastSeq+100, 10), "admin", 200, &empty)
	if len(empty.Results) != 0 || empty.Next != nil {
		t.Errorf("past the end: %+v", empty)
	}

	// A department's audit is its events.
	var audit, byFilter auditPage
	k.get("/backend/api/departments/{deptA}/audit/?size=5000", "admin", 200, &audit)
	k.get("/backend/api/events/?size=5000&department_id={deptA}", "admin", 200, &byFilter)
	if len(audit.Results) == 0 || !slices.EqualFunc(audit.Results, byFilter.Results,
		func(a, b auditEvent) bool { return a.Seq == b.Seq }) {
		t.Errorf("audit of department A: %d events, the filter %d", len(audit.Results), len(byFilter.Results))
	}
	for _, e := range audit.Results {
		if e.Stream == "feature-"+f.Vars["{featB}"] {
			t.Errorf("the audit of department A lists %s", e.Stream)
		}
	}

	for _, tc := range []struct {
		path, as string
		status   int
	}{
		{"/backend/api/events/", "devops", 403},
		{"/backend/api/events/", "manager", 403},
		{"/backend/api/events/", "", 401},
		{"/backend/api/departments/{deptA}/audit/", "manager", 403},
		{"/backend/api/departments/{deptA}/audit/", "devopsB", 403},
		{"/backend/api/departments/abc/audit/", "admin", 400},
		{"/backend/api/departments/{deptA}/audit/?department_id={deptB}", "admin", 400},
		{"/backend/api/departments/999/audit/", "admin", 404},
		{"/backend/api/events/?after=x", "admin", 400},
		{"/backend/api/events/?after=-1", "admin", 400},
		{"/backend/api/events/?size=0", "admin", 400},
		{"/backend/api/events/?size=many", "admin", 400},
		{"/backend/api/events/?from=yesterday", "admin", 400},
		{"/backend/api/events/?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "admin", 400},
		{"/backend/api/events/?department_id=x", "admin", 400},
		{"/backend/api/events/?type=FeatureSaved", "admin", 400},
		{"/backend/api/events/?stream=no-such-stream", "admin", 200},
	} {
		f.Srv.Unchanged(t, tc.path, func() { k.get(tc.path, tc.as, tc.status, nil) })
	}
}

// TestAuditDeletedDepartment deletes a department: its audit stays
// readable to SUPERUSER, the deletion included (its former members are
// members no more, so to them it is 404 as any other department).
func TestAuditDeletedDepartment(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	var dep struct {
		ID int64 `json:"department_id"`
	}
	k.do(http.MethodPost, "/backend/api/departments/", "admin", `{"department_name": "Gone"}`, 201, &dep)
	path := "/backend/api/departments/" + strconv.FormatInt(dep.ID, 10) + "/audit/"
	k.do(http.MethodDelete, "/backend/api/departments/"+strconv.FormatInt(dep.ID, 10)+"/", "admin", nil, 200, nil)

	var audit auditPage
	k.get(path, "admin", 200, &audit)
	if n := len(audit.Results); n == 0 || audit.Results[n-1].EventType != "DepartmentDeleted" {
		t.Errorf("audit of the deleted department: %+v, want it to end with its deletion", audit.Results)
	}
}

// TestAdminProjections shows every read model's status to SUPERUSER,
// rebuilds read models over the API (waiting, and in the background with
// progress in the status) and checks that a rebuild leaves the same tables
// and the same trend; refused requests append nothing.
func TestAdminProjections(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	r := newRunner(t, f.Srv)
	f.Vars["{feat}"] = newFeature(t, f, "devops", "Rebuilt", f.DeptA, stepJSON("Press Enter"))
	feat, _ := strconv.ParseInt(f.Vars["{feat}"], 10, 64)
	for _, status := range []string{"Success", "Failed", "Success"} {
		run := r.request(f.IDs["devops"], f.DeptA, feat)
		h := r.start(run)
		r.step(h, 1, "Press Enter", status, 40)
		r.finish(h, status, 0)
	}

	type status struct {
		Results []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"results"`
		Rebuilds []struct {
			ID      int64  `json:"id"`
			State   string `json:"state"`
			Results []struct {
				Name     string `json:"name"`
				Checksum string `json:"checksum"`
				Events   int64  `json:"events"`
			} `json:"results"`
		} `json:"rebuilds"`
	}
	var st status
	k.get("/backend/api/admin/projections/", "admin", 200, &st)
	var names []string
	for _, m := range st.Results {
		names = append(names, m.Name)
	}
	for _, want := range []string{"event_log", "feature_history", "trend", "features"} {
		if !slices.Contains(names, want) {
			t.Errorf("status lists %v, not %s", names, want)
		}
	}
	trendBefore := k.get("/backend/api/features/{feat}/trend/", "devops", 200, nil).Body

	r.settled() // the checksums below are of tables that have it all
	sums := map[string]string{}
	for _, name := range []string{"trend", "event_log", "feature_history"} {
		sum, err := f.Srv.Manager.Checksum(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		sums[name] = sum
	}
	var job struct {
		ID      int64  `json:"id"`
		State   string `json:"state"`
		Results []struct {
			Name     string `json:"name"`
			Checksum string `json:"checksum"`
			Events   int64  `json:"events"`
		} `json:"results"`
	}
	k.f.Srv.Unchanged(t, "rebuild", func() {
		k.do(http.MethodPost, "/backend/api/admin/projections/rebuild/", "admin",
			map[string]any{"read_models": []string{"trend", "event_log", "feature_history"}, "wait": true}, 200, &job)
	})
	if job.State != "done" || len(job.Results) != 3 {
		t.Fatalf("rebuild job: %+v", job)
	}
	for _, res := range job.Results {
		if res.Checksum != sums[res.Name] || res.Events == 0 {
			t.Errorf("rebuilt %s: checksum %s after %d events, before %s", res.Name, res.Checksum, res.Events, sums[res.Name])
		}
	}
	if after := k.get("/backend/api/features/{feat}/trend/", "devops", 200, nil).Body; string(after) != string(trendBefore) {
		t.Errorf("trend after the rebuild:\n%s\nbefore:\n%s", after, trendBefore)
	}

	// In the background: 202, then the job shows in the status until done.
	k.do(http.MethodPost, "/backend/api/admin/projections/rebuild/", "admin",
		map[string]any{"read_models": []string{"trend"}}, http.StatusAccepted, &job)
	background := job.ID
	// The status is the only signal a client has; poll it.
	deadline := time.Now().Add(liveGuard)
	for {
		k.get("/backend/api/admin/projections/", "admin", 200, &st)
		if len(st.Rebuilds) == 0 || st.Rebuilds[0].ID != background {
			t.Fatalf("the status lists rebuilds %+v, not job %d first", st.Rebuilds, background)
		}
		if st.Rebuilds[0].State != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rebuild did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := st.Rebuilds[0]; got.State != "done" || got.Results[0].Checksum != sums["trend"] {
		t.Errorf("background rebuild: %+v", got)
	}

	for _, tc := range []struct {
		as     string
		body   any
		status int
	}{
		{"devops", map[string]any{"all": true}, 403},
		{"admin", map[string]any{"read_models": []string{"nope"}}, 400},
		{"admin", map[string]any{}, 400},
		{"admin", `{"read_models": "trend"}`, 400},
		{"admin", `{"read_models": ["trend"], "now": true}`, 400},
		{"admin", `{`, 400},
	} {
		k.refused(http.MethodPost, "/backend/api/admin/projections/rebuild/", tc.as, tc.body, tc.status)
	}
	k.get("/backend/api/admin/projections/", "manager", 403, nil)
}
