package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/folder"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// FolderTree is what the folder commands read of the folder tree's read
// model: what lies below a folder, which no folder stream records. It may
// lag the log.
type FolderTree interface {
	// Descendants returns the live folders below folder id, parents before
	// children, and the height of its subtree (0 without sub-folders).
	Descendants(ctx context.Context, id int64) (ids []int64, height int, err error)
	// FeaturesUnder returns the live features placed in folder id or any
	// folder below it.
	FeaturesUnder(ctx context.Context, id int64) ([]int64, error)
	// DepartmentName returns the name of department id.
	DepartmentName(ctx context.Context, id int64) (string, bool, error)
}

// Folders carries out the folder commands. The ancestors of a folder's
// new parent are read from the parent streams themselves, so the depth
// limit holds against the log; what lies below a folder comes from the
// read model (FolderTree).
//
// Commands that change a whole subtree (a move into another department, a
// deletion) append to the folder's stream first, then to the stream of
// each sub-folder and each feature inside. The read models apply the first
// event to the whole subtree at once; the later ones keep each stream's own
// state right.
//
// TODO(folders): the later appends of a subtree change are not atomic with
// the first: a process that stops half-way leaves some sub-folder or
// feature streams with the old department or folder (the read models are
// right).
//
// TODO(folders): a move claimed on its tree streams whose FolderMoved was
// never appended (the process stopped in between, or a move across
// departments lost the race for its second tree) still counts in cycle
// checks until the folder's stream changes again (a rename or a move of
// it): moves under that folder that would only close a cycle with the
// phantom move are refused meanwhile. Safe, but it can surprise. The check
// also reads only the tree streams of the move's own departments: a move
// claimed only on a third department's tree (several concurrent moves
// across departments, while sub-folders still carry their old department)
// is not seen. Moves within one department are exact.
type Folders struct {
	log      *Log
	ids      *IDs
	tree     FolderTree
	features *Features
}

// NewFolders returns the folder commands. features moves the features of
// a subtree.
func NewFolders(log *Log, ids *IDs, tree FolderTree, features *Features) *Folders {
	return &Folders{log: log, ids: ids, tree: tree, features: features}
}

// FolderKind is the id kind of folders ("folder-<id>" streams).
const FolderKind = "folder"

// Create opens a folder named name under parent (0: the root of
// department) and returns its id. A folder with a parent is in the
// parent's department whatever department says; at the root, department
// is required.
func (f *Folders) Create(ctx context.Context, meta Meta, actor access.Actor, name string, parent, department int64) (
	int64, eventstore.AppendResult, error) {
	at, err := f.placement(ctx, actor, parent, department)
	if err != nil {
		return 0, eventstore.AppendResult{}, fmt.Errorf("create folder: %w", err)
	}
	id, res, err := f.ids.Create(ctx, FolderKind, meta, func(id int64) ([]eventschemas.Payload, error) {
		return folder.State{}.Decide(folder.Create{Actor: actor, FolderID: id, Name: name, Placement: at})
	})
	if err != nil {
		return 0, res, fmt.Errorf("create folder: %w", err)
	}
	return id, res, nil
}

// Rename gives folder id a new name.
func (f *Folders) Rename(ctx context.Context, meta Meta, actor access.Actor, id int64, name string) (
	eventstore.AppendResult, bool, error) {
	res, changed, err := f.execute(ctx, meta, actor, id, func(folder.State) (folder.Command, error) {
		return folder.Rename{Actor: actor, FolderID: id, Name: name}, nil
	})
	if err != nil {
		return res, false, fmt.Errorf("rename folder %d: %w", id, err)
	}
	return res, changed, nil
}

