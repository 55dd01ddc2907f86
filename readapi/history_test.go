package readapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// kit sends the requests of the history, audit and replay tests.
type kit struct {
	t *testing.T
	f *apitest.Fixture
}

// do sends a request as user, wants status, and decodes the answer into
// out when out is not nil.
func (k kit) do(method, path, user string, body any, status int, out any) *apitest.Response {
	k.t.Helper()
	r := k.f.Srv.Send(k.t, apitest.Request{Method: method, Path: k.f.Expand(path), Token: k.f.Tokens[user], Body: body})
	r.Want(k.t, status)
	if out != nil {
		r.JSON(k.t, out)
	}
	return r
}

func (k kit) get(path, user string, status int, out any) *apitest.Response {
	k.t.Helper()
	return k.do(http.MethodGet, path, user, nil, status, out)
}

// refused sends a request that must be refused with status and append
// nothing.
func (k kit) refused(method, path, user string, body any, status int) {
	k.t.Helper()
	k.f.Srv.Unchanged(k.t, method+" "+path, func() { k.do(method, path, user, body, status, nil) })
}

// histStep is a step as the UI sends it, keeping its stable id when given.
func histStep(id, content string, enabled bool) map[string]any {
	s := map[string]any{"step_keyword": "Given", "step_content": content, "enabled": enabled,
		"screenshot": false, "compare": false, "step_type": "normal", "continue_on_failure": false, "timeout": 60}
	if id != "" {
		s["step_id"] = id
	}
	return s
}

// histEntry is a history entry as the test reads it.
type histEntry struct {
	Sequence     int       `json:"sequence"`
	Version      int       `json:"version"`
	EventType    string    `json:"event_type"`
	Date         time.Time `json:"date"`
	Actor        string    `json:"actor"`
	RestoredFrom int       `json:"restored_from"`
	FolderID     int64     `json:"folder_id"`
	Schedule     *struct {
		Expression string `json:"expression"`
	} `json:"schedule"`
	User *struct {
		UserID int64  `json:"user_id"`
		Name   string `json:"name"`
		Email  string `json:"email"`
	} `json:"user"`
	Summary struct {
		Fields   []string `json:"fields"`
		Added    int      `json:"steps_added"`
		Removed  int      `json:"steps_removed"`
		Edited   int      `json:"steps_edited"`
		Moved    int      `json:"steps_moved"`
		Enabled  int      `json:"steps_enabled"`
		Disabled int      `json:"steps_disabled"`
	} `json:"summary"`
}

// histVersion is a versions answer.
type histVersion struct {
	Version      int              `json:"version"`
	Sequence     int              `json:"sequence"`
	RestoredFrom int              `json:"restored_from"`
	FolderID     int64            `json:"folder_id"`
	Feature      map[string]any   `json:"feature"`
	Steps        []map[string]any `json:"steps"`
}

// histDiff is a diff answer.
type histDiff struct {
	From   int `json:"from"`
	To     int `json:"to"`
	Fields []struct {
		Field string `json:"field"`
	} `json:"fields"`
	Steps []struct {
		Kind   string `json:"kind"`
		StepID string `json:"step_id"`
	} `json:"steps"`
}

// state is what GET /api/features/<id>/ and GET /steps/<id>/ answered
// after one edit.
type state struct {
	feature map[string]any
	steps   []map[string]any
}

func (k kit) state(id string) state {
	k.t.Helper()
	var f struct {
		Results []map[string]any `json:"results"`
	}
	k.get("/backend/api/features/"+id+"/", "devops", 200, &f)
	var s struct {
		Results []map[string]any `json:"results"`
	}
	k.get("/backend/steps/"+id+"/", "devops", 200, &s)
	return state{feature: f.Results[0], steps: s.Results}
}

