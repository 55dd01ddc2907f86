// Package eventschemas names every event type of Cometa-ES, defines its
// payload, its schema version and the upcasters that bring older versions up
// to date. It is the leaf of the module: it imports only the standard
// library.
//
// Type names are string constants, never derived from Go type names, so that
// renaming a struct cannot orphan stored events.
package eventschemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// ErrUnknownType is returned for an event type that is not registered.
var ErrUnknownType = errors.New("unknown event type")

// Payload is implemented by every event payload struct. EventType returns
// one of the type name constants of this package.
type Payload interface {
	EventType() string
}

// Upcaster rewrites the JSON of one schema version into the next one. It
// must be pure: the same input always gives the same output.
type Upcaster func(data []byte) ([]byte, error)

// Schema describes one event type.
type Schema struct {
	// Type is the stored type name.
	Type string
	// Version is the current schema version; events are written with it.
	Version int
	// New returns a pointer to a zero payload of the current version.
	New func() Payload
	// Upcasters[v] turns version v into version v+1, for every v from 1 to
	// Version-1.
	Upcasters map[int]Upcaster
}

// Registry maps type names to schemas. Build one with NewRegistry in the
// composition root; it is safe for concurrent reads once built.
type Registry struct {
	schemas map[string]Schema
}

// NewRegistry returns a registry holding the given schemas. A duplicate
// type name, a schema without constructor, a constructor whose payload
// reports another type, or a gap in an upcaster chain is an error.
func NewRegistry(schemas ...Schema) (*Registry, error) {
	r := &Registry{schemas: make(map[string]Schema, len(schemas))}
	var errs []error
	for _, s := range schemas {
		if err := r.register(s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

func (r *Registry) register(s Schema) error {
	switch {
	case s.Type == "":
		return errors.New("register event schema: empty type name")
	case s.Version < 1:
		return fmt.Errorf("register event type %q: version %d", s.Type, s.Version)
	case s.New == nil:
		return fmt.Errorf("register event type %q: no constructor", s.Type)
	}
	if _, dup := r.schemas[s.Type]; dup {
		return fmt.Errorf("register event type %q: registered twice", s.Type)
	}
	if got := s.New().EventType(); got != s.Type {
		return fmt.Errorf("register event type %q: payload reports type %q", s.Type, got)
	}
	for v := 1; v < s.Version; v++ {
		if s.Upcasters[v] == nil {
			return fmt.Errorf("register event type %q: no upcaster from version %d", s.Type, v)
		}
	}
	r.schemas[s.Type] = s
	return nil
}

// Lookup returns the schema of an event type.
func (r *Registry) Lookup(typ string) (Schema, bool) {
	s, ok := r.schemas[typ]
	return s, ok
}

// Types lists the registered type names in order.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.schemas))
	for t := range r.schemas {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Encode marshals a payload with its type's current schema version. An
// unregistered type is refused, so it can never reach the store.
func (r *Registry) Encode(p Payload) (typ string, version int, data []byte, err error) {
	typ = p.EventType()
	s, ok := r.schemas[typ]
	if !ok {
		return "", 0, nil, fmt.Errorf("encode event %q: %w", typ, ErrUnknownType)
	}
	data, err = json.Marshal(p)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode event %q: %w", typ, err)
	}
	return typ, s.Version, data, nil
}

// Upcast brings stored JSON of the given version to the current version of
// its type.
func (r *Registry) Upcast(typ string, version int, data []byte) ([]byte, error) {
	s, ok := r.schemas[typ]
	if !ok {
		return nil, fmt.Errorf("upcast event %q: %w", typ, ErrUnknownType)
	}
	if version < 1 || version > s.Version {
		return nil, fmt.Errorf("upcast event %q: stored version %d, known 1 to %d", typ, version, s.Version)
	}
	for v := version; v < s.Version; v++ {
		next, err := s.Upcasters[v](data)
		if err != nil {
			return nil, fmt.Errorf("upcast event %q from version %d: %w", typ, v, err)
		}
		data = next
	}
	return data, nil
}

// Decode upcasts stored JSON and unmarshals it into a new payload of the
// current version. Fields the payload does not know are an error, so that a
// malformed or misfiled event is noticed instead of silently half-read.
func (r *Registry) Decode(typ string, version int, data []byte) (Payload, error) {
	data, err := r.Upcast(typ, version, data)
	if err != nil {
		return nil, err
	}
	p := r.schemas[typ].New()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("decode event %q version %d: %w", typ, version, err)
	}
	return p, nil
}
