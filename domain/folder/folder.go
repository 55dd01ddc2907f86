// Package folder is the folder aggregate: a named node of a department's
// folder tree. The tree itself spans many streams, so commands that place a
// folder carry what the aggregate cannot read: the chain of ancestors of
// the new parent and, for a move, the height of the folder's own subtree.
//
// Rules: a folder has fewer than MaxDepth ancestors (its deepest
// descendant too, after a move); a folder cannot be moved into itself or
// one of its descendants; a folder with a parent is in its parent's
// department; only members of a department change its folders.
package folder

import (
	"fmt"
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// MaxDepth bounds the tree: every folder has fewer than MaxDepth ancestors
// (Cometa's MAX_FOLDER_HIERARCHY).
const MaxDepth = 20

// MaxNameLength is the longest folder name.
const MaxNameLength = 255

// Stream returns the name of folder id's stream.
func Stream(id int64) string { return fmt.Sprintf("folder-%d", id) }

// State is a folder as its events made it.
type State struct {
	ID           int64
	Exists       bool
	Deleted      bool
	Name         string
	DepartmentID int64
	ParentID     int64
	OwnerID      int64
}

// Fold returns the state after history.
func Fold(history []eventschemas.Payload) State { return domain.Fold(State{}, history) }

// Evolve returns the state after p.
func (s State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.FolderCreated:
		s = State{ID: e.FolderID, Exists: true, Name: e.Name, DepartmentID: e.DepartmentID,
			ParentID: e.ParentID, OwnerID: e.OwnerID}
	case *eventschemas.FolderRenamed:
		s.Name = e.Name
	case *eventschemas.FolderMoved:
		s.ParentID, s.DepartmentID = e.ParentID, e.DepartmentID
	case *eventschemas.FolderDeleted:
		s.Deleted = true
	}
	return s
}

// Command is a request to change a folder.
type Command interface {
	decide(State) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s State) Decide(c Command) ([]eventschemas.Payload, error) { return c.decide(s) }

func (s State) live(id int64) error {
	switch {
	case !s.Exists || s.Deleted:
		return domain.NotFound("folder", id)
	case s.ID != id:
		return domain.Conflict("command for folder %d on the stream of folder %d", id, s.ID)
	}
	return nil
}

// Placement is where a folder goes, as the command layer read it from the
// parent's stream (or the tree read model).
type Placement struct {
	// ParentID is the new parent, 0 for the department root.
	ParentID int64
	// Ancestors are the folder ids from the root down to the parent,
	// parent included: empty at the root.
	Ancestors []int64
	// DepartmentID is the parent's department, or the department whose
	// root is meant when ParentID is 0.
	DepartmentID int64
}

// check validates the placement of a folder whose own subtree is height
// levels deep (0 for a leaf).
func (p Placement) check(height int) error {
	if p.DepartmentID <= 0 {
		return domain.Invalid("department", "a department is required")
	}
	if p.ParentID == 0 {
		if len(p.Ancestors) != 0 {
			return domain.Invalid("parent_id", "a root folder has no ancestors")
		}
		return nil
	}
	if len(p.Ancestors) == 0 || p.Ancestors[len(p.Ancestors)-1] != p.ParentID {
		return domain.Invalid("parent_id", "the ancestry of parent %d does not end at it", p.ParentID)
	}
	if depth := len(p.Ancestors) + height; depth >= MaxDepth {
		return domain.Invalid("parent_id", "the folder tree would be %d levels deep; at most %d are allowed",
			depth+1, MaxDepth)
	}
	return nil
}

// Create opens folder FolderID under Placement. The actor becomes its owner.
type Create struct {
	Actor     access.Actor
	FolderID  int64
	Name      string
	Placement Placement
}

func (c Create) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateFolder)); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, domain.Conflict("folder %d already exists", c.FolderID)
	}
	name, err := domain.RequireText("name", c.Name, MaxNameLength)
	if err != nil {
		return nil, err
	}
	if err := c.Placement.check(0); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(c.Placement.DepartmentID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.FolderCreated{
		FolderID: c.FolderID, Name: name, DepartmentID: c.Placement.DepartmentID,
		ParentID: c.Placement.ParentID, OwnerID: c.Actor.AccountID,
	}}, nil
}

// Rename gives a folder a new name. Its owner, or an actor with
// create_folder, may do it.
type Rename struct {
	Actor    access.Actor
	FolderID int64
	Name     string
}

func (c Rename) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.FolderID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireOrOwn(string(role.CreateFolder), s.OwnerID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.DepartmentID); err != nil {
		return nil, err
	}
	name, err := domain.RequireText("name", c.Name, MaxNameLength)
	if err != nil || name == s.Name {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.FolderRenamed{FolderID: s.ID, Name: name}}, nil
}

// Move puts a folder under a new parent. SubtreeHeight is how many levels
// of sub-folders the folder has (0 for none), so that its deepest
// descendant stays within MaxDepth.
//
// TODO(folder): a move into another department changes only this folder's
// stream; the command layer must carry the change to the sub-folders and
// the features inside (Cometa moves them all), which no aggregate can see.
type Move struct {
	Actor         access.Actor
	FolderID      int64
	To            Placement
	SubtreeHeight int
}

func (c Move) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.FolderID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireOrOwn(string(role.CreateFolder), s.OwnerID); err != nil {
		return nil, err
	}
	if c.To.ParentID == s.ID || slices.Contains(c.To.Ancestors, s.ID) {
		return nil, domain.Invalid("parent_id", "folder %d cannot be moved into itself or its sub-folders", s.ID)
	}
	if c.SubtreeHeight < 0 {
		return nil, domain.Invalid("subtree_height", "must not be negative")
	}
	if err := c.To.check(c.SubtreeHeight); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.DepartmentID, c.To.DepartmentID); err != nil {
		return nil, err
	}
	if c.To.ParentID == s.ParentID && c.To.DepartmentID == s.DepartmentID {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.FolderMoved{
		FolderID: s.ID, ParentID: c.To.ParentID, DepartmentID: c.To.DepartmentID,
		FromParentID: s.ParentID, FromDepartmentID: s.DepartmentID,
	}}, nil
}

// Delete removes a folder. Its owner, or an actor with delete_folder, may
// do it. The command layer deletes the sub-folders' streams as well and
// moves the features it held to the root.
type Delete struct {
	Actor    access.Actor
	FolderID int64
}

func (c Delete) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.FolderID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireOrOwn(string(role.DeleteFolder), s.OwnerID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.DepartmentID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.FolderDeleted{FolderID: s.ID}}, nil
}
