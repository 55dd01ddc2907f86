package projections_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// TestFeatureHistoryModel checks the numbering of entries and versions,
// the summaries, snapshots by version and by time, that the integer step
// ids of each version are those the features model showed, and that a
// rebuild gives the same tables.
func TestFeatureHistoryModel(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.NewFeatureHistory(), projections.NewFeatures(), projections.NewRuns())
	ctx := context.Background()
	r := projections.NewHistoryReader(h.Pool)

	// stepIDsNow reads the integer ids the features model gives feature 5's
	// steps now.
	stepIDsNow := func() []int64 {
		t.Helper()
		h.Sync()
		steps, err := projections.NewFeatureReader(h.Pool).Steps(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, s := range steps {
			ids = append(ids, s.ID)
		}
		return ids
	}

	h.Append("account-1", &eventschemas.AccountCreated{AccountID: 1, Name: "Root", Email: "root@example.test",
		Role: "SUPERUSER", Departments: []int64{}})
	h.Append("account-7", &eventschemas.AccountCreated{AccountID: 7, Name: "Ann", Email: "ann@example.test",
		Role: "DEVOPS", Departments: []int64{2}})
	v1 := logDefinition("F", 2, logStep("a", "Press Enter"), logStep("b", "Press Tab"))
	h.Append("feature-5", &eventschemas.FeatureCreated{FeatureID: 5, CreatedBy: 7},
		&eventschemas.FeatureSaved{FeatureID: 5, Version: 1, Definition: v1})
	ids1 := stepIDsNow()
	t1 := h.Clock.Add(-time.Second / 2) // after version 1, before the move
	h.Append("feature-5", &eventschemas.FeatureMovedToFolder{FeatureID: 5, FolderID: 3})
	v2 := logDefinition("F renamed", 2, logStep("b", "Press Tab"), logStep("c", "Press Escape"))
	v2.Steps[0].Enabled = false
	h.Append("feature-5", &eventschemas.FeatureSaved{FeatureID: 5, Version: 2, Definition: v2})
	ids2 := stepIDsNow()
	h.Append("schedule-5", &eventschemas.FeatureScheduled{FeatureID: 5, Expression: "0 * * * *", Zone: "UTC",
		OwnerID: 7, CatchUp: "skip"})
	h.Append("feature-5", &eventschemas.FeatureSaved{FeatureID: 5, Version: 3, RestoredFrom: 1, Definition: v1})
	ids3 := stepIDsNow()
	h.Append("account-7", &eventschemas.AccountDeleted{AccountID: 7})
	h.Append("account-1", &eventschemas.AccountDeleted{AccountID: 1})
	h.Sync()

	entries, err := r.Entries(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Seq, Version int
		Type         string
		Fields       []string
		Added        int
		Removed      int
		Disabled     int
		Folder       int64
		Scheduled    bool
	}
	var got []row
	for _, e := range entries {
		got = append(got, row{e.Sequence, e.Version, e.EventType, e.Summary.Fields, e.Summary.Added,
			e.Summary.Removed, e.Summary.Disabled, e.FolderID, e.Schedule != nil})
		// The harness appends as account-1, deleted by now.
		if e.User == nil || e.User.UserID != 1 || e.User.Name != "Root" {
			t.Errorf("entry %d: user %+v, want account 1 (Root)", e.Sequence, e.User)
		}
	}
	all := []string{"feature_name", "slug", "app_id", "app_name", "environment_id", "environment_name",
		"department_id", "department_name", "cloud", "browsers", "mobiles", "email_address",
		"email_cc_address", "email_bcc_address"}
	want := []row{
		{1, 1, "FeatureSaved", all, 2, 0, 0, 0, false},
		{2, 1, "FeatureMovedToFolder", []string{"folder_id"}, 0, 0, 0, 3, false},
		{3, 2, "FeatureSaved", []string{"feature_name", "slug"}, 1, 1, 1, 3, false},
		{4, 2, "FeatureScheduled", []string{"schedule"}, 0, 0, 0, 3, true},
		{5, 3, "FeatureSaved", []string{"feature_name", "slug"}, 1, 1, 0, 3, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if entries[4].RestoredFrom != 1 {
		t.Errorf("entry 5 restored_from = %d, want 1", entries[4].RestoredFrom)
	}

	for _, tc := range []struct {
		version int
		name    string
		ids     []int64
		seq     int
	}{{1, "F", ids1, 1}, {2, "F renamed", ids2, 3}, {3, "F", ids3, 5}} {
		s, ok, err := r.Version(ctx, 5, tc.version)
		if err != nil || !ok {
			t.Fatalf("version %d: %v %v", tc.version, ok, err)
		}
		if s.Definition.FeatureName != tc.name || s.Sequence != tc.seq || !slices.Equal(s.StepIDs, tc.ids) {
			t.Errorf("version %d: name %q seq %d ids %v, want %q %d %v", tc.version, s.Definition.FeatureName,
				s.Sequence, s.StepIDs, tc.name, tc.seq, tc.ids)
		}
		if s.CreatedBy == nil || s.CreatedBy.Name != "Ann" {
			t.Errorf("version %d: created_by %+v, want the deleted account Ann", tc.version, s.CreatedBy)
		}
	}
	if _, ok, err := r.Version(ctx, 5, 4); err != nil || ok {
		t.Errorf("version 4: ok %v, %v; want none", ok, err)
	}

	at, ok, err := r.At(ctx, 5, t1)
	if err != nil || !ok || at.Version != 1 || at.Sequence != 1 || at.FolderID != 0 {
		t.Errorf("at %s: %+v %v %v; want version 1 after entry 1", t1, at, ok, err)
	}
	if _, ok, err := r.At(ctx, 5, t1.Add(-time.Hour)); err != nil || ok {
		t.Errorf("an hour before version 1: ok %v, %v; want none", ok, err)
	}
	from, to, ok, err := r.Definitions(ctx, 5, 1, 3)
	if err != nil || !ok || !cmp.Equal(from, to) {
		t.Errorf("versions 1 and 3 (a restore of 1) differ: %v %v\n%s", ok, err, cmp.Diff(from, to))
	}
	h.CheckRebuild()
}
