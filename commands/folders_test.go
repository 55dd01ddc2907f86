package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/folder"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// folder creates a folder and waits for the read models.
func (w *world) folder(a access.Actor, name string, parent, department int64) int64 {
	w.t.Helper()
	id, res, err := w.folders.Create(context.Background(), meta(), a, name, parent, department)
	if err != nil {
		w.t.Fatalf("create folder %q: %v", name, err)
	}
	w.sync(res)
	return id
}

func TestFolderDepthLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	devops := actor(t, 5, role.Devops, 3)

	parent := int64(0)
	var chain []int64
	for i := range folder.MaxDepth {
		parent = w.folder(devops, "Level "+itoa(int64(i+1)), parent, 3)
		chain = append(chain, parent)
	}
	_, _, err := w.folders.Create(ctx, meta(), devops, "Level 21", parent, 3)
	if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "21 levels") {
		t.Fatalf("21st level: %v, want invalid naming 21 levels", err)
	}

	// A root folder with one child may not go under level 19 (that would
	// make the child level 21), but may go under level 18.
	top := w.folder(devops, "Top", 0, 3)
	w.folder(devops, "Child", top, 3)
	if _, _, err := w.folders.Move(ctx, meta(), devops, top, chain[18], 0); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("move a 2-level tree under level 19: %v, want invalid", err)
	}
	res, changed, err := w.folders.Move(ctx, meta(), devops, top, chain[17], 0)
	if err != nil || !changed {
		t.Fatalf("move a 2-level tree under level 18: %v", err)
	}
	w.sync(res)
}

func TestFolderMoveIntoItself(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	devops := actor(t, 5, role.Devops, 3)
	a := w.folder(devops, "A", 0, 3)
	b := w.folder(devops, "B", a, 3)
	c := w.folder(devops, "C", b, 3)

	for _, target := range []int64{a, c} {
		_, _, err := w.folders.Move(ctx, meta(), devops, a, target, 0)
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "into itself") {
			t.Errorf("move A into %d: %v, want invalid", target, err)
		}
	}
}

func TestFolderPermissionsAndScope(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	owner := actor(t, 5, role.Devops, 3)
	anonymous := actor(t, 6, role.Anonymous, 3)
	outsider := actor(t, 7, role.Devops, 4)
	f := w.folder(owner, "Owned", 0, 3)

	if _, _, err := w.folders.Create(ctx, meta(), anonymous, "X", 0, 3); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("create without create_folder: %v", err)
	}
	if _, _, err := w.folders.Rename(ctx, meta(), anonymous, f, "Y"); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("rename by a non-owner without create_folder: %v", err)
	}
	if _, _, err := w.folders.Rename(ctx, meta(), outsider, f, "Y"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("rename from another department: %v, want not found", err)
	}
	if _, _, err := w.folders.Create(ctx, meta(), outsider, "Under", f, 4); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("create under another department's folder: %v, want invalid parent_id", err)
	}
	if _, err := w.folders.Delete(ctx, meta(), anonymous, f); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("delete by a non-owner without delete_folder: %v", err)
	}
}

func TestFolderDeleteAndDepartmentMoveCascade(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	admin := actor(t, 1, role.Superuser)
	a := w.folder(admin, "A", 0, 3)
	b := w.folder(admin, "B", a, 3)
	feat := w.create(admin, def("In B", 3))
	res, _, err := w.features.MoveToFolder(ctx, meta(), admin, feat, b, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)

	// A moves to department 4: B and the feature in B go along.
	res, _, err = w.folders.Move(ctx, meta(), admin, a, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)
	sb, err := w.folders.Load(ctx, admin, b)
	if err != nil || sb.DepartmentID != 4 {
		t.Errorf("sub-folder B: department %d, %v; want 4", sb.DepartmentID, err)
	}
	sf, err := w.features.Load(ctx, admin, feat)
	if err != nil || sf.Current().DepartmentID != 4 || sf.Current().DepartmentName != "Dep 4" || sf.FolderID != b {
		t.Errorf("feature in B: department %d %q folder %d, %v; want 4 in B",
			sf.Current().DepartmentID, sf.Current().DepartmentName, sf.FolderID, err)
	}

	// Deleting A deletes B's stream too and returns the feature to the root.
	res, err = w.folders.Delete(ctx, meta(), admin, a)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)
	if _, err := w.folders.Load(ctx, admin, b); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("sub-folder B after deleting A: %v, want not found", err)
	}
	sf, _ = w.features.Load(ctx, admin, feat)
	if sf.FolderID != 0 {
		t.Errorf("feature is in folder %d after its folder's deletion, want the root", sf.FolderID)
	}
	placed, err := w.folderR.Placements(ctx, nil, true)
	if err != nil || len(placed) != 1 || placed[0].FolderID != 0 || placed[0].DepartmentID != 4 {
		t.Errorf("placements: %+v, %v", placed, err)
	}
}

