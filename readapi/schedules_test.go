package readapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// fire is one entry of next_runs or a next_run.
type fire struct {
	UTC          time.Time `json:"utc"`
	Local        time.Time `json:"local"`
	NominalLocal string    `json:"nominal_local"`
	Shifted      bool      `json:"shifted"`
}

// mondaysAtHalfPastMidnight checks that the fire times at path (a list, or
// one fire) are Mondays 00:30 in Europe/Berlin, whatever the season: the
// local time the user asked for, never shifted to UTC.
func mondaysAtHalfPastMidnight(path string, n int) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, _ *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		raw := lookup(t, r, path)
		var fires []fire
		if err := json.Unmarshal([]byte(raw), &fires); err != nil {
			var one fire
			if err := json.Unmarshal([]byte(raw), &one); err != nil {
				t.Fatalf("%s: %s is not a fire time or a list of them: %s", r.Path, path, raw)
			}
			fires = []fire{one}
		}
		if len(fires) != n {
			t.Fatalf("%s: %s has %d fire times, want %d: %s", r.Path, path, len(fires), n, raw)
		}
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range fires {
			local := f.UTC.In(berlin)
			if local.Weekday() != time.Monday || local.Hour() != 0 || local.Minute() != 30 ||
				!f.Local.Equal(f.UTC) || f.Local.Format("-07:00") != local.Format("-07:00") || f.Shifted ||
				f.NominalLocal != local.Format("2006-01-02T15:04") {
				t.Errorf("%s: %s[%d] = %+v, want Monday 00:30 in Europe/Berlin", r.Path, path, i, f)
			}
			if i > 0 && !f.UTC.After(fires[i-1].UTC) {
				t.Errorf("%s: %s not in order: %v after %v", r.Path, path, f.UTC, fires[i-1].UTC)
			}
		}
	}
}