// Move puts folder id under parent (0: the root of department, or of the
// folder's own department when department is 0). Under a parent,
// department is 0 or the parent's: any other is an invalid department. A
// move into another department takes the sub-folders and the features
// inside along.
//
// Moves are claimed on the folder tree streams of the departments they
// leave and enter (TreeStream) before the folder's own FolderMoved, and
// the cycle check counts every claimed move that can still land, so two
// concurrent moves cannot put two folders under each other (see moveOnce).
func (f *Folders) Move(ctx context.Context, meta Meta, actor access.Actor, id, parent, department int64) (
	eventstore.AppendResult, bool, error) {
	res, changed, from, to, err := f.move(ctx, meta, actor, id, parent, department)
	if err != nil || !changed || from == to {
		return res, changed, wrapFolderOp(err, "move folder %d", id)
	}
	last, err := f.carryDepartment(ctx, meta, id, to)
	return laterResult(res, last), true, wrapFolderOp(err, "move folder %d: carry department to its contents", id)
}

// carryDepartment moves the sub-folders of folder id and the features
// inside into department.
func (f *Folders) carryDepartment(ctx context.Context, meta Meta, id, department int64) (eventstore.AppendResult, error) {
	var last eventstore.AppendResult
	name, _, err := f.tree.DepartmentName(ctx, department)
	if err != nil {
		return last, err
	}
	subs, _, err := f.tree.Descendants(ctx, id)
	if err != nil {
		return last, err
	}
	service := access.Service()
	for _, sub := range subs {
		res, _, err := f.execute(ctx, meta, service, sub, func(s folder.State) (folder.Command, error) {
			at, err := f.placement(ctx, service, s.ParentID, department)
			return folder.Move{Actor: service, FolderID: sub, To: at}, err
		})
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return last, err
		}
		last = laterResult(last, res)
	}
	features, err := f.tree.FeaturesUnder(ctx, id)
	if err != nil {
		return last, err
	}
	for _, fid := range features {
		res, _, err := f.log.Execute(ctx, feature.Stream(fid), meta,
			func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
				s := feature.Fold(payloadsOf(history))
				if !s.Exists || s.Deleted || (s.FolderID != id && !slices.Contains(subs, s.FolderID)) {
					return nil, nil // gone, or moved elsewhere meanwhile
				}
				return s.Decide(feature.MoveToFolder{Actor: service, FeatureID: fid, FolderID: s.FolderID,
					FolderDepartmentID: department, FolderDepartmentName: name})
			})
		if err != nil {
			return last, err
		}
		last = laterResult(last, res)
	}
	return last, nil
}

// Delete removes folder id with its sub-folders; the features they held
// return to the department root.
func (f *Folders) Delete(ctx context.Context, meta Meta, actor access.Actor, id int64) (eventstore.AppendResult, error) {
	// What lies below is read first: once the deletion is projected, the
	// read model no longer lists it.
	subs, _, err := f.tree.Descendants(ctx, id)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("delete folder %d: %w", id, err)
	}
	features, err := f.tree.FeaturesUnder(ctx, id)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("delete folder %d: %w", id, err)
	}
	last, _, err := f.execute(ctx, meta, actor, id, func(folder.State) (folder.Command, error) {
		return folder.Delete{Actor: actor, FolderID: id}, nil
	})
	if err != nil {
		return last, fmt.Errorf("delete folder %d: %w", id, err)
	}

	service := access.Service()
	for _, sub := range subs {
		res, _, err := f.execute(ctx, meta, service, sub, func(folder.State) (folder.Command, error) {
			return folder.Delete{Actor: service, FolderID: sub}, nil
		})
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return last, fmt.Errorf("delete folder %d: sub-folder %d: %w", id, sub, err)
		}
		last = laterResult(last, res)
	}
	gone := append([]int64{id}, subs...)
	for _, fid := range features {
		res, _, err := f.log.Execute(ctx, feature.Stream(fid), meta,
			func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
				s := feature.Fold(payloadsOf(history))
				if !s.Exists || s.Deleted || !slices.Contains(gone, s.FolderID) {
					return nil, nil
				}
				return s.Decide(feature.MoveToFolder{Actor: service, FeatureID: fid})
			})
		if err != nil {
			return last, fmt.Errorf("delete folder %d: return feature %d to the root: %w", id, fid, err)
		}
		last = laterResult(last, res)
	}
	return last, nil
}