// TestFeatureHistory edits a feature through the API in five ways by two
// accounts (rename, steps edited and disabled, steps added, removed and
// moved, flags, a folder move) and sets its schedule, then checks its
// history, every version by number and by time against what the feature
// and steps endpoints showed at the time, the diff of every pair of
// versions, and a restore; refused requests append nothing.
func TestFeatureHistory(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}

	var created struct {
		ID int64 `json:"feature_id"`
	}
	k.do(http.MethodPost, "/backend/api/features/", "devops", map[string]any{
		"feature_name": "Checkout", "app_id": 1, "environment_id": 1, "department_id": f.DeptA,
		"steps": map[string]any{"steps_content": []any{
			histStep("", `Goto URL "https://example.com/"`, true), histStep("", "Press Enter", true),
			histStep("", "Press TAB", true)}},
	}, http.StatusCreated, &created)
	id := strconv.FormatInt(created.ID, 10)
	f.Vars["{feat}"] = id
	states := []state{{}, k.state(id)} // states[n] is version n
	ids := func(n int) []string {
		var out []string
		for _, s := range states[n].steps {
			out = append(out, s["step_id"].(string))
		}
		return out
	}
	s := ids(1)

	patch := func(user string, body map[string]any) {
		t.Helper()
		body["feature_id"] = created.ID
		k.do(http.MethodPatch, "/backend/api/features/", user, body, 200, nil)
		states = append(states, k.state(id))
	}
	patch("manager", map[string]any{"feature_name": "Checkout renamed"})
	patch("devops", map[string]any{"steps": map[string]any{"steps_content": []any{
		histStep(s[0], `Goto URL "https://example.com/"`, false), histStep(s[1], `Send keys "abc"`, true),
		histStep(s[2], "Press TAB", true)}}})
	patch("manager", map[string]any{"steps": map[string]any{"steps_content": []any{
		histStep(s[2], "Press TAB", true), histStep(s[0], `Goto URL "https://example.com/"`, false),
		histStep("", `I can see "Welcome"`, true)}}})
	patch("devops", map[string]any{"video": false, "continue_on_failure": true})
	folder := newFolder(t, f, "devops", "Nightly", "")
	k.do(http.MethodPatch, "/backend/api/folder/feature/", "manager",
		map[string]any{"feature_id": created.ID, "new_folder": folder}, 200, nil)
	k.do(http.MethodPatch, "/backend/api/features/", "devops",
		map[string]any{"feature_id": created.ID, "schedule": "0 6 * * *"}, 200, nil)

	var hist struct {
		Version int         `json:"version"`
		Results []histEntry `json:"results"`
	}
	k.get("/backend/api/features/{feat}/history/", "anonymous", 200, &hist)
	folderID, _ := strconv.ParseInt(folder, 10, 64)
	type row struct {
		Seq, Version int
		Type, By     string
		Folder       int64
		Fields       []string
		Counts       [6]int // added, removed, edited, moved, enabled, disabled
	}
	var got []row
	for _, e := range hist.Results {
		if e.User == nil {
			t.Fatalf("entry %d has no user: %+v", e.Sequence, e)
		}
		by := map[int64]string{f.IDs["devops"]: "devops", f.IDs["manager"]: "manager"}[e.User.UserID]
		fields := e.Summary.Fields
		if e.Sequence == 1 {
			fields = nil // every field of the first version
		}
		sm := e.Summary
		got = append(got, row{e.Sequence, e.Version, e.EventType, by, e.FolderID, fields,
			[6]int{sm.Added, sm.Removed, sm.Edited, sm.Moved, sm.Enabled, sm.Disabled}})
	}
	want := []row{
		{1, 1, "FeatureSaved", "devops", 0, nil, [6]int{3, 0, 0, 0, 0, 0}},
		{2, 2, "FeatureSaved", "manager", 0, []string{"feature_name", "slug"}, [6]int{}},
		{3, 3, "FeatureSaved", "devops", 0, []string{}, [6]int{0, 0, 1, 0, 0, 1}},
		{4, 4, "FeatureSaved", "manager", 0, []string{}, [6]int{1, 1, 0, 1, 0, 0}},
		{5, 5, "FeatureSaved", "devops", 0, []string{"video", "continue_on_failure"}, [6]int{}},
		{6, 5, "FeatureMovedToFolder", "manager", folderID, []string{"folder_id"}, [6]int{}},
		{7, 5, "FeatureScheduled", "devops", folderID, []string{"schedule"}, [6]int{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("history:\n got %+v\nwant %+v", got, want)
	}
	if e := hist.Results[6]; e.Schedule == nil || e.Schedule.Expression != "0 6 * * *" {
		t.Errorf("entry 7 schedule = %+v, want 0 6 * * *", e.Schedule)
	}

	// Every version is what the feature and steps endpoints showed then.
	versions := make([]histVersion, 6)
	for n := 1; n <= 5; n++ {
		k.get(fmt.Sprintf("/backend/api/features/{feat}/versions/%d/", n), "devops", 200, &versions[n])
		if !reflect.DeepEqual(versions[n].Feature, states[n].feature) {
			t.Errorf("version %d feature:\n got %v\nwant %v", n, versions[n].Feature, states[n].feature)
		}
		if !reflect.DeepEqual(versions[n].Steps, states[n].steps) {
			t.Errorf("version %d steps:\n got %v\nwant %v", n, versions[n].Steps, states[n].steps)
		}
	}

	// By time: after each entry, the feature as that entry left it.
	for _, e := range hist.Results {
		var v histVersion
		k.get("/backend/api/features/{feat}/versions/?at="+url.QueryEscape(e.Date.Format(time.RFC3339Nano)),
			"devops", 200, &v)
		if v.Sequence != e.Sequence || v.Version != e.Version || v.FolderID != e.FolderID ||
			(v.Feature["schedule"] != nil) != (e.Schedule != nil) {
			t.Errorf("at entry %d: sequence %d version %d folder %d schedule %v", e.Sequence, v.Sequence,
				v.Version, v.FolderID, v.Feature["schedule"])
		}
	}
	before := hist.Results[0].Date.Add(-time.Millisecond).Format(time.RFC3339Nano)
	k.get("/backend/api/features/{feat}/versions/?at="+url.QueryEscape(before), "devops", 404, nil)

	// The diff of every pair agrees with the versions it compares.
	for a := 1; a <= 5; a++ {
		for b := a; b <= 5; b++ {
			var d histDiff
			k.get(fmt.Sprintf("/backend/api/features/{feat}/diff/?from=%d&to=%d", a, b), "analysis", 200, &d)
			checkDiff(t, a, b, d, versions[a], versions[b])
		}
	}
	var d histDiff
	k.get("/backend/api/features/{feat}/diff/", "devops", 200, &d)
	if d.From != 4 || d.To != 5 || len(d.Fields) != 2 {
		t.Errorf("default diff: %+v, want 4 to 5 with video and continue_on_failure", d)
	}

	// Restore version 1 (manager), refusals first.
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "devopsB", nil, 404)
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "manager", map[string]any{"version": 3}, 409)
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/9/", "manager", nil, 404)
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/0/", "manager", nil, 400)
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "manager", `{"version": "x"}`, 400)
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "manager", `{"versoin": 5}`, 400)
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/5/", "manager", nil, 200) // current: no-op
	var restored struct {
		Changed      bool           `json:"changed"`
		Version      int            `json:"version"`
		RestoredFrom int            `json:"restored_from"`
		Info         map[string]any `json:"info"`
	}
	k.do(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "manager", map[string]any{"version": 5}, 200, &restored)
	if !restored.Changed || restored.Version != 6 || restored.RestoredFrom != 1 ||
		restored.Info["feature_name"] != "Checkout" {
		t.Errorf("restore: %+v", restored)
	}
	now := k.state(id)
	if !reflect.DeepEqual(stepContents(now.steps), stepContents(states[1].steps)) {
		t.Errorf("steps after restoring 1:\n got %v\nwant %v", stepContents(now.steps), stepContents(states[1].steps))
	}
	k.get("/backend/api/features/{feat}/diff/?from=1&to=6", "devops", 200, &d)
	if len(d.Fields)+len(d.Steps) != 0 {
		t.Errorf("diff 1 to 6 after restoring 1: %+v, want none", d)
	}
	k.get("/backend/api/features/{feat}/history/", "devops", 200, &hist)
	if last := hist.Results[len(hist.Results)-1]; len(hist.Results) != 8 || last.Version != 6 || last.RestoredFrom != 1 {
		t.Errorf("history after the restore: last entry %+v of %d", last, len(hist.Results))
	}

	// A deleted account still names its changes.
	k.do(http.MethodDelete, "/backend/api/accounts/{manager}/", "admin", nil, 200, nil)
	k.get("/backend/api/features/{feat}/history/", "devops", 200, &hist)
	if u := hist.Results[1].User; u == nil || u.UserID != f.IDs["manager"] || u.Name != "Test MANAGER" || u.Email == "" {
		t.Errorf("entry 2 after deleting its account: user %+v", u)
	}
}

