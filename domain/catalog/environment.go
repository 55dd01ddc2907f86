package catalog

import (
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// EnvironmentStream returns the name of environment id's stream.
func EnvironmentStream(id int64) string { return fmt.Sprintf("environment-%d", id) }

// Environment is an environment as its events made it.
type Environment struct {
	ID      int64
	Exists  bool
	Deleted bool
	Name    string
}

// FoldEnvironment returns the state after history.
func FoldEnvironment(history []eventschemas.Payload) Environment {
	return domain.Fold(Environment{}, history)
}

// Evolve returns the state after p.
func (s Environment) Evolve(p eventschemas.Payload) Environment {
	switch e := p.(type) {
	case *eventschemas.EnvironmentCreated:
		s = Environment{ID: e.EnvironmentID, Exists: true, Name: e.Name}
	case *eventschemas.EnvironmentRenamed:
		s.Name = e.Name
	case *eventschemas.EnvironmentDeleted:
		s.Deleted = true
	}
	return s
}

// EnvironmentCommand is a request to change an environment.
type EnvironmentCommand interface {
	decide(Environment) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s Environment) Decide(c EnvironmentCommand) ([]eventschemas.Payload, error) {
	return c.decide(s)
}

func (s Environment) live(id int64) error {
	return liveness("environment", s.Exists && !s.Deleted, s.ID, id)
}

// CreateEnvironment adds environment EnvironmentID.
type CreateEnvironment struct {
	Actor         access.Actor
	EnvironmentID int64
	Name          string
}

func (c CreateEnvironment) decide(s Environment) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateEnvironment)); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, domain.Conflict("environment %d already exists", c.EnvironmentID)
	}
	name, err := domain.RequireText("environment_name", c.Name, MaxNameLength)
	if err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.EnvironmentCreated{EnvironmentID: c.EnvironmentID, Name: name}}, nil
}

// RenameEnvironment gives an environment a new name.
type RenameEnvironment struct {
	Actor         access.Actor
	EnvironmentID int64
	Name          string
}

func (c RenameEnvironment) decide(s Environment) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.EditEnvironment)); err != nil {
		return nil, err
	}
	if err := s.live(c.EnvironmentID); err != nil {
		return nil, err
	}
	name, err := domain.RequireText("environment_name", c.Name, MaxNameLength)
	if err != nil || name == s.Name {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.EnvironmentRenamed{EnvironmentID: s.ID, Name: name}}, nil
}

// DeleteEnvironment removes an environment that no live feature or
// variable uses.
type DeleteEnvironment struct {
	Actor         access.Actor
	EnvironmentID int64
	// UsedBy are the live features and variables that use the
	// environment, as the caller found them; any refuses the deletion
	// (ErrConflict).
	UsedBy Usage
}

func (c DeleteEnvironment) decide(s Environment) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.DeleteEnvironment)); err != nil {
		return nil, err
	}
	if err := s.live(c.EnvironmentID); err != nil {
		return nil, err
	}
	if err := c.UsedBy.refuse("environment", s.ID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.EnvironmentDeleted{EnvironmentID: s.ID}}, nil
}
