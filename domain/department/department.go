// Package department is the department aggregate: a named group of
// accounts, features, folders and variables, with its settings. Members
// are recorded on the accounts (package account), not here.
package department

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/slug"
	"github.com/cometa-es/cometa/eventschemas"
)

// MaxNameLength is the longest department name, in characters.
const MaxNameLength = 100

// Stream returns the name of department id's stream.
func Stream(id int64) string { return fmt.Sprintf("department-%d", id) }

// State is a department as its events made it.
type State struct {
	ID       int64
	Exists   bool // a DepartmentCreated was seen
	Deleted  bool
	Name     string
	Slug     string
	Settings json.RawMessage
}

// Fold returns the state after history.
func Fold(history []eventschemas.Payload) State { return domain.Fold(State{}, history) }

// Evolve returns the state after p. Events of other aggregates are ignored.
func (s State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.DepartmentCreated:
		s = State{ID: e.DepartmentID, Exists: true, Name: e.Name, Slug: e.Slug, Settings: json.RawMessage("{}")}
	case *eventschemas.DepartmentRenamed:
		s.Name, s.Slug = e.Name, e.Slug
	case *eventschemas.DepartmentSettingsChanged:
		s.Settings = e.Settings
	case *eventschemas.DepartmentDeleted:
		s.Deleted = true
	}
	return s
}

// Command is a request to change a department.
type Command interface {
	decide(State) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s State) Decide(c Command) ([]eventschemas.Payload, error) { return c.decide(s) }

func (s State) live(id int64) error {
	switch {
	case !s.Exists || s.Deleted:
		return domain.NotFound("department", id)
	case s.ID != id:
		return domain.Conflict("command for department %d on the stream of department %d", id, s.ID)
	}
	return nil
}

// Create opens department DepartmentID. The command layer makes the actor
// a member afterwards (account.JoinDepartment) and keeps names unique.
type Create struct {
	Actor        access.Actor
	DepartmentID int64
	Name         string
}

func (c Create) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateDepartment)); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, domain.Conflict("department %d already exists", c.DepartmentID)
	}
	name, err := domain.RequireText("department_name", c.Name, MaxNameLength)
	if err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.DepartmentCreated{
		DepartmentID: c.DepartmentID, Name: name, Slug: slug.Make(name),
	}}, nil
}

// Rename gives a department a new name (and slug, which Cometa forgets to
// recompute).
type Rename struct {
	Actor        access.Actor
	DepartmentID int64
	Name         string
}

func (c Rename) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.EditDepartment)); err != nil {
		return nil, err
	}
	if err := s.live(c.DepartmentID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.ID); err != nil {
		return nil, err
	}
	name, err := domain.RequireText("department_name", c.Name, MaxNameLength)
	if err != nil {
		return nil, err
	}
	if name == s.Name {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.DepartmentRenamed{
		DepartmentID: s.ID, Name: name, Slug: slug.Make(name),
	}}, nil
}

// ChangeSettings replaces a department's settings object.
type ChangeSettings struct {
	Actor        access.Actor
	DepartmentID int64
	Settings     json.RawMessage
}

func (c ChangeSettings) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.EditDepartment)); err != nil {
		return nil, err
	}
	if err := s.live(c.DepartmentID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.ID); err != nil {
		return nil, err
	}
	settings, err := domain.RequireObject("settings", c.Settings)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(settings, s.Settings) {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.DepartmentSettingsChanged{
		DepartmentID: s.ID, Settings: settings,
	}}, nil
}

// Delete removes a department.
type Delete struct {
	Actor        access.Actor
	DepartmentID int64
}

func (c Delete) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.DeleteDepartment)); err != nil {
		return nil, err
	}
	if err := s.live(c.DepartmentID); err != nil {
		return nil, err
	}
	if err := c.Actor.RequireDepartment(s.ID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.DepartmentDeleted{DepartmentID: s.ID}}, nil
}