// scheduleCases are the schedule endpoints in the order a user meets them:
// set, see in the feature and the lists, read the history, clear.
func scheduleCases() []apitest.Case {
	const (
		get, post, put, patch = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch
		noFlag                = "forbidden: every default role has edit_feature and view_feature " +
			"(commands.TestScheduleSetChecks refuses a role without); here a request without a token"
		berlin = `{"schedule": "30 0 * * 1", "original_timezone": "Europe/Berlin"}`
	)
	return []apitest.Case{
		{Method: patch, Path: "/backend/schedule/{featA}/",
			OK: &apitest.Try{As: "manager", Body: berlin, Status: 200, Check: all(
				field("success", "true"), field("schedule.schedule", "30 0 * * 1"),
				field("schedule.original_timezone", "Europe/Berlin"), field("schedule.owner_id", "{manager}"),
				field("schedule.catch_up", "skip"), field("schedule.active", "true"),
				mondaysAtHalfPastMidnight("schedule.next_run", 1))},
			Forbidden:       &apitest.Try{As: "", Body: berlin, Status: 401, Check: says("Bearer")},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: berlin, Status: 404, Check: says("feature {featA}: not found")},
			BadBody: &apitest.Try{As: "devops", Body: `{"schedule": "30 0 * * 8"}`, Status: 400,
				Check: says(`day of week field "8"`)},
			NA: noFlag},
		{Method: get, Path: "/backend/api/features/{featA}/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("results.0.schedule", "30 0 * * 1"),
				field("results.0.original_cron", "30 0 * * 1"), field("results.0.original_timezone", "Europe/Berlin"),
				mondaysAtHalfPastMidnight("results.0.next_runs", 5))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Check: says("feature {featA}: not found")},
			NA:              noFlag + "; bad body: a read takes no input"},
		{Method: post, Path: "/schedule/{featB}",
			OK: &apitest.Try{As: "devopsB", Body: `{"schedule": "@hourly", "catch_up": "run_once"}`, Status: 200,
				Check: all(field("schedule.original_timezone", "UTC"), field("schedule.catch_up", "run_once"),
					field("schedule.next_run.shifted", "false"))},
			Forbidden: &apitest.Try{As: "", Body: `{"schedule": "@hourly"}`, Status: 401},
			OtherDepartment: &apitest.Try{As: "devops", Body: `{"schedule": "@hourly"}`, Status: 404,
				Check: says("feature {featB}: not found")},
			BadBody: &apitest.Try{As: "devopsB", Body: `{"schedule": "0 3 * * *", "original_timezone": "Mars/Olympus"}`,
				Status: 400, Check: says(`unknown time zone "Mars/Olympus"`)},
			NA: noFlag},
		{Method: get, Path: "/backend/api/schedules/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(listsExactly("schedules", "feature_id", "{featA}"),
				mondaysAtHalfPastMidnight("schedules.0.next_run", 1), field("schedules.0.owner.user_id", "{manager}"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: listsExactly("schedules", "feature_id", "{featB}")},
			NA:              noFlag + "; bad body: the list takes no input"},
		{Method: get, Path: "/api/schedules",
			OK: &apitest.Try{As: "admin", Status: 200, Check: listsExactly("schedules", "feature_id", "{featA}", "{featB}")},
			NA: "the bare form as SUPERUSER, who sees every department; refusals as above"},
		{Method: get, Path: "/backend/api/features/{featA}/schedule/history/",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("feature_id", "{featA}"), field("ticks", "[]"),
				field("changes.0.kind", "set"), field("changes.0.actor", "account-{manager}"),
				field("changes.0.actor_account.user_id", "{manager}"), field("schedule.schedule", "30 0 * * 1"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Check: says("feature {featA}: not found")},
			BadBody: &apitest.Try{As: "devops", Path: "/backend/api/features/{featA}/schedule/history/?limit=0",
				Status: 400, Check: says("limit")},
			NA: noFlag},
		{Method: put, Path: "/backend/schedule/{featA}/",
			OK:        &apitest.Try{As: "devops", Body: `{"schedule": ""}`, Status: 200, Check: field("schedule", "null")},
			Forbidden: &apitest.Try{As: "", Body: `{"schedule": ""}`, Status: 401},
			OtherDepartment: &apitest.Try{As: "devopsB", Body: `{"schedule": ""}`, Status: 404,
				Check: says("feature {featA}: not found")},
			BadBody: &apitest.Try{As: "devops", Body: `{"schedule": 5}`, Status: 400, Check: says("schedule: expected string")},
			NA:      noFlag},
		{Method: get, Path: "/backend/api/features/{featA}",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("results.0.schedule", "null"),
				field("results.0.original_timezone", "null"), field("results.0.next_runs", "[]"))},
			NA: "the feature after its schedule was removed; refusals as above"},
		{Method: get, Path: "/backend/api/features/{featA}/schedule/history",
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(field("schedule", "null"),
				field("changes.1.kind", "cleared"), field("changes.1.actor", "account-{devops}"),
				field("changes.1.schedule", "null"))},
			NA: "the history after the schedule was removed; refusals as above"},
	}
}

func TestScheduleEndpoints(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	apitest.RunCases(t, f, scheduleCases())
}

// TestScheduleSeedGetForm sets a schedule as the seed documents it: GET
// with the schedule in the query, then in a JSON body.
func TestScheduleSeedGetForm(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	path := f.Expand("/backend/schedule/{featA}/")
	q := url.Values{"schedule": {"0 9 * * 1-5"}, "original_timezone": {"Asia/Kolkata"}}
	r := f.Srv.Do(t, http.MethodGet, path+"?"+q.Encode(), f.Tokens["devops"], nil).Want(t, 200)
	all(field("schedule.schedule", "0 9 * * 1-5"), field("schedule.original_timezone", "Asia/Kolkata"))(t, f, r)
	var local time.Time
	if err := json.Unmarshal([]byte(`"`+lookup(t, r, "schedule.next_run.local")+`"`), &local); err != nil ||
		local.Format("15:04 -07:00") != "09:00 +05:30" || local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
		t.Errorf("next run %v (%v), want a weekday 09:00 +05:30", local, err)
	}

	r = f.Srv.Do(t, http.MethodGet, "/backend/api/features/"+f.Vars["{featA}"]+"/", f.Tokens["devops"], nil).Want(t, 200)
	field("results.0.original_timezone", "Asia/Kolkata")(t, f, r)

	f.Srv.Do(t, http.MethodGet, path, f.Tokens["devops"], map[string]any{"schedule": ""}).Want(t, 200)
	r = f.Srv.Do(t, http.MethodGet, "/backend/api/features/"+f.Vars["{featA}"]+"/schedule/history/",
		f.Tokens["devops"], nil).Want(t, 200)
	all(field("changes.0.schedule", "0 9 * * 1-5"), field("changes.1.kind", "cleared"), field("schedule", "null"))(t, f, r)

	// Clearing what is already clear, and "now" (Cometa's other word for
	// it), append nothing.
	f.Srv.Unchanged(t, "clearing twice", func() {
		f.Srv.Do(t, http.MethodPatch, path, f.Tokens["devops"], map[string]any{"schedule": "now"}).Want(t, 200)
		f.Srv.Do(t, http.MethodGet, path+"?schedule=", f.Tokens["devops"], nil).Want(t, 200)
	})
}

