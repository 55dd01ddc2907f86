package folder_test

import (
	"testing"

	"github.com/cometa-es/cometa/domain"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/folder"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

var (
	owner     = dt.Account(5, role.Anonymous, 3) // may not create folders
	devops    = dt.Account(6, role.Devops, 3)
	outsider  = dt.Account(7, role.Devops, 4)
	traveller = dt.Account(8, role.Devops, 3, 4)
)

// chain returns the ids 101..100+n, the ancestry of folder 100+n, which
// is n levels deep.
func chain(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(101 + i)
	}
	return out
}

func created() []ev {
	return []ev{&eventschemas.FolderCreated{FolderID: 7, Name: "Smoke", DepartmentID: 3, ParentID: 0, OwnerID: 5}}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	dt.Run(t, folder.State{}, []dt.Case[folder.Command]{
		{Name: "at the root", When: folder.Create{Actor: devops, FolderID: 7, Name: " Smoke ✓ ",
			Placement: folder.Placement{DepartmentID: 3}},
			Then: []ev{&eventschemas.FolderCreated{FolderID: 7, Name: "Smoke ✓", DepartmentID: 3, OwnerID: 6}}},
		{Name: "under a parent", When: folder.Create{Actor: devops, FolderID: 7, Name: "Smoke",
			Placement: folder.Placement{ParentID: 2, Ancestors: []int64{1, 2}, DepartmentID: 3}},
			Then: []ev{&eventschemas.FolderCreated{FolderID: 7, Name: "Smoke", DepartmentID: 3, ParentID: 2, OwnerID: 6}}},
		{Name: "deepest allowed", When: folder.Create{Actor: devops, FolderID: 70, Name: "deep",
			Placement: folder.Placement{ParentID: 119, Ancestors: chain(19), DepartmentID: 3}},
			Then: []ev{&eventschemas.FolderCreated{FolderID: 70, Name: "deep", DepartmentID: 3, ParentID: 119, OwnerID: 6}}},
		{Name: "one level too deep", When: folder.Create{Actor: devops, FolderID: 70, Name: "deep",
			Placement: folder.Placement{ParentID: 120, Ancestors: chain(20), DepartmentID: 3}},
			Err: domain.ErrInvalid, Fields: []string{"parent_id"}, Message: "at most 20"},
		{Name: "ancestry not ending at the parent", When: folder.Create{Actor: devops, FolderID: 7, Name: "x",
			Placement: folder.Placement{ParentID: 2, Ancestors: []int64{1}, DepartmentID: 3}},
			Err: domain.ErrInvalid, Fields: []string{"parent_id"}},
		{Name: "no department", When: folder.Create{Actor: devops, FolderID: 7, Name: "x"},
			Err: domain.ErrInvalid, Fields: []string{"department"}},
		{Name: "no name", When: folder.Create{Actor: devops, FolderID: 7, Placement: folder.Placement{DepartmentID: 3}},
			Err: domain.ErrInvalid, Fields: []string{"name"}},
		{Name: "needs the flag", When: folder.Create{Actor: owner, FolderID: 7, Name: "x",
			Placement: folder.Placement{DepartmentID: 3}}, Err: domain.ErrForbidden, Message: "create_folder"},
		{Name: "other department", When: folder.Create{Actor: outsider, FolderID: 7, Name: "x",
			Placement: folder.Placement{DepartmentID: 3}}, Err: domain.ErrForbidden},
		{Name: "exists", Given: created(), When: folder.Create{Actor: devops, FolderID: 7, Name: "x",
			Placement: folder.Placement{DepartmentID: 3}}, Err: domain.ErrConflict},
	})
}

