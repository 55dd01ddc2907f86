package projections_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// The readers are what the commands read.
var (
	_ commands.FeatureLibrary = (*projections.FeatureReader)(nil)
	_ commands.FolderTree     = (*projections.FolderReader)(nil)
	_ commands.VariableIndex  = (*projections.VariableReader)(nil)
)

func registry(t *testing.T) *eventschemas.Registry {
	t.Helper()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func step(id, content string) eventschemas.FeatureStep {
	return eventschemas.FeatureStep{StepID: id, Keyword: "Given", Content: content, Type: "normal",
		Enabled: true, Timeout: 60}
}

func definition(name string, department int64, steps ...eventschemas.FeatureStep) eventschemas.FeatureDefinition {
	return eventschemas.FeatureDefinition{FeatureName: name, Slug: name, AppID: 1, AppName: "App",
		EnvironmentID: 1, EnvironmentName: "Env", DepartmentID: department, DepartmentName: "Dep",
		Cloud: "local", Browsers: json.RawMessage(`[]`), Mobiles: json.RawMessage(`[]`), Video: true,
		EmailAddress: []string{}, EmailCCAddress: []string{}, EmailBCCAddress: []string{}, Steps: steps}
}

func TestFeaturesModel(t *testing.T) {
	t.Parallel()
	h := projectiontest.New(t, registry(t), projections.NewFeatures(), projections.NewRuns())
	ctx := context.Background()
	r := projections.NewFeatureReader(h.Pool)

	h.Append("account-1", &eventschemas.AccountCreated{AccountID: 1, Name: "Ada Ü", Email: "ada@example.com"})
	h.Append("department-3", &eventschemas.DepartmentCreated{DepartmentID: 3, Name: "QA", Slug: "QA"})
	h.Append("application-1", &eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop", Slug: "Shop"})
	login := definition("Login", 3, step("a", `Goto URL "https://example.com"`), step("b", "Press Enter"))
	h.Append("feature-7", &eventschemas.FeatureCreated{FeatureID: 7, CreatedBy: 1},
		&eventschemas.FeatureSaved{FeatureID: 7, Version: 1, Definition: login})
	runs := definition("Runs login", 3, step("c", `Run feature with id "7" before continuing`))
	runs.Steps[0].Type = "subfeature"
	h.Append("feature-8", &eventschemas.FeatureCreated{FeatureID: 8, CreatedBy: 1},
		&eventschemas.FeatureSaved{FeatureID: 8, Version: 1, Definition: runs})
	// Version 2 of feature 7: step b removed, d added before a, a disabled.
	v2 := definition("Login", 3, step("d", "Press Enter"), step("a", `Goto URL "https://example.com"`))
	v2.Steps[1].Enabled = false
	h.Append("feature-7", &eventschemas.FeatureSaved{FeatureID: 7, Version: 2, Definition: v2})
	h.Append("feature-9", &eventschemas.FeatureCreated{FeatureID: 9, CreatedBy: 1},
		&eventschemas.FeatureSaved{FeatureID: 9, Version: 1, Definition: definition("Gone", 4)},
		&eventschemas.FeatureDeleted{FeatureID: 9})
	h.Sync()

	list, err := r.List(ctx, []int64{3}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].FeatureID != 7 || list[1].FeatureID != 8 {
		t.Fatalf("features of department 3: %+v", list)
	}
	f := list[0]
	if f.Version != 2 || f.Steps != 1 || f.CreatedBy == nil || f.CreatedBy.Name != "Ada Ü" ||
		f.LastEdited == nil || f.LastEdited.UserID != 1 {
		t.Errorf("feature 7 = version %d, %d enabled steps, created by %+v, edited by %+v",
			f.Version, f.Steps, f.CreatedBy, f.LastEdited)
	}
	if all, _ := r.List(ctx, nil, true); len(all) != 2 {
		t.Errorf("all features: %d, want 2 (9 is deleted)", len(all))
	}
	if _, ok, _ := r.Get(ctx, 9); ok {
		t.Error("deleted feature 9 is still served")
	}
	if max, _ := r.MaxID(ctx); max != 9 {
		t.Errorf("max id %d, want 9 (deleted ones count)", max)
	}

	steps, err := r.Steps(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	// a kept its integer id (1), b's (2) is gone, d is new (4: c took 3).
	got := []struct {
		ID      int64
		StepID  string
		Enabled bool
	}{}
	for _, s := range steps {
		got = append(got, struct {
			ID      int64
			StepID  string
			Enabled bool
		}{s.ID, s.StepID, s.Enabled})
	}
	want := []struct {
		ID      int64
		StepID  string
		Enabled bool
	}{{4, "d", true}, {1, "a", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps of feature 7 (-want +got):\n%s", diff)
	}

	lib, err := r.Library(ctx, 3, runs.Steps)
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) != 1 || lib[0].ID != 7 || len(lib[0].Steps) != 2 || lib[0].Steps[0].StepID != "d" {
		t.Errorf("library for feature 8: %+v", lib)
	}
	if lib, _ := r.Library(ctx, 4, runs.Steps); len(lib) != 0 {
		t.Errorf("library of another department: %+v", lib)
	}
	names, err := r.Names(ctx, 3, 1, 1)
	if err != nil || names.Department == nil || *names.Department != "QA" || names.Application == nil ||
		names.Environment != nil {
		t.Errorf("names = %+v, %v; want QA, Shop and no environment", names, err)
	}
	h.CheckRebuild()
}

// TestDepartmentDeletedHidesFeatures deletes the department of features 20
// and 21; 21 is then saved into a live department and 22 into the deleted
// one, as a log written before the commands refused that may hold. The
// features, folders and history models hide exactly 20 and 22.
func TestDepartmentDeletedHidesFeatures(t *testing.T) {
	t.Parallel()
	h := projectiontest.New(t, registry(t), projections.NewFeatures(), projections.NewRuns(),
		projections.NewFolders(), projections.NewFeatureHistory())
	ctx := context.Background()

	for _, id := range []int64{20, 21, 22} {
		h.Append(featureStream(id), &eventschemas.FeatureCreated{FeatureID: id, CreatedBy: 1})
	}
	h.Append(featureStream(20), &eventschemas.FeatureSaved{FeatureID: 20, Version: 1, Definition: definition("A", 5)})
	h.Append(featureStream(21), &eventschemas.FeatureSaved{FeatureID: 21, Version: 1, Definition: definition("B", 5)})
	h.Append("department-5", &eventschemas.DepartmentDeleted{DepartmentID: 5})
	h.Append(featureStream(21), &eventschemas.FeatureSaved{FeatureID: 21, Version: 2, Definition: definition("B", 6)})
	h.Append(featureStream(22), &eventschemas.FeatureSaved{FeatureID: 22, Version: 1, Definition: definition("C", 5)})
	h.Sync()

	features, folders := projections.NewFeatureReader(h.Pool), projections.NewFolderReader(h.Pool)
	history := projections.NewHistoryReader(h.Pool)
	for _, id := range []int64{20, 21, 22} {
		want := id == 21
		if _, ok, err := features.Get(ctx, id); err != nil || ok != want {
			t.Errorf("feature %d served: %v, %v; want %v", id, ok, err, want)
		}
		if f, ok, err := history.Feature(ctx, id); err != nil || !ok || f.DepartmentGone == want {
			t.Errorf("history of feature %d: %+v, %v, %v; want DepartmentGone %v", id, f, ok, err, !want)
		}
	}
	placed, err := folders.Placements(ctx, nil, true)
	if err != nil || len(placed) != 1 || placed[0].FeatureID != 21 {
		t.Errorf("placements = %+v, %v; want feature 21 alone", placed, err)
	}
	h.CheckRebuild()
}
