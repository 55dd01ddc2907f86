package eventschemas

// Event types of the folder stream ("folder-<id>").
const (
	TypeFolderCreated = "FolderCreated"
	TypeFolderRenamed = "FolderRenamed"
	TypeFolderMoved   = "FolderMoved"
	TypeFolderDeleted = "FolderDeleted"
)

// TypeFolderMoveClaimed is the event type of the folder tree streams
// ("foldertree-<department>"), which put the moves within a department in
// one order.
const TypeFolderMoveClaimed = "FolderMoveClaimed"

// FolderSchemas lists the schemas of the folder events.
func FolderSchemas() []Schema {
	return []Schema{
		v1[FolderCreated](),
		v1[FolderRenamed](),
		v1[FolderMoved](),
		v1[FolderDeleted](),
		v1[FolderMoveClaimed](),
	}
}

// FolderCreated opens a folder. ParentID 0 is the department root. A folder
// with a parent always has its parent's department. OwnerID is the creating
// account (0 for a service); ownership rules use it.
type FolderCreated struct {
	FolderID     int64  `json:"folder_id"`
	Name         string `json:"name"`
	DepartmentID int64  `json:"department_id"`
	ParentID     int64  `json:"parent_id"`
	OwnerID      int64  `json:"owner_id"`
}

// EventType returns TypeFolderCreated.
func (*FolderCreated) EventType() string { return TypeFolderCreated }

// FolderRenamed gives a folder a new name.
type FolderRenamed struct {
	FolderID int64  `json:"folder_id"`
	Name     string `json:"name"`
}

// EventType returns TypeFolderRenamed.
func (*FolderRenamed) EventType() string { return TypeFolderRenamed }

// FolderMoved puts a folder under a new parent (0: the root of
// DepartmentID). When the department changes, the folder's sub-folders
// change with it in the read models.
type FolderMoved struct {
	FolderID         int64 `json:"folder_id"`
	ParentID         int64 `json:"parent_id"`
	DepartmentID     int64 `json:"department_id"`
	FromParentID     int64 `json:"from_parent_id"`
	FromDepartmentID int64 `json:"from_department_id"`
}

// EventType returns TypeFolderMoved.
func (*FolderMoved) EventType() string { return TypeFolderMoved }

// FolderDeleted removes a folder. In the read models its sub-folders go
// with it and the features it held return to the department root.
type FolderDeleted struct {
	FolderID int64 `json:"folder_id"`
}

// EventType returns TypeFolderDeleted.
func (*FolderDeleted) EventType() string { return TypeFolderDeleted }

// FolderMoveClaimed announces on a department's folder tree stream that a
// FolderMoved of FolderID under ParentID is about to be appended to the
// folder's stream right after FolderRevision, with that exact expected
// revision. Until the folder's stream moves past FolderRevision the move
// may still land, so the cycle check of every later move counts it; after
// that the folder's stream says what became of it.
type FolderMoveClaimed struct {
	FolderID       int64  `json:"folder_id"`
	ParentID       int64  `json:"parent_id"`
	DepartmentID   int64  `json:"department_id"`
	FolderRevision uint64 `json:"folder_revision"`
}

// EventType returns TypeFolderMoveClaimed.
func (*FolderMoveClaimed) EventType() string { return TypeFolderMoveClaimed }