// Load returns folder id as its stream makes it. A folder that does not
// exist, was deleted, or is of a department the actor is not in or that
// was deleted is domain.ErrNotFound.
func (f *Folders) Load(ctx context.Context, actor access.Actor, id int64) (folder.State, error) {
	history, _, err := f.log.Load(ctx, folder.Stream(id))
	if err != nil {
		return folder.State{}, err
	}
	return f.visible(ctx, actor, id, history)
}

// visible folds history and reports a folder that does not exist, was
// deleted, or is of a department the actor is not a member of as not
// found. So is a folder of a deleted department, for every actor (a
// SUPERUSER too), as the read models hide it: its department's stream
// says so.
func (f *Folders) visible(ctx context.Context, actor access.Actor, id int64, history []Recorded) (
	folder.State, error) {
	s := folder.Fold(payloadsOf(history))
	if !s.Exists || s.Deleted || s.ID != id || !actor.InDepartment(s.DepartmentID) {
		return s, domain.NotFound("folder", id)
	}
	gone, err := departmentDeleted(ctx, f.log, s.DepartmentID)
	if err != nil {
		return s, err
	}
	if gone {
		return s, domain.NotFound("folder", id)
	}
	return s, nil
}

// execute runs the folder command that build makes from the loaded state
// of folder id, which must be visible to actor (see visible).
func (f *Folders) execute(ctx context.Context, meta Meta, actor access.Actor, id int64,
	build func(folder.State) (folder.Command, error)) (eventstore.AppendResult, bool, error) {
	return f.log.Execute(ctx, folder.Stream(id), meta, func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
		s, err := f.visible(ctx, actor, id, history)
		if err != nil {
			return nil, err
		}
		cmd, err := build(s)
		if err != nil {
			return nil, err
		}
		return s.Decide(cmd)
	})
}

// placement reads where a folder under parent goes: the parent's
// department and its ancestors from the parent streams up. A parent that
// does not exist or that the actor cannot see is an invalid parent_id, so
// is one in a deleted department; at the root, a department that does not
// exist or was deleted is an invalid department.
func (f *Folders) placement(ctx context.Context, actor access.Actor, parent, department int64) (folder.Placement, error) {
	if parent < 0 {
		return folder.Placement{}, domain.Invalid("parent_id", "must not be negative")
	}
	if parent == 0 {
		if department == 0 {
			return folder.Placement{}, nil // the domain names what is missing
		}
		return folder.Placement{DepartmentID: department}, requireDepartment(ctx, f.log, "department", department)
	}
	var chain []int64
	at := folder.Placement{ParentID: parent}
	for id := parent; id != 0; {
		if len(chain) > folder.MaxDepth || slices.Contains(chain, id) {
			break // deep enough for the domain to refuse it
		}
		s, err := f.Load(ctx, actor, id)
		if errors.Is(err, domain.ErrNotFound) {
			if id == parent {
				return at, domain.Invalid("parent_id", "no folder %d", parent)
			}
			return at, domain.Invalid("parent_id", "folder %d is inside folder %d, which no longer exists", parent, id)
		}
		if err != nil {
			return at, err
		}
		if id == parent {
			at.DepartmentID = s.DepartmentID
		}
		chain = append(chain, id)
		id = s.ParentID
	}
	slices.Reverse(chain)
	at.Ancestors = chain
	if err := requireDepartment(ctx, f.log, "parent_id", at.DepartmentID); err != nil {
		return at, err
	}
	return at, nil
}

// laterResult returns the result at the later position.
func laterResult(a, b eventstore.AppendResult) eventstore.AppendResult {
	if a.Position.Less(b.Position) {
		return b
	}
	return a
}

// wrapFolderOp wraps a non-nil err with an operation's name.
func wrapFolderOp(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
