package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/folder"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// TreeStream returns the name of department id's folder tree stream, on
// which the moves of its folders are claimed one after the other.
func TreeStream(department int64) string { return fmt.Sprintf("foldertree-%d", department) }

// treeClaims is what the folder tree streams of a move's departments hold:
// the revision each was read at and the moves claimed there, by folder.
type treeClaims struct {
	streams  []string
	expected []eventstore.ExpectedRevision
	moves    map[int64][]*eventschemas.FolderMoveClaimed
}

// loadTrees reads the folder tree streams of departments, in id order.
func (f *Folders) loadTrees(ctx context.Context, departments ...int64) (treeClaims, error) {
	slices.Sort(departments)
	t := treeClaims{moves: map[int64][]*eventschemas.FolderMoveClaimed{}}
	for _, dep := range slices.Compact(departments) {
		stream := TreeStream(dep)
		history, exists, err := f.log.Load(ctx, stream)
		if err != nil {
			return t, err
		}
		t.streams, t.expected = append(t.streams, stream), append(t.expected, expectedAfter(history, exists))
		for _, r := range history {
			if c, ok := r.Payload.(*eventschemas.FolderMoveClaimed); ok {
				t.moves[c.FolderID] = append(t.moves[c.FolderID], c)
			}
		}
	}
	return t, nil
}

// refuseCycle returns the parent_id error when folder id lies above parent
// by any edge that is real or may still become real: each folder's parent
// on its stream, and the parent of every claimed move of it that was made
// at the folder's current revision (such a move can still land; any other
// can no longer, since it expects an older revision).
func (f *Folders) refuseCycle(ctx context.Context, t treeClaims, id, parent int64) error {
	seen := map[int64]bool{}
	for queue := []int64{parent}; len(queue) > 0; queue = queue[1:] {
		at := queue[0]
		if at == 0 || seen[at] {
			continue
		}
		if at == id {
			return domain.Invalid("parent_id", "folder %d cannot be moved into itself or its sub-folders", id)
		}
		seen[at] = true
		history, _, err := f.log.Load(ctx, folder.Stream(at))
		if err != nil {
			return err
		}
		s := folder.Fold(payloadsOf(history))
		if !s.Exists || s.Deleted {
			continue
		}
		queue = append(queue, s.ParentID)
		revision := history[len(history)-1].Revision
		for _, c := range t.moves[at] {
			if c.FolderRevision == revision {
				queue = append(queue, c.ParentID)
			}
		}
	}
	return nil
}

// claim appends c to every tree stream of t at the revision it was read:
// of two moves that read a tree at the same revision only one gets on.
func (t treeClaims) claim(ctx context.Context, l *Log, meta Meta, c *eventschemas.FolderMoveClaimed) error {
	for i, stream := range t.streams {
		if _, err := l.Append(ctx, stream, t.expected[i], meta, c); err != nil {
			return err
		}
	}
	return nil
}

// moveOnce is one attempt of Move. It decides on the folder's stream as it
// is, checks for a cycle against the folder streams and the moves claimed
// on the tree streams of the departments involved, claims the move there
// and appends it to the folder's stream at exactly the revision it decided
// on. A lost race on any of these streams is an eventstore.ErrConflict for
// Move to retry from the start.
func (f *Folders) moveOnce(ctx context.Context, meta Meta, actor access.Actor, id, parent, department int64) (
	res eventstore.AppendResult, changed bool, from, to int64, err error) {
	stream := folder.Stream(id)
	history, _, err := f.log.Load(ctx, stream)
	if err != nil {
		return res, false, 0, 0, err
	}
	s, err := f.visible(ctx, actor, id, history)
	if err != nil {
		return res, false, 0, 0, err
	}
	if parent == 0 && department == 0 {
		department = s.DepartmentID
	}
	at, err := f.placement(ctx, actor, parent, department)
	if err != nil {
		return res, false, 0, 0, err
	}
	if err := f.parentsDepartment(ctx, actor, at, parent, department); err != nil {
		return res, false, 0, 0, err
	}
	_, height, err := f.tree.Descendants(ctx, id)
	if err != nil {
		return res, false, 0, 0, err
	}
	payloads, err := s.Decide(folder.Move{Actor: actor, FolderID: id, To: at, SubtreeHeight: height})
	if err != nil || len(payloads) == 0 {
		last := history[len(history)-1]
		return eventstore.AppendResult{NextRevision: last.Revision, Position: last.Position}, false, 0, 0, err
	}
	from, to = s.DepartmentID, at.DepartmentID

	revision := history[len(history)-1].Revision
	trees, err := f.loadTrees(ctx, from, to)
	if err != nil {
		return res, false, from, to, err
	}
	if err := f.refuseCycle(ctx, trees, id, parent); err != nil {
		return res, false, from, to, err
	}
	err = trees.claim(ctx, f.log, meta, &eventschemas.FolderMoveClaimed{
		FolderID: id, ParentID: at.ParentID, DepartmentID: at.DepartmentID, FolderRevision: revision})
	if err != nil {
		return res, false, from, to, err
	}
	res, err = f.log.Append(ctx, stream, eventstore.Exact(revision), meta, payloads...)
	if err != nil {
		return res, false, from, to, err
	}
	return res, true, from, to, nil
}

// parentsDepartment refuses a department, sent with a move under parent,
// that is not the parent's (at's): a sub-folder is in its parent's
// department, so such a move cannot be what was asked for. One that does
// not exist or was deleted says so, to a member (or a SUPERUSER); to
// others it is only not the parent's, which tells nothing of it. 0 is no
// department sent.
func (f *Folders) parentsDepartment(ctx context.Context, actor access.Actor, at folder.Placement,
	parent, department int64) error {
	if parent == 0 || department == 0 || department == at.DepartmentID {
		return nil
	}
	if actor.InDepartment(department) {
		if err := requireDepartment(ctx, f.log, "department", department); err != nil {
			return err
		}
	}
	return domain.Invalid("department", "%d is not the department of parent folder %d (that is %d): "+
		"a sub-folder is in its parent's department; send parent_id 0 to move it to a department's root",
		department, parent, at.DepartmentID)
}

// move runs moveOnce until it is not beaten to a stream, at most
// maxAttempts times.
func (f *Folders) move(ctx context.Context, meta Meta, actor access.Actor, id, parent, department int64) (
	res eventstore.AppendResult, changed bool, from, to int64, err error) {
	for attempt := 1; ; attempt++ {
		res, changed, from, to, err = f.moveOnce(ctx, meta, actor, id, parent, department)
		if !errors.Is(err, eventstore.ErrConflict) || attempt == maxAttempts {
			return res, changed, from, to, err
		}
		if perr := pause(ctx, retryDelay(attempt)); perr != nil {
			return res, false, from, to, fmt.Errorf("retry on stream %q: %w", folder.Stream(id), perr)
		}
	}
}
