package feature

import (
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// Create opens feature FeatureID with its first version. Catalogue and
// Lookup check the steps; NewStepID makes the steps' ids.
type Create struct {
	Actor      access.Actor
	FeatureID  int64
	Definition Definition
	Catalogue  Catalogue
	Lookup     Lookup
	NewStepID  func() string
}

func (c Create) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateFeature)); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, domain.Conflict("feature %d already exists", c.FeatureID)
	}
	def, err := validate(c.FeatureID, c.Definition, c.Catalogue, c.Lookup)
	if err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(def.DepartmentID); err != nil {
		return nil, err
	}
	if def.Steps, err = AssignStepIDs(nil, s.knownStep, def.Steps, c.NewStepID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{
		&eventschemas.FeatureCreated{FeatureID: c.FeatureID, CreatedBy: c.Actor.AccountID},
		&eventschemas.FeatureSaved{FeatureID: c.FeatureID, Version: 1, Definition: def},
	}, nil
}

// Save appends a new version of feature FeatureID. With ExpectedVersion
// set, the save is refused with domain.ErrConflict when another version was
// saved since the client read version ExpectedVersion. A definition equal
// to the current one changes nothing.
type Save struct {
	Actor           access.Actor
	FeatureID       int64
	Definition      Definition
	ExpectedVersion int
	Catalogue       Catalogue
	Lookup          Lookup
	NewStepID       func() string
}

func (c Save) decide(s State) ([]eventschemas.Payload, error) {
	return save(s, c.Actor, c.FeatureID, c.Definition, c.ExpectedVersion, 0, c.Catalogue, c.Lookup, c.NewStepID)
}

// Restore appends a new version equal to version Version. Nothing is
// rewritten. The restored definition is checked like any other save, so a
// version whose steps the catalogue no longer knows cannot come back.
type Restore struct {
	Actor           access.Actor
	FeatureID       int64
	Version         int
	ExpectedVersion int
	Catalogue       Catalogue
	Lookup          Lookup
}

func (c Restore) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.FeatureID); err != nil {
		return nil, err
	}
	old, err := s.At(c.Version)
	if err != nil {
		return nil, err
	}
	return save(s, c.Actor, c.FeatureID, old, c.ExpectedVersion, c.Version, c.Catalogue, c.Lookup, nil)
}

func save(s State, actor access.Actor, id int64, d Definition, expected, restoredFrom int,
	cat Catalogue, lookup Lookup, newID func() string) ([]eventschemas.Payload, error) {
	if err := actor.Require(string(role.EditFeature)); err != nil {
		return nil, err
	}
	if err := s.live(id); err != nil {
		return nil, err
	}
	cur := s.Current()
	if err := actor.RequireDepartment(cur.DepartmentID); err != nil {
		return nil, err
	}
	if expected > 0 && expected != s.Version() {
		return nil, domain.Conflict("feature %d is at version %d, not %d", id, s.Version(), expected)
	}
	def, err := validate(id, d, cat, lookup)
	if err != nil {
		return nil, err
	}
	if err := actor.RequireDepartment(def.DepartmentID); err != nil {
		return nil, err
	}
	if def.Steps, err = AssignStepIDs(cur.Steps, s.knownStep, def.Steps, newID); err != nil {
		return nil, err
	}
	if Diff(cur, def).Empty() {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.FeatureSaved{
		FeatureID: id, Version: s.Version() + 1, RestoredFrom: restoredFrom, Definition: def,
	}}, nil
}

// MoveToFolder puts a feature into folder FolderID (0: the department
// root). FolderDepartmentID and FolderDepartmentName are the department of
// that folder (or of the root meant); 0 means the feature's own. A move
// into another department also saves a new version with that department.
type MoveToFolder struct {
	Actor                access.Actor
	FeatureID            int64
	FolderID             int64
	FolderDepartmentID   int64
	FolderDepartmentName string
}

func (c MoveToFolder) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.EditFeature)); err != nil {
		return nil, err
	}
	if err := s.live(c.FeatureID); err != nil {
		return nil, err
	}
	cur := s.Current()
	target := c.FolderDepartmentID
	if target == 0 {
		target = cur.DepartmentID
	}
	if c.FolderID < 0 {
		return nil, domain.Invalid("folder_id", "must not be negative")
	}
	if err := c.Actor.RequireDepartment(cur.DepartmentID, target); err != nil {
		return nil, err
	}
	var out []eventschemas.Payload
	if c.FolderID != s.FolderID {
		out = append(out, &eventschemas.FeatureMovedToFolder{
			FeatureID: s.ID, FolderID: c.FolderID, FromFolderID: s.FolderID,
		})
	}
	if target != cur.DepartmentID {
		// TODO(feature): sub-feature references are not re-checked
		// against the new department; the command layer's lookup is
		// scoped to the old one at this point.
		next := cur
		next.DepartmentID, next.DepartmentName = target, c.FolderDepartmentName
		out = append(out, &eventschemas.FeatureSaved{FeatureID: s.ID, Version: s.Version() + 1, Definition: next})
	}
	return out, nil
}

// Delete removes a feature. Its creator, or an actor with delete_feature,
// may do it.
type Delete struct {
	Actor     access.Actor
	FeatureID int64
}

func (c Delete) decide(s State) ([]eventschemas.Payload, error) {
	if err := s.live(c.FeatureID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireOrOwn(string(role.DeleteFeature), s.CreatedBy); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.Current().DepartmentID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.FeatureDeleted{FeatureID: s.ID}}, nil
}