// checkDiff checks a diff from version a to b against the two versions:
// the fields named are those whose values differ, the steps added and
// removed are those of one version only.
func checkDiff(t *testing.T, a, b int, d histDiff, va, vb histVersion) {
	t.Helper()
	var fields []string
	for _, fc := range d.Fields {
		fields = append(fields, fc.Field)
	}
	var differ []string
	for key, av := range va.Feature {
		switch key {
		case "feature_id", "steps", "version", "last_edited", "last_edited_date", "created_by", "created_on",
			"screenshot", "compare", "number_notification_sent", "is_feature_file_being_created", "info",
			"telegram_options", "schedule", "original_cron", "original_timezone":
			continue
		}
		if !reflect.DeepEqual(av, vb.Feature[key]) {
			differ = append(differ, key)
		}
	}
	sort.Strings(fields)
	sort.Strings(differ)
	if !slices.Equal(fields, differ) {
		t.Errorf("diff %d to %d: fields %v, want %v", a, b, fields, differ)
	}
	in := func(v histVersion) map[string]bool {
		m := map[string]bool{}
		for _, s := range v.Steps {
			m[s["step_id"].(string)] = true
		}
		return m
	}
	ia, ib := in(va), in(vb)
	for _, sc := range d.Steps {
		switch sc.Kind {
		case "added":
			if ia[sc.StepID] || !ib[sc.StepID] {
				t.Errorf("diff %d to %d: step %s added but in %v / %v", a, b, sc.StepID, ia, ib)
			}
			delete(ib, sc.StepID)
		case "removed":
			if !ia[sc.StepID] || ib[sc.StepID] {
				t.Errorf("diff %d to %d: step %s removed but in %v / %v", a, b, sc.StepID, ia, ib)
			}
			delete(ia, sc.StepID)
		}
	}
	for sid := range ia {
		if !ib[sid] {
			t.Errorf("diff %d to %d: step %s of version %d is gone but not listed as removed", a, b, sid, a)
		}
	}
	for sid := range ib {
		if !ia[sid] {
			t.Errorf("diff %d to %d: step %s of version %d is new but not listed as added", a, b, sid, b)
		}
	}
	// A step in both versions is edited when its sentence changed, and
	// enabled or disabled when its flag did; no other step is.
	byID := func(v histVersion) map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, s := range v.Steps {
			m[s["step_id"].(string)] = s
		}
		return m
	}
	sa, sb := byID(va), byID(vb)
	listed := map[string]string{}
	for _, sc := range d.Steps {
		listed[sc.StepID+" "+sc.Kind] = sc.Kind
	}
	for sid, before := range sa {
		after, ok := sb[sid]
		if !ok {
			continue
		}
		wantKinds := map[string]bool{
			"edited":   before["step_content"] != after["step_content"],
			"enabled":  before["enabled"] == false && after["enabled"] == true,
			"disabled": before["enabled"] == true && after["enabled"] == false,
		}
		for kind, want := range wantKinds {
			if _, got := listed[sid+" "+kind]; got != want && (want || kind != "edited") {
				t.Errorf("diff %d to %d: step %s listed as %s: %v, want %v", a, b, sid, kind, got, want)
			}
		}
	}
	if a == b && len(d.Fields)+len(d.Steps) != 0 {
		t.Errorf("diff %d to %d: %+v, want none", a, b, d)
	}
}

