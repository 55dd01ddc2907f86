package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// BrowserStream returns the name of browser id's stream.
func BrowserStream(id int64) string { return fmt.Sprintf("browser-%d", id) }

// Browser is an entry of the local browser catalogue.
type Browser struct {
	ID          int64
	Exists      bool
	Removed     bool
	BrowserJSON json.RawMessage
}

// FoldBrowser returns the state after history.
func FoldBrowser(history []eventschemas.Payload) Browser { return domain.Fold(Browser{}, history) }

// Evolve returns the state after p.
func (s Browser) Evolve(p eventschemas.Payload) Browser {
	switch e := p.(type) {
	case *eventschemas.BrowserAdded:
		s = Browser{ID: e.BrowserID, Exists: true, BrowserJSON: e.BrowserJSON}
	case *eventschemas.BrowserRemoved:
		s.Removed = true
	}
	return s
}

// BrowserCommand is a request to change a browser entry.
type BrowserCommand interface {
	decide(Browser) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s Browser) Decide(c BrowserCommand) ([]eventschemas.Payload, error) { return c.decide(s) }

// AddBrowser puts browser BrowserID into the catalogue. BrowserJSON must be
// a JSON object with at least a "browser" key. Adding the same object to a
// live entry again changes nothing, so seeding at start-up is idempotent.
type AddBrowser struct {
	Actor       access.Actor
	BrowserID   int64
	BrowserJSON json.RawMessage
}

func (c AddBrowser) decide(s Browser) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateBrowser)); err != nil {
		return nil, err
	}
	obj, err := domain.RequireObject("browser_json", c.BrowserJSON)
	if err != nil {
		return nil, err
	}
	var fields struct {
		Browser string `json:"browser"`
	}
	if json.Unmarshal(obj, &fields) != nil || fields.Browser == "" {
		return nil, domain.Invalid("browser_json", `must name the "browser"`)
	}
	if s.Exists {
		if !s.Removed && bytes.Equal(s.BrowserJSON, obj) {
			return nil, nil
		}
		return nil, domain.Conflict("browser %d already exists", c.BrowserID)
	}
	return []eventschemas.Payload{&eventschemas.BrowserAdded{BrowserID: c.BrowserID, BrowserJSON: obj}}, nil
}

// RemoveBrowser takes a browser out of the catalogue.
type RemoveBrowser struct {
	Actor     access.Actor
	BrowserID int64
}

func (c RemoveBrowser) decide(s Browser) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.DeleteBrowser)); err != nil {
		return nil, err
	}
	if err := liveness("browser", s.Exists && !s.Removed, s.ID, c.BrowserID); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.BrowserRemoved{BrowserID: s.ID}}, nil
}
