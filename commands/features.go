package commands

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// FeatureLibrary loads the features that a definition's sub-feature steps
// use, directly or through other sub-features, among the live features of
// a department. The features read model implements it; it may lag the log.
type FeatureLibrary interface {
	Library(ctx context.Context, department int64, steps []feature.Step) (feature.Library, error)
}

// Features carries out the feature commands: create, save, move to a
// folder, delete. Each loads the feature's stream, lets the domain decide
// with the runner's step catalogue and the sub-features the library finds,
// and appends with the revision it loaded (retried a bounded number of
// times when another writer was first).
//
// A feature of a department the actor is not a member of is reported as
// not found (domain.ErrNotFound), the same as one that does not exist, so
// that its existence does not leak.
type Features struct {
	log    *Log
	ids    *IDs
	cat    feature.Catalogue
	lib    FeatureLibrary
	stepID func() string
}

// NewFeatures returns the feature commands. cat validates step sentences,
// lib resolves sub-features, ids hands out feature ids.
func NewFeatures(log *Log, ids *IDs, cat feature.Catalogue, lib FeatureLibrary) *Features {
	return &Features{log: log, ids: ids, cat: cat, lib: lib, stepID: uuid.NewString}
}

// FeatureKind is the id kind of features ("feature-<id>" streams).
const FeatureKind = "feature"

// Create opens a new feature with def as its version 1 and returns its id.
// A refused definition claims no id and appends nothing.
func (f *Features) Create(ctx context.Context, meta Meta, actor access.Actor, def feature.Definition) (
	int64, eventstore.AppendResult, error) {
	if err := currentNames(ctx, f.log, &def); err != nil {
		return 0, eventstore.AppendResult{}, fmt.Errorf("create feature: %w", err)
	}
	lib, err := f.lib.Library(ctx, def.DepartmentID, def.Steps)
	if err != nil {
		return 0, eventstore.AppendResult{}, fmt.Errorf("create feature: %w", err)
	}
	id, res, err := f.ids.Create(ctx, FeatureKind, meta, func(id int64) ([]eventschemas.Payload, error) {
		return feature.State{}.Decide(feature.Create{Actor: actor, FeatureID: id, Definition: def,
			Catalogue: f.cat, Lookup: lib, NewStepID: f.stepID})
	})
	if err != nil {
		return 0, res, fmt.Errorf("create feature: %w", err)
	}
	return id, res, nil
}

// Edit turns the current definition of a feature into the one to save. It
// runs inside the command, once per attempt, on the definition just loaded,
// so that a save retried after a concurrent write edits the newer version.
// Its error refuses the save.
type Edit func(ctx context.Context, current feature.Definition) (feature.Definition, error)

// Saved is what a save or a restore of a feature did.
type Saved struct {
	eventstore.AppendResult
	// Version is the version this command wrote; when it changed nothing,
	// the version that was current. Other writers may have saved later
	// versions by the time the caller reads the read models, so an answer
	// about this write shows this version, not the latest.
	Version int
	// Changed is false when nothing was appended.
	Changed bool
}

// decided notes, in *saved, the version that payloads (a decision on
// state s) write, or s's own when they write none. The last attempt of
// Execute is the one appended, so the note it leaves is the right one.
func decided(saved *Saved, s feature.State, payloads []eventschemas.Payload) {
	saved.Version = s.Version()
	for _, p := range payloads {
		if e, ok := p.(*eventschemas.FeatureSaved); ok {
			saved.Version = e.Version
		}
	}
}