// TestScheduleDeleteRemoves: DELETE without a body removes the schedule,
// as {"schedule": ""} does, and removing it again appends nothing.
func TestScheduleDeleteRemoves(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	path := f.Expand("/backend/schedule/{featA}/")
	f.Srv.Do(t, http.MethodPatch, path, f.Tokens["devops"], map[string]any{"schedule": "0 3 * * *"}).Want(t, 200)
	r := f.Srv.Do(t, http.MethodDelete, path, f.Tokens["devops"], nil).Want(t, 200)
	field("schedule", "null")(t, f, r)
	r = f.Srv.Do(t, http.MethodGet, "/backend/api/features/"+f.Vars["{featA}"]+"/schedule/history/",
		f.Tokens["devops"], nil).Want(t, 200)
	all(field("changes.1.kind", "cleared"), field("schedule", "null"))(t, f, r)
	f.Srv.Unchanged(t, "removing twice", func() {
		f.Srv.Do(t, http.MethodDelete, path, f.Tokens["devops"], nil).Want(t, 200)
	})
}

// TestScheduleSundayAsSeven: Vixie cron's 7 for Sunday is accepted and
// stored as given, and the next run is a Sunday in the schedule's zone.
func TestScheduleSundayAsSeven(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	r := f.Srv.Do(t, http.MethodPatch, f.Expand("/backend/schedule/{featA}/"), f.Tokens["devops"],
		map[string]any{"schedule": "0 3 * * 0-7", "original_timezone": "Asia/Tokyo"}).Want(t, 200)
	field("schedule.schedule", "0 3 * * 0-7")(t, f, r)
	r = f.Srv.Do(t, http.MethodPatch, f.Expand("/backend/schedule/{featA}/"), f.Tokens["devops"],
		map[string]any{"schedule": "0 3 * * 7", "original_timezone": "Asia/Tokyo"}).Want(t, 200)
	var local time.Time
	if err := json.Unmarshal([]byte(`"`+lookup(t, r, "schedule.next_run.local")+`"`), &local); err != nil ||
		local.Weekday() != time.Sunday || local.Format("15:04 -07:00") != "03:00 +09:00" {
		t.Errorf("next run %v (%v), want a Sunday 03:00 +09:00", local, err)
	}
}

