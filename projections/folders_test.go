package projections_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

func TestFoldersModel(t *testing.T) {
	t.Parallel()
	h := projectiontest.New(t, registry(t), projections.NewFolders())
	ctx := context.Background()
	r := projections.NewFolderReader(h.Pool)

	h.Append("department-3", &eventschemas.DepartmentCreated{DepartmentID: 3, Name: "QA", Slug: "QA"})
	h.Append("department-4", &eventschemas.DepartmentCreated{DepartmentID: 4, Name: "Ops", Slug: "Ops"})
	// 1 > 2 > 3 in department 3, 4 at its root.
	for _, f := range []eventschemas.FolderCreated{
		{FolderID: 1, Name: "One", DepartmentID: 3},
		{FolderID: 2, Name: "Two", DepartmentID: 3, ParentID: 1},
		{FolderID: 3, Name: "Three", DepartmentID: 3, ParentID: 2},
		{FolderID: 4, Name: "Four", DepartmentID: 3},
	} {
		h.Append(folderStream(f.FolderID), &f)
	}
	for id, folder := range map[int64]int64{10: 2, 11: 3, 12: 0} {
		h.Append(featureStream(id), &eventschemas.FeatureCreated{FeatureID: id},
			&eventschemas.FeatureSaved{FeatureID: id, Version: 1, Definition: definition("F", 3)},
			&eventschemas.FeatureMovedToFolder{FeatureID: id, FolderID: folder})
	}
	h.Sync()

	subs, height, err := r.Descendants(ctx, 1)
	if err != nil || !cmp.Equal(subs, []int64{2, 3}) || height != 2 {
		t.Errorf("below 1: %v, height %d, %v; want [2 3], 2", subs, height, err)
	}
	under, err := r.FeaturesUnder(ctx, 1)
	if err != nil || !cmp.Equal(under, []int64{10, 11}) {
		t.Errorf("features under 1: %v, %v", under, err)
	}

	// Moving 2 to department 4's root takes 3 along; deleting 1 then
	// leaves 2 and 3 alone.
	h.Append(folderStream(2), &eventschemas.FolderMoved{FolderID: 2, ParentID: 0, DepartmentID: 4,
		FromParentID: 1, FromDepartmentID: 3})
	h.Append(folderStream(1), &eventschemas.FolderDeleted{FolderID: 1})
	h.Append(folderStream(4), &eventschemas.FolderRenamed{FolderID: 4, Name: "Vier ✓"})
	h.Sync()
	folders, err := r.Folders(ctx, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64][3]any{}
	for _, f := range folders {
		got[f.FolderID] = [3]any{f.Name, f.DepartmentID, f.ParentID}
	}
	want := map[int64][3]any{2: {"Two", int64(4), int64(0)}, 3: {"Three", int64(4), int64(2)},
		4: {"Vier ✓", int64(3), int64(0)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("folders after move and delete (-want +got):\n%s", diff)
	}

	// Deleting 2 deletes 3 and returns 10 and 11 to the root.
	h.Append(folderStream(2), &eventschemas.FolderDeleted{FolderID: 2})
	h.Sync()
	placed, err := r.Placements(ctx, []int64{3}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range placed {
		if p.FolderID != 0 {
			t.Errorf("feature %d is in folder %d after its folder was deleted", p.FeatureID, p.FolderID)
		}
	}
	if len(placed) != 3 {
		t.Errorf("placements: %+v", placed)
	}
	if _, ok, _ := r.Folder(ctx, 3); ok {
		t.Error("sub-folder 3 survived the deletion of 2")
	}
	if max, _ := r.MaxID(ctx); max != 4 {
		t.Errorf("max id %d, want 4", max)
	}
	h.CheckRebuild()
}

func folderStream(id int64) string  { return "folder-" + strconv.FormatInt(id, 10) }
func featureStream(id int64) string { return "feature-" + strconv.FormatInt(id, 10) }