func TestChange(t *testing.T) {
	t.Parallel()
	deleted := append(created(), &eventschemas.FolderDeleted{FolderID: 7})
	dt.Run(t, folder.State{}, []dt.Case[folder.Command]{
		{Name: "owner renames without the flag", Given: created(),
			When: folder.Rename{Actor: owner, FolderID: 7, Name: "Smoke tests"},
			Then: []ev{&eventschemas.FolderRenamed{FolderID: 7, Name: "Smoke tests"}}},
		{Name: "rename to the same", Given: created(), When: folder.Rename{Actor: devops, FolderID: 7, Name: "Smoke"}},
		{Name: "rename by an outsider", Given: created(), When: folder.Rename{Actor: outsider, FolderID: 7, Name: "x"},
			Err: domain.ErrForbidden},
		{Name: "rename deleted", Given: deleted, When: folder.Rename{Actor: devops, FolderID: 7, Name: "x"},
			Err: domain.ErrNotFound},
		{Name: "move under another", Given: created(), When: folder.Move{Actor: devops, FolderID: 7,
			To: folder.Placement{ParentID: 2, Ancestors: []int64{1, 2}, DepartmentID: 3}, SubtreeHeight: 3},
			Then: []ev{&eventschemas.FolderMoved{FolderID: 7, ParentID: 2, DepartmentID: 3, FromDepartmentID: 3}}},
		{Name: "move to another department", Given: created(), When: folder.Move{Actor: traveller, FolderID: 7,
			To: folder.Placement{DepartmentID: 4}},
			Then: []ev{&eventschemas.FolderMoved{FolderID: 7, ParentID: 0, DepartmentID: 4, FromDepartmentID: 3}}},
		{Name: "move to a department one is not in", Given: created(), When: folder.Move{Actor: devops, FolderID: 7,
			To: folder.Placement{DepartmentID: 4}}, Err: domain.ErrForbidden},
		{Name: "move where it is", Given: created(), When: folder.Move{Actor: devops, FolderID: 7,
			To: folder.Placement{DepartmentID: 3}}},
		{Name: "move into itself", Given: created(), When: folder.Move{Actor: devops, FolderID: 7,
			To: folder.Placement{ParentID: 7, Ancestors: []int64{7}, DepartmentID: 3}},
			Err: domain.ErrInvalid, Fields: []string{"parent_id"}, Message: "into itself"},
		{Name: "move into a descendant", Given: created(), When: folder.Move{Actor: devops, FolderID: 7,
			To: folder.Placement{ParentID: 9, Ancestors: []int64{7, 8, 9}, DepartmentID: 3}},
			Err: domain.ErrInvalid, Fields: []string{"parent_id"}},
		{Name: "move would push a descendant too deep", Given: created(), When: folder.Move{Actor: devops,
			FolderID: 7, To: folder.Placement{ParentID: 115, Ancestors: chain(15), DepartmentID: 3}, SubtreeHeight: 5},
			Err: domain.ErrInvalid, Fields: []string{"parent_id"}},
		{Name: "move with the deepest descendant at the limit", Given: created(), When: folder.Move{Actor: devops,
			FolderID: 7, To: folder.Placement{ParentID: 115, Ancestors: chain(15), DepartmentID: 3}, SubtreeHeight: 4},
			Then: []ev{&eventschemas.FolderMoved{FolderID: 7, ParentID: 115, DepartmentID: 3, FromDepartmentID: 3}}},
		{Name: "move unknown", When: folder.Move{Actor: devops, FolderID: 7, To: folder.Placement{DepartmentID: 3}},
			Err: domain.ErrNotFound},
		{Name: "delete by the owner", Given: created(), When: folder.Delete{Actor: owner, FolderID: 7},
			Then: []ev{&eventschemas.FolderDeleted{FolderID: 7}}},
		{Name: "delete by a member with the flag", Given: created(), When: folder.Delete{Actor: devops, FolderID: 7},
			Then: []ev{&eventschemas.FolderDeleted{FolderID: 7}}},
		{Name: "delete needs the flag", Given: created(),
			When: folder.Delete{Actor: dt.Account(9, role.Anonymous, 3), FolderID: 7},
			Err:  domain.ErrForbidden, Message: "delete_folder"},
		{Name: "delete twice", Given: deleted, When: folder.Delete{Actor: devops, FolderID: 7},
			Err: domain.ErrNotFound},
	})
}
