// Package variable is the variable aggregate: a named value of a
// department, seen by all its features, by those of one environment, or by
// one feature (its scope, Cometa's "based").
//
// An encrypted variable holds only ciphertext in Cometa's format: the
// command layer encrypts a plain value before deciding, and a command that
// marks a value encrypted without it being ciphertext is refused. Name
// uniqueness within a scope spans streams and is the command layer's to
// keep.
package variable

import (
	"errors"
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// MaxNameLength is the longest variable name.
const MaxNameLength = 100

// Stream returns the name of variable id's stream.
func Stream(id int64) string { return fmt.Sprintf("variable-%d", id) }

// State is a variable as its events made it.
type State struct {
	ID            int64
	Exists        bool
	Deleted       bool
	DepartmentID  int64
	EnvironmentID int64
	FeatureID     int64
	Name          string
	Based         string
	Value         eventschemas.VariableValue
}

// Fold returns the state after history.
func Fold(history []eventschemas.Payload) State { return domain.Fold(State{}, history) }

// Evolve returns the state after p.
func (s State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.VariableSet:
		s = State{ID: e.VariableID, Exists: true, DepartmentID: e.DepartmentID,
			EnvironmentID: e.EnvironmentID, FeatureID: e.FeatureID, Name: e.Name, Based: e.Based,
			Value: e.Value}
	case *eventschemas.VariableDeleted:
		s.Deleted = true
	}
	return s
}

// Command is a request to change a variable.
type Command interface {
	decide(State) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s State) Decide(c Command) ([]eventschemas.Payload, error) { return c.decide(s) }

// Set creates variable VariableID or replaces all its fields. Based ""
// means "feature" when FeatureID is set, else "environment".
// FeatureDepartmentID is the department of feature FeatureID as the
// command layer found it (0 when FeatureID is 0). With Encrypted, Value
// must already be ciphertext.
type Set struct {
	Actor               access.Actor
	VariableID          int64
	DepartmentID        int64
	EnvironmentID       int64
	FeatureID           int64
	FeatureDepartmentID int64
	Name                string
	Based               string
	Encrypted           bool
	Value               string
}

func (c Set) decide(s State) ([]eventschemas.Payload, error) {
	flag := role.CreateVariable
	if s.Exists {
		flag = role.EditVariable
	}
	if err := c.Actor.Require(string(flag)); err != nil {
		return nil, err
	}
	if s.Deleted {
		return nil, domain.NotFound("variable", c.VariableID)
	}
	if s.Exists {
		if s.ID != c.VariableID {
			return nil, domain.Conflict("command for variable %d on the stream of variable %d", c.VariableID, s.ID)
		}
		if err := c.Actor.RequireDepartment(s.DepartmentID); err != nil {
			return nil, err
		}
	}
	next, err := c.payload()
	if err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(next.DepartmentID); err != nil {
		return nil, err
	}
	if s.Exists && s == (State{ID: s.ID, Exists: true, DepartmentID: next.DepartmentID,
		EnvironmentID: next.EnvironmentID, FeatureID: next.FeatureID, Name: next.Name,
		Based: next.Based, Value: next.Value}) {
		return nil, nil
	}
	return []eventschemas.Payload{next}, nil
}

// payload validates the command's fields, reporting every bad one.
func (c Set) payload() (*eventschemas.VariableSet, error) {
	var errs []error
	if c.DepartmentID <= 0 {
		errs = append(errs, domain.Invalid("department", "a department is required"))
	}
	if c.EnvironmentID <= 0 {
		errs = append(errs, domain.Invalid("environment", "an environment is required"))
	}
	based := c.Based
	if based == "" {
		based = eventschemas.BasedEnvironment
		if c.FeatureID > 0 {
			based = eventschemas.BasedFeature
		}
	}
	switch based {
	case eventschemas.BasedDepartment, eventschemas.BasedEnvironment:
	case eventschemas.BasedFeature:
		if c.FeatureID <= 0 {
			errs = append(errs, domain.Invalid("feature", "a feature-based variable needs a feature"))
		}
	default:
		errs = append(errs, domain.Invalid("based", "must be department, environment or feature"))
	}
	if c.FeatureID < 0 || (c.FeatureID > 0 && c.FeatureDepartmentID != c.DepartmentID) {
		errs = append(errs, domain.Invalid("feature", "feature %d is not in department %d", c.FeatureID, c.DepartmentID))
	}
	name, err := domain.RequireText("variable_name", c.Name, MaxNameLength)
	errs = append(errs, err)
	value := eventschemas.Plaintext(c.Value)
	if err := domain.CheckFreeText("variable_value", c.Value); err != nil {
		errs = append(errs, err)
	} else if c.Encrypted {
		value, err = eventschemas.Ciphertext(c.Value)
		if err != nil {
			errs = append(errs, domain.Invalid("variable_value", "an encrypted value must be ciphertext: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &eventschemas.VariableSet{VariableID: c.VariableID, DepartmentID: c.DepartmentID,
		EnvironmentID: c.EnvironmentID, FeatureID: c.FeatureID, Name: name, Based: based, Value: value}, nil
}

// Delete removes a variable.
type Delete struct {
	Actor      access.Actor
	VariableID int64
}

func (c Delete) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.DeleteVariable)); err != nil {
		return nil, err
	}
	switch {
	case !s.Exists || s.Deleted:
		return nil, domain.NotFound("variable", c.VariableID)
	case s.ID != c.VariableID:
		return nil, domain.Conflict("command for variable %d on the stream of variable %d", c.VariableID, s.ID)
	}
	if err := c.Actor.RequireDepartment(s.DepartmentID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.VariableDeleted{VariableID: s.ID}}, nil
}