// TestFolderUnknownDepartment puts folders into departments that were
// never created or were deleted, at the root or under a folder of such a
// department: each is refused naming the field, and nothing moves.
func TestFolderUnknownDepartment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	admin := actor(t, 1, role.Superuser)
	a := w.folder(admin, "A", 0, 3)
	feat := w.create(admin, def("In A", 3))
	res, _, err := w.features.MoveToFolder(ctx, meta(), admin, feat, a, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)
	gone := w.folder(admin, "Gone", 0, 4)
	w.h.Append("department-4", &eventschemas.DepartmentDeleted{DepartmentID: 4})
	w.h.Sync()

	head, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name               string
		parent, department int64
		field              string
	}{
		{"unknown department", 0, 999, "department"},
		{"deleted department", 0, 4, "department"},
		{"under a folder of a deleted department", gone, 0, "parent_id"},
	} {
		_, _, err := w.folders.Create(ctx, meta(), admin, "Ghost", tc.parent, tc.department)
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("create, %s: %v, want invalid naming %s", tc.name, err, tc.field)
		}
		_, _, err = w.folders.Move(ctx, meta(), admin, a, tc.parent, tc.department)
		if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("move, %s: %v, want invalid naming %s", tc.name, err, tc.field)
		}
	}
	after, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != head {
		t.Errorf("refused folder writes appended events: head %v, then %v", head, after)
	}
	if sf, err := w.features.Load(ctx, admin, feat); err != nil || sf.Current().DepartmentID != 3 {
		t.Errorf("feature in A: department %d, %v; want 3", sf.Current().DepartmentID, err)
	}
}

// TestFolderMoveClaimsCount plays a move claimed on the folder tree stream
// whose FolderMoved has not landed (yet): while it still can land (the
// folder's stream is at the revision it was claimed at) the opposite move
// is refused; once the folder's stream has moved on it no longer counts.
func TestFolderMoveClaimsCount(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	devops := actor(t, 5, role.Devops, 3)
	x := w.folder(devops, "X", 0, 3)
	y := w.folder(devops, "Y", 0, 3)

	history, _, err := w.log.Load(ctx, folder.Stream(x))
	if err != nil {
		t.Fatal(err)
	}
	// X under Y, claimed at X's current revision, its FolderMoved pending.
	_, err = w.log.Append(ctx, commands.TreeStream(3), eventstore.NoStream(), meta(),
		&eventschemas.FolderMoveClaimed{FolderID: x, ParentID: y, DepartmentID: 3,
			FolderRevision: history[len(history)-1].Revision})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = w.folders.Move(ctx, meta(), devops, y, x, 0)
	if !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "into itself") {
		t.Fatalf("move Y under X while X's move under Y can land: %v, want invalid", err)
	}

	// A rename moves X's stream on: the pending move can no longer land.
	res, _, err := w.folders.Rename(ctx, meta(), devops, x, "X renamed")
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)
	res, changed, err := w.folders.Move(ctx, meta(), devops, y, x, 0)
	if err != nil || !changed {
		t.Fatalf("move Y under X after X's stream moved on: changed %v, %v", changed, err)
	}
	w.sync(res)
	if _, _, err := w.folders.Move(ctx, meta(), devops, x, y, 0); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("move X under Y, now its child: %v, want invalid", err)
	}
}
