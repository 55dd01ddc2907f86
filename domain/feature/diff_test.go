package feature_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cometa-es/cometa/domain/feature"
)

// change is a StepChange without the steps themselves, for tables.
type change struct {
	Kind     feature.StepChangeKind
	ID       string
	From, To int
	Fields   []string
}

func changes(c feature.Changes) []change {
	var out []change
	for _, s := range c.Steps {
		out = append(out, change{s.Kind, s.StepID, s.From, s.To, s.Fields})
	}
	return out
}

func TestDiffSteps(t *testing.T) {
	t.Parallel()
	a, b, c, d := withID("a", step("Press Enter")), withID("b", step(`Send keys "x"`)),
		withID("c", step(`Goto URL "https://c/"`)), withID("d", step("End If"))
	editedB := b
	editedB.Content, editedB.Timeout = `Send keys "y"`, 30
	tests := []struct {
		name   string
		before []feature.Step
		after  []feature.Step
		want   []change
	}{
		{name: "same", before: []feature.Step{a, b}, after: []feature.Step{a, b}},
		{name: "insert does not move the rest", before: []feature.Step{a, b, c}, after: []feature.Step{d, a, b, c},
			want: []change{{Kind: feature.StepAdded, ID: "d", To: 1}}},
		{name: "remove", before: []feature.Step{a, b, c}, after: []feature.Step{a, c},
			want: []change{{Kind: feature.StepRemoved, ID: "b", From: 2}}},
		{name: "swap", before: []feature.Step{a, b}, after: []feature.Step{b, a},
			want: []change{{Kind: feature.StepMoved, ID: "a", From: 1, To: 2}}},
		{name: "one step moved to the end", before: []feature.Step{a, b, c, d}, after: []feature.Step{b, c, d, a},
			want: []change{{Kind: feature.StepMoved, ID: "a", From: 1, To: 4}}},
		{name: "edited and disabled", before: []feature.Step{a, b}, after: []feature.Step{a, disabled(editedB)},
			want: []change{
				{Kind: feature.StepEdited, ID: "b", From: 2, To: 2, Fields: []string{"step_content", "timeout"}},
				{Kind: feature.StepDisabled, ID: "b", From: 2, To: 2},
			}},
		{name: "enabled", before: []feature.Step{disabled(a)}, after: []feature.Step{a},
			want: []change{{Kind: feature.StepEnabled, ID: "a", From: 1, To: 1}}},
		{name: "everything", before: []feature.Step{a, b, c}, after: []feature.Step{c, editedB, d},
			want: []change{
				{Kind: feature.StepRemoved, ID: "a", From: 1},
				{Kind: feature.StepMoved, ID: "c", From: 3, To: 1},
				{Kind: feature.StepEdited, ID: "b", From: 2, To: 2, Fields: []string{"step_content", "timeout"}},
				{Kind: feature.StepAdded, ID: "d", To: 3},
			}},
	}
	for _, tt := range tests {
		got := feature.Diff(definition(tt.before...), definition(tt.after...))
		if diff := cmp.Diff(tt.want, changes(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if len(got.Fields) != 0 {
			t.Errorf("%s: field changes %v", tt.name, got.Fields)
		}
		if got.Empty() != (len(tt.want) == 0) {
			t.Errorf("%s: Empty() = %v", tt.name, got.Empty())
		}
	}
}

func TestDiffFieldsAndSummary(t *testing.T) {
	t.Parallel()
	a := definition(withID("a", step("Press Enter")))
	b := definition(withID("a", disabled(step("Press Enter"))), withID("n", step(`Send keys "x"`)))
	b.FeatureName, b.Slug = "Other", "Other"
	b.Browsers = json.RawMessage(`[{"browser":"chrome"}]`)
	b.Video = false
	got := feature.Diff(a, b)
	want := []feature.FieldChange{
		{Field: "feature_name", From: json.RawMessage(`"Search"`), To: json.RawMessage(`"Other"`)},
		{Field: "slug", From: json.RawMessage(`"Search"`), To: json.RawMessage(`"Other"`)},
		{Field: "browsers", From: json.RawMessage(`[]`), To: json.RawMessage(`[{"browser":"chrome"}]`)},
		{Field: "video", From: json.RawMessage(`true`), To: json.RawMessage(`false`)},
	}
	if diff := cmp.Diff(want, got.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	wantSummary := feature.Summary{Fields: []string{"feature_name", "slug", "browsers", "video"},
		Added: 1, Disabled: 1}
	if diff := cmp.Diff(wantSummary, got.Summary()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if s := got.Steps[0]; s.Before == nil || s.After == nil || s.Before.Enabled == s.After.Enabled {
		t.Errorf("a disabled step's change lacks its sides: %+v", s)
	}
}

func TestAssignStepIDs(t *testing.T) {
	t.Parallel()
	a, b, c := step("Press Enter"), step(`Send keys "x"`), step(`Goto URL "https://c/"`)
	prev := []feature.Step{withID("p1", a), withID("p2", b), withID("p3", c)}
	known := func(id string) bool { return id == "p1" || id == "p2" || id == "p3" || id == "old" }
	tests := []struct {
		name     string
		incoming []feature.Step
		want     []string
	}{
		{"unchanged", []feature.Step{a, b, c}, []string{"p1", "p2", "p3"}},
		{"reordered by content", []feature.Step{c, a, b}, []string{"p3", "p1", "p2"}},
		{"edited in place", []feature.Step{a, step(`Send keys "y"`), c}, []string{"p1", "p2", "p3"}},
		{"inserted", []feature.Step{a, step("End If"), b, c}, []string{"p1", "n1", "p2", "p3"}},
		{"duplicate content", []feature.Step{a, a}, []string{"p1", "p2"}},
		{"ids sent back", []feature.Step{withID("p3", a), withID("old", b)}, []string{"p3", "old"}},
		{"a sent id used twice", []feature.Step{withID("p1", a), withID("p1", a)}, []string{"p1", "p2"}},
		{"an unknown sent id", []feature.Step{withID("zzz", step("End If"))}, []string{"p1"}},
	}
	for _, tt := range tests {
		got, err := feature.AssignStepIDs(prev, known, tt.incoming, ids())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var gotIDs []string
		for _, st := range got {
			gotIDs = append(gotIDs, st.StepID)
		}
		if diff := cmp.Diff(tt.want, gotIDs); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := feature.AssignStepIDs(nil, known, []feature.Step{a}, nil); err == nil {
		t.Error("no generator and a new step: no error")
	}
	if _, err := feature.AssignStepIDs(nil, known, []feature.Step{a}, func() string { return "p1" }); err == nil {
		t.Error("a generator handing out a known id: no error")
	}
}