// TestScheduleBadInput sends what the schedule endpoints must refuse:
// each answer names the problem and appends nothing.
func TestScheduleBadInput(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	cases := []struct {
		name, method, path, body, contentType string
		status                                int
		says                                  string
	}{
		{"minute out of range", "PATCH", "/backend/schedule/{featA}/", `{"schedule": "61 * * * *"}`, "", 400,
			`minute field "61"`},
		{"not cron at all", "PATCH", "/backend/schedule/{featA}/", `{"schedule": "every day"}`, "", 400,
			"expected exactly 5 fields"},
		{"seconds field", "POST", "/backend/schedule/{featA}/", `{"schedule": "0 0 3 * * *"}`, "", 400,
			"seconds field is not supported"},
		{"@every", "POST", "/backend/schedule/{featA}/", `{"schedule": "@every 5m"}`, "", 400, "@every"},
		{"CRON_TZ prefix", "POST", "/backend/schedule/{featA}/", `{"schedule": "CRON_TZ=UTC 0 3 * * *"}`, "", 400,
			"original_timezone"},
		{"never fires", "POST", "/backend/schedule/{featA}/", `{"schedule": "0 0 30 2 *"}`, "", 400, "never fires"},
		{"unknown zone", "PATCH", "/backend/schedule/{featA}/",
			`{"schedule": "0 3 * * *", "original_timezone": "Europe/Atlantis"}`, "", 400,
			`unknown time zone "Europe/Atlantis"`},
		{"the machine's zone", "PATCH", "/backend/schedule/{featA}/",
			`{"schedule": "0 3 * * *", "original_timezone": "Local"}`, "", 400, "not an IANA zone name"},
		{"unknown policy", "PATCH", "/backend/schedule/{featA}/", `{"schedule": "0 3 * * *", "catch_up": "all"}`, "",
			400, "catch-up policy"},
		{"no schedule key", "PATCH", "/backend/schedule/{featA}/", `{"original_timezone": "UTC"}`, "", 400,
			"Schedule not provided"},
		{"no body, no query", "PATCH", "/backend/schedule/{featA}/", "", "", 400, "Schedule not provided"},
		{"a token robfig/cron does not know", "PATCH", "/backend/schedule/{featA}/", `{"schedule": "0 3 L * *"}`, "",
			400, `schedule: cron expression "0 3 L * *": day of month field "L": "L" is not a number`},
		{"malformed JSON", "PATCH", "/backend/schedule/{featA}/", `{"schedule": `, "", 400, "malformed JSON"},
		{"not JSON", "PATCH", "/backend/schedule/{featA}/", `schedule=x`, "text/plain", 415, "application/json"},
		{"bad cron in the query", "GET", "/backend/schedule/{featA}/?schedule=61+*+*+*+*", "", "", 400, "minute field"},
		{"feature of another department", "PATCH", "/backend/schedule/{featB}/", `{"schedule": "0 3 * * *"}`, "",
			404, "feature {featB}: not found"},
		{"feature that does not exist", "PATCH", "/backend/schedule/999/", `{"schedule": "0 3 * * *"}`, "", 404,
			"feature 999: not found"},
		{"feature id not a number", "PATCH", "/backend/schedule/abc/", `{"schedule": "0 3 * * *"}`, "", 400,
			"feature_id"},
		{"history page of zero", "GET", "/backend/api/features/{featA}/schedule/history/?limit=0", "", "", 400,
			"limit: must be between 1 and 1000"},
		{"history page not a number", "GET", "/backend/api/features/{featA}/schedule/history/?limit=x", "", "", 400,
			"limit"},
		{"history before not an instant", "GET", "/backend/api/features/{featA}/schedule/history/?before=yesterday",
			"", "", 400, "before"},
		{"history of another department", "GET", "/backend/api/features/{featB}/schedule/history/", "", "", 404,
			"feature {featB}: not found"},
		{"history of no feature", "GET", "/backend/api/features/999/schedule/history/", "", "", 404,
			"feature 999: not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Srv.Unchanged(t, tc.name, func() {
				req := apitest.Request{Method: tc.method, Path: f.Expand(tc.path), Token: f.Tokens["devops"],
					ContentType: tc.contentType}
				if tc.body != "" {
					req.Body = f.Expand(tc.body)
				}
				r := f.Srv.Send(t, req).Want(t, tc.status)
				says(tc.says)(t, f, r)
			})
		})
	}
	f.Srv.Do(t, http.MethodGet, "/backend/api/schedules/", f.Tokens["devops"], nil).Want(t, 200)
}

// TestScheduleEmptyZoneIsUTC: an empty original_timezone means UTC and is
// stored and shown as "UTC", as docs/scheduling.md says; the feature JSON
// and the schedule answer agree.
func TestScheduleEmptyZoneIsUTC(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	k := kit{t: t, f: f}
	var set struct {
		Schedule struct {
			Zone string `json:"original_timezone"`
		} `json:"schedule"`
	}
	k.do(http.MethodPatch, "/backend/schedule/{featA}/", "devops",
		`{"schedule": "0 3 * * *", "original_timezone": ""}`, http.StatusOK, &set)
	var feat struct {
		Results []struct {
			Zone *string `json:"original_timezone"`
		} `json:"results"`
	}
	k.get("/backend/api/features/{featA}/", "devops", http.StatusOK, &feat)
	if set.Schedule.Zone != "UTC" || len(feat.Results) != 1 || feat.Results[0].Zone == nil ||
		*feat.Results[0].Zone != "UTC" {
		t.Errorf("empty zone: schedule answer %q, feature %+v; want \"UTC\" in both", set.Schedule.Zone, feat.Results)
	}
}