// Save appends a new version of feature id made by edit. With
// expectedVersion above 0 the save is refused with domain.ErrConflict when
// the feature is no longer at that version. Changed is false when the
// edited definition equals the current one (nothing is appended).
func (f *Features) Save(ctx context.Context, meta Meta, actor access.Actor, id int64, expectedVersion int,
	edit Edit) (Saved, error) {
	var saved Saved
	res, changed, err := f.log.Execute(ctx, feature.Stream(id), meta,
		func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
			s, err := f.visible(ctx, actor, id, history)
			if err != nil {
				return nil, err
			}
			def, err := edit(ctx, s.Current())
			if err != nil {
				return nil, err
			}
			if err := currentNames(ctx, f.log, &def); err != nil {
				return nil, err
			}
			lib, err := f.lib.Library(ctx, def.DepartmentID, def.Steps)
			if err != nil {
				return nil, err
			}
			payloads, err := s.Decide(feature.Save{Actor: actor, FeatureID: id, Definition: def,
				ExpectedVersion: expectedVersion, Catalogue: f.cat, Lookup: lib, NewStepID: f.stepID})
			decided(&saved, s, payloads)
			return payloads, err
		})
	if err != nil {
		return Saved{AppendResult: res}, fmt.Errorf("save feature %d: %w", id, err)
	}
	saved.AppendResult, saved.Changed = res, changed
	return saved, nil
}

// MoveToFolder puts feature id into folder (0: the department root).
// folderDepartment is that folder's department (or the department whose
// root is meant; 0 for the feature's own) and departmentName its name; a
// move into another department also saves a new version with it.
func (f *Features) MoveToFolder(ctx context.Context, meta Meta, actor access.Actor, id, folder,
	folderDepartment int64, departmentName string) (res eventstore.AppendResult, changed bool, err error) {
	res, changed, err = f.log.Execute(ctx, feature.Stream(id), meta,
		func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
			s, err := f.visible(ctx, actor, id, history)
			if err != nil {
				return nil, err
			}
			return s.Decide(feature.MoveToFolder{Actor: actor, FeatureID: id, FolderID: folder,
				FolderDepartmentID: folderDepartment, FolderDepartmentName: departmentName})
		})
	if err != nil {
		return res, false, fmt.Errorf("move feature %d to folder %d: %w", id, folder, err)
	}
	return res, changed, nil
}

// Delete removes feature id. Its creator, or an actor with delete_feature,
// may do it.
func (f *Features) Delete(ctx context.Context, meta Meta, actor access.Actor, id int64) (eventstore.AppendResult, error) {
	res, _, err := f.log.Execute(ctx, feature.Stream(id), meta,
		func(history []Recorded, exists bool) ([]eventschemas.Payload, error) {
			s, err := f.visible(ctx, actor, id, history)
			if err != nil {
				return nil, err
			}
			return s.Decide(feature.Delete{Actor: actor, FeatureID: id})
		})
	if err != nil {
		return res, fmt.Errorf("delete feature %d: %w", id, err)
	}
	return res, nil
}

// Load returns feature id as its stream makes it, for a reader that needs
// the authoritative state (a version, the creator). A feature that does
// not exist, was deleted, or is of a department the actor is not in or
// that was deleted is domain.ErrNotFound.
func (f *Features) Load(ctx context.Context, actor access.Actor, id int64) (feature.State, error) {
	history, _, err := f.log.Load(ctx, feature.Stream(id))
	if err != nil {
		return feature.State{}, fmt.Errorf("load feature %d: %w", id, err)
	}
	s, err := f.visible(ctx, actor, id, history)
	if err != nil {
		return feature.State{}, fmt.Errorf("load feature %d: %w", id, err)
	}
	return s, nil
}

// visible folds history and reports a feature that does not exist, was
// deleted, or belongs to a department the actor is not a member of, as not
// found. So is a feature of a deleted department, for every actor (a
// SUPERUSER too): the department's stream says so, and the read models
// hide its features the same way.
func (f *Features) visible(ctx context.Context, actor access.Actor, id int64, history []Recorded) (
	feature.State, error) {
	s := feature.Fold(payloadsOf(history))
	if !s.Exists || s.Deleted || s.ID != id || !actor.InDepartment(s.Current().DepartmentID) {
		return s, domain.NotFound("feature", id)
	}
	gone, err := departmentDeleted(ctx, f.log, s.Current().DepartmentID)
	if err != nil {
		return s, err
	}
	if gone {
		return s, domain.NotFound("feature", id)
	}
	return s, nil
}

// payloadsOf returns the payloads of history.
func payloadsOf(history []Recorded) []eventschemas.Payload {
	out := make([]eventschemas.Payload, len(history))
	for i, r := range history {
		out[i] = r.Payload
	}
	return out
}
