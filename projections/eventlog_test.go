package projections_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// logDefinition is a feature definition of department dep for the event
// log and history tests.
func logDefinition(name string, dep int64, steps ...eventschemas.FeatureStep) eventschemas.FeatureDefinition {
	return eventschemas.FeatureDefinition{FeatureName: name, Slug: strings.ToLower(name), AppID: 1,
		AppName: "App", EnvironmentID: 1, EnvironmentName: "Env", DepartmentID: dep, DepartmentName: "Dep",
		Cloud: "local", Browsers: json.RawMessage(`[]`), Mobiles: json.RawMessage(`[]`),
		EmailAddress: []string{}, EmailCCAddress: []string{}, EmailBCCAddress: []string{}, Steps: steps}
}

func logStep(id, content string) eventschemas.FeatureStep {
	return eventschemas.FeatureStep{StepID: id, Keyword: "Given", Content: content, Type: "normal",
		Enabled: true, Timeout: 60}
}

// TestEventLogModel checks the dense seq, the departments each kind of
// event is placed in (named, inherited, filled in later), the paging and
// filters of the reader, and that a rebuild gives the same tables.
func TestEventLogModel(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.NewEventLog())
	ctx := context.Background()

	h.Append("account-7", &eventschemas.AccountCreated{AccountID: 7, Name: "Ann", Email: "ann@example.test",
		Role: "DEVOPS", Departments: []int64{2}})
	h.Append("account-7", &eventschemas.TokenIssued{AccountID: 7, TokenID: "t1", TokenSHA256: "ab12"})
	h.Append("application-1", &eventschemas.ApplicationCreated{ApplicationID: 1, Name: "App"})
	// The feature's department is known only from its first version.
	h.Append("feature-5", &eventschemas.FeatureCreated{FeatureID: 5, CreatedBy: 7},
		&eventschemas.FeatureSaved{FeatureID: 5, Version: 1, Definition: logDefinition("F", 2, logStep("a", "x"))})
	h.Append("result-9", &eventschemas.ResultAllocated{FeatureResultID: 9, FeatureID: 5})
	h.Append("run-4", &eventschemas.RunRequested{RunID: 4, FeatureID: 5, FeatureVersion: 1, DepartmentID: 2,
		Results: []eventschemas.RunResult{{FeatureResultID: 9, Browser: json.RawMessage(`{}`)}},
		Steps:   []eventschemas.RunStep{}, Variables: []eventschemas.RunVariable{}})
	h.Append("result-9", &eventschemas.StepRecorded{FeatureResultID: 9, Sequence: 1, StepID: "a",
		StepName: "x", Status: eventschemas.StatusSuccess, Success: true, Screenshots: []string{}})
	// A move to department 3 belongs to both; later events to 3 only.
	h.Append("feature-5", &eventschemas.FeatureSaved{FeatureID: 5, Version: 2,
		Definition: logDefinition("F", 3, logStep("a", "x"))})
	h.Append("feature-5", &eventschemas.FeatureDeleted{FeatureID: 5})
	h.Append("account-7", &eventschemas.AccountUpdated{AccountID: 7, Name: "Ann B", Email: "ann@example.test",
		Role: "DEVOPS", Departments: []int64{3}})
	h.Append("account-7", &eventschemas.AccountDeleted{AccountID: 7})
	h.Sync()

	r := projections.NewEventLogReader(h.Pool)
	all, err := r.Page(ctx, projections.EventFilter{Limit: 100, AllDepartments: true})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Seq  int64
		Type string
		Deps []int64
	}
	var got []row
	for _, e := range all {
		got = append(got, row{e.Seq, e.Type, e.Departments})
	}
	want := []row{
		{1, "AccountCreated", []int64{2}}, {2, "TokenIssued", []int64{2}}, {3, "ApplicationCreated", []int64{}},
		{4, "FeatureCreated", []int64{2}}, {5, "FeatureSaved", []int64{2}}, {6, "ResultAllocated", []int64{2}},
		{7, "RunRequested", []int64{2}}, {8, "StepRecorded", []int64{2}}, {9, "FeatureSaved", []int64{2, 3}},
		{10, "FeatureDeleted", []int64{3}}, {11, "AccountUpdated", []int64{2, 3}}, {12, "AccountDeleted", []int64{3}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// The deleted account still names the actor "account-7" of no event
	// here (the harness appends as account-1), but its copy is kept.
	var deleted bool
	if err := h.Pool.QueryRow(ctx, `SELECT deleted FROM rm_event_log.accounts WHERE account_id = 7`).
		Scan(&deleted); err != nil || !deleted {
		t.Errorf("account 7: deleted %v, %v; want kept and marked deleted", deleted, err)
	}

	seqs := func(f projections.EventFilter) []int64 {
		t.Helper()
		page, err := r.Page(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, e := range page {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    projections.EventFilter
		want []int64
	}{
		{"department 2", projections.EventFilter{Limit: 100, Departments: []int64{2}},
			[]int64{1, 2, 4, 5, 6, 7, 8, 9, 11}},
		{"department 3, paged", projections.EventFilter{After: 9, Limit: 2, Departments: []int64{3}},
			[]int64{10, 11}},
		{"no department", projections.EventFilter{Limit: 100}, []int64{}},
		{"stream and type", projections.EventFilter{Limit: 100, AllDepartments: true,
			Streams: []string{"feature-5"}, Types: []string{"FeatureSaved"}}, []int64{5, 9}},
		{"past the end", projections.EventFilter{After: 12, Limit: 100, AllDepartments: true}, []int64{}},
	} {
		if got := seqs(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.name, got, tc.want)
		}
	}
	if last, err := r.LastSeq(ctx); err != nil || last != 12 {
		t.Errorf("LastSeq = %d, %v; want 12", last, err)
	}
	if deps, ok, err := r.Scope(ctx, "result-9"); err != nil || !ok || !slices.Equal(deps, []int64{2}) {
		t.Errorf("scope of result-9 = %v %v %v, want [2]", deps, ok, err)
	}
	h.CheckRebuild()
}