// stepContents is what identifies steps across a restore: stable id,
// sentence and flag.
func stepContents(steps []map[string]any) []string {
	out := []string{}
	for _, s := range steps {
		out = append(out, fmt.Sprint(s["step_id"], "|", s["step_content"], "|", s["enabled"]))
	}
	return out
}

// TestHistoryBadInput: unknown ids and versions, from later than to,
// times before the feature existed and malformed parameters are 4xx, never
// a 5xx; a feature of another department is not found.
func TestHistoryBadInput(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	f.Vars["{feat}"] = newFeature(t, f, "devops", "Bad input", f.DeptA, stepJSON("Press Enter"))
	for _, tc := range []struct {
		path, as string
		status   int
	}{
		{"/backend/api/features/abc/history/", "devops", 400},
		{"/backend/api/features/0/history/", "devops", 400},
		{"/backend/api/features/999999/history/", "devops", 404},
		{"/backend/api/features/{feat}/history/", "devopsB", 404},
		{"/backend/api/features/{feat}/history/", "", 401},
		{"/backend/api/features/{feat}/versions/1/", "devopsB", 404},
		{"/backend/api/features/{feat}/versions/2/", "devops", 404},
		{"/backend/api/features/{feat}/versions/0/", "devops", 400},
		{"/backend/api/features/{feat}/versions/x/", "devops", 400},
		{"/backend/api/features/{feat}/versions/99999999999999999999/", "devops", 400},
		{"/backend/api/features/{feat}/versions/", "devops", 400},
		{"/backend/api/features/{feat}/versions/?at=yesterday", "devops", 400},
		{"/backend/api/features/{feat}/versions/?at=2001-01-01T00:00:00Z", "devops", 404},
		{"/backend/api/features/{feat}/diff/?from=2&to=1", "devops", 400},
		{"/backend/api/features/{feat}/diff/?from=1&to=2", "devops", 404},
		{"/backend/api/features/{feat}/diff/?from=-1&to=1", "devops", 400},
		{"/backend/api/features/{feat}/diff/?from=a", "devops", 400},
		{"/backend/api/features/{feat}/diff/?to=1.5", "devops", 400},
		{"/backend/api/features/{feat}/diff/?from=0&to=1", "devops", 200},
	} {
		k.f.Srv.Unchanged(t, tc.path, func() { k.get(tc.path, tc.as, tc.status, nil) })
	}
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "devops", "{", 400)
	r := f.Srv.Send(t, apitest.Request{Method: http.MethodPost, Path: f.Expand("/backend/api/features/{feat}/restore/1/"),
		Token: f.Tokens["devops"], Body: `{"version": 1}`, ContentType: "text/plain"})
	r.Want(t, http.StatusUnsupportedMediaType)
	var v histVersion
	k.get("/backend/api/features/{feat}/versions/?at="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)),
		"devops", 200, &v)
	if v.Version != 1 {
		t.Errorf("in an hour: version %d, want 1", v.Version)
	}
	var probe json.RawMessage
	k.do(http.MethodDelete, "/backend/api/features/{feat}/", "devops", nil, 200, &probe)
	k.get("/backend/api/features/{feat}/versions/?at="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)),
		"devops", 404, nil)
	k.get("/backend/api/features/{feat}/versions/1/", "devops", 200, nil) // history outlives the feature
	k.refused(http.MethodPost, "/backend/api/features/{feat}/restore/1/", "devops", nil, 404)
}
