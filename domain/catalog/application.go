// Package catalog holds the small aggregates the features refer to:
// applications (the systems under test), environments and the local
// browsers. Each has its own stream and state; names are kept unique by
// the command layer, which sees all of them.
package catalog

import (
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/slug"
	"github.com/cometa-es/cometa/eventschemas"
)

// MaxNameLength is the longest application or environment name.
const MaxNameLength = 100

// ApplicationStream returns the name of application id's stream.
func ApplicationStream(id int64) string { return fmt.Sprintf("application-%d", id) }

// Application is an application as its events made it.
type Application struct {
	ID      int64
	Exists  bool
	Deleted bool
	Name    string
	Slug    string
}

// FoldApplication returns the state after history.
func FoldApplication(history []eventschemas.Payload) Application {
	return domain.Fold(Application{}, history)
}

// Evolve returns the state after p.
func (s Application) Evolve(p eventschemas.Payload) Application {
	switch e := p.(type) {
	case *eventschemas.ApplicationCreated:
		s = Application{ID: e.ApplicationID, Exists: true, Name: e.Name, Slug: e.Slug}
	case *eventschemas.ApplicationRenamed:
		s.Name, s.Slug = e.Name, e.Slug
	case *eventschemas.ApplicationDeleted:
		s.Deleted = true
	}
	return s
}

// ApplicationCommand is a request to change an application.
type ApplicationCommand interface {
	decide(Application) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s Application) Decide(c ApplicationCommand) ([]eventschemas.Payload, error) {
	return c.decide(s)
}

func (s Application) live(id int64) error {
	return liveness("application", s.Exists && !s.Deleted, s.ID, id)
}

// liveness is the not-found and wrong-stream check all catalogue commands
// but creation share.
func liveness(kind string, alive bool, stateID, id int64) error {
	switch {
	case !alive:
		return domain.NotFound(kind, id)
	case stateID != id:
		return domain.Conflict("command for %s %d on the stream of %s %d", kind, id, kind, stateID)
	}
	return nil
}

// CreateApplication adds application ApplicationID.
type CreateApplication struct {
	Actor         access.Actor
	ApplicationID int64
	Name          string
}

func (c CreateApplication) decide(s Application) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateApplication)); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, domain.Conflict("application %d already exists", c.ApplicationID)
	}
	name, err := domain.RequireText("app_name", c.Name, MaxNameLength)
	if err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.ApplicationCreated{
		ApplicationID: c.ApplicationID, Name: name, Slug: slug.Make(name),
	}}, nil
}

// RenameApplication gives an application a new name.
type RenameApplication struct {
	Actor         access.Actor
	ApplicationID int64
	Name          string
}

func (c RenameApplication) decide(s Application) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.EditApplication)); err != nil {
		return nil, err
	}
	if err := s.live(c.ApplicationID); err != nil {
		return nil, err
	}
	name, err := domain.RequireText("app_name", c.Name, MaxNameLength)
	if err != nil || name == s.Name {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.ApplicationRenamed{
		ApplicationID: s.ID, Name: name, Slug: slug.Make(name),
	}}, nil
}

// DeleteApplication removes an application that no live feature uses.
type DeleteApplication struct {
	Actor         access.Actor
	ApplicationID int64
	// UsedBy are the live features that use the application, as the
	// caller found them; any refuses the deletion (ErrConflict).
	UsedBy Usage
}

func (c DeleteApplication) decide(s Application) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.DeleteApplication)); err != nil {
		return nil, err
	}
	if err := s.live(c.ApplicationID); err != nil {
		return nil, err
	}
	if err := c.UsedBy.refuse("application", s.ID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.ApplicationDeleted{ApplicationID: s.ID}}, nil
}
