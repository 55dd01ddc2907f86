// Package projections builds the read models of Cometa-ES from the event
// log and keeps them current: one projector per read model follows the log
// from its checkpoint, a rebuild replays the whole log into fresh tables and
// swaps them in, and WaitFor lets a write handler answer only once the read
// models have seen its write.
//
// # Read models
//
// A read model is a ReadModel value. It owns one PostgreSQL schema,
// rm_<name>, created from its DDL; the framework runs DDL and Apply with
// search_path set to that schema alone, so both use unqualified table names
// and cannot reach the event tables or another model's tables by accident.
// Readers (the HTTP API) query rm_<name>.<table>.
//
// A read model never reads another read model's tables. Each model projects
// at its own pace and is rebuilt on its own, so a join across models inside
// Apply would see the other model at an arbitrary position and a rebuild
// could not reproduce the result. A model that needs another's facts keeps
// its own copy, projected from the same events; readers may join across
// schemas freely.
//
// # Guarantees
//
// A batch of events, the model's table changes and its checkpoint commit in
// one transaction, which first locks the checkpoint row and compares it with
// the checkpoint the batch started from. An event at or before the
// checkpoint is never applied again, so redelivery, two processes, or a
// rebuild swapping new tables in underneath cannot apply an event twice.
//
// # Changing a read model
//
// Read-model tables are never migrated in place. A change to DDL or Apply
// raises Version, and every Manager whose code has the new version rebuilds
// the model from the log before serving it (a Manager with older code
// leaves newer tables alone). The tables are disposable; the log is the
// source of truth.
//
// The framework's own tables (checkpoints, dead letters, rebuild progress)
// live in the schema "projections" and are created by the numbered SQL
// migrations embedded in this package, applied with goose.
package projections

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// ReadModel is one projection of the log into tables of its own schema.
//
// Apply must be deterministic: it may use only the event (envelope, payload,
// OccurredAt) and the model's own tables, never now(), random values or
// sequences. A rolled-back batch burns sequence values, so a serial column
// would differ between the incremental build and a rebuild; ids come from
// the events instead. Given the same events from an empty schema, Apply must
// leave identical rows; Checksum proves it.
type ReadModel interface {
	// Name is the model's identifier, e.g. "features": lower-case letters,
	// digits and single underscores, starting with a letter, at most 40
	// characters. The tables live in schema "rm_" + Name.
	Name() string

	// Version is the version of the model's tables and Apply logic. Raising
	// it makes the framework rebuild the model before it serves again.
	Version() int

	// DDL creates the model's tables and indexes with unqualified names. It
	// runs once, in an empty schema, when the model is (re)built.
	DDL() string

	// EventTypes lists the registered event types Apply handles. Events of
	// other types are not decoded and only move the checkpoint forward, so
	// an event that one model cannot read does not stop the others.
	EventTypes() []string

	// Apply changes the tables for one event, inside the batch transaction.
	// It is called once per event in log order, only for events after the
	// checkpoint and of the types in EventTypes. An error stops the model at
	// this event (see Manager).
	Apply(ctx context.Context, tx pgx.Tx, ev Event) error
}

// Queuer is implemented by read models that can express an event's changes
// as statements whose results they do not need to read back. The framework
// then queues a whole batch of events into one pgx.Batch and sends it in a
// single round trip instead of calling Apply per event, which is what makes
// a rebuild bulk-fast. Queue must have the same effect as Apply.
type Queuer interface {
	// Queue appends the statements for ev to b.
	Queue(b *pgx.Batch, ev Event) error
}

// Event is what Apply receives: the stored event with its envelope, and its
// payload decoded (and upcast) through the registry given to New.
type Event struct {
	eventstore.Event
	Payload eventschemas.Payload
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// maxNameLen keeps "rm_<name>__rebuild" well below PostgreSQL's 63-byte
// identifier limit.
const maxNameLen = 40

// schemaOf returns the schema of a read model's live tables.
func schemaOf(name string) string { return "rm_" + name }

// rebuildSchemaOf returns the schema a rebuild fills before the swap. The
// double underscore cannot occur in a valid name, so it never collides with
// another model's schema.
func rebuildSchemaOf(name string) string { return "rm_" + name + "__rebuild" }

// retiredSchemaOf returns the name the live schema takes during a swap, just
// before it is dropped.
func retiredSchemaOf(name string) string { return "rm_" + name + "__retired" }

// validateModels checks the models given to New: valid unique names,
// positive versions, DDL present, event types registered.
func validateModels(reg *eventschemas.Registry, models []ReadModel) error {
	var errs []error
	seen := make(map[string]bool, len(models))
	for i, m := range models {
		if m == nil {
			errs = append(errs, fmt.Errorf("read model %d is nil: %w", i, ErrInvalid))
			continue
		}
		name := m.Name()
		switch {
		case len(name) > maxNameLen || !namePattern.MatchString(name):
			errs = append(errs, fmt.Errorf("read model %q: name must match %s and have at most %d characters: %w",
				name, namePattern, maxNameLen, ErrInvalid))
		case seen[name]:
			errs = append(errs, fmt.Errorf("read model %q: registered twice: %w", name, ErrInvalid))
		}
		seen[name] = true
		if m.Version() < 1 {
			errs = append(errs, fmt.Errorf("read model %q: version %d, want 1 or more: %w",
				name, m.Version(), ErrInvalid))
		}
		if m.DDL() == "" {
			errs = append(errs, fmt.Errorf("read model %q: empty DDL: %w", name, ErrInvalid))
		}
		for _, typ := range m.EventTypes() {
			if _, ok := reg.Lookup(typ); !ok {
				errs = append(errs, fmt.Errorf("read model %q: event type %q: %w",
					name, typ, eventschemas.ErrUnknownType))
			}
		}
	}
	if len(models) == 0 {
		errs = append(errs, fmt.Errorf("no read models: %w", ErrInvalid))
	}
	return errors.Join(errs...)
}
