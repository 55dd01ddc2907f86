package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Catalog is the read model of the catalogue (schema rm_catalog):
//
//	applications (app_id, app_name, slug, created_on, name_key)
//	environments (environment_id, environment_name, created_on)
//	browsers (browser_id, browser_json)
//
// name_key is domain.NameKey(app_name), the form in which application
// names are unique. Deleted entries' rows are removed.
type Catalog struct{}

var _ ReadModel = Catalog{}

// Name returns "catalog".
func (Catalog) Name() string { return "catalog" }

// Version is the version of the tables below.
func (Catalog) Version() int { return 2 }

// DDL creates the tables.
func (Catalog) DDL() string {
	return `
CREATE TABLE applications (
	app_id bigint PRIMARY KEY,
	app_name text NOT NULL,
	slug text NOT NULL,
	created_on timestamptz NOT NULL,
	name_key text NOT NULL
);
CREATE INDEX applications_name ON applications (name_key);
CREATE TABLE environments (
	environment_id bigint PRIMARY KEY,
	environment_name text NOT NULL,
	created_on timestamptz NOT NULL
);
CREATE TABLE browsers (
	browser_id bigint PRIMARY KEY,
	browser_json jsonb NOT NULL
);`
}

// EventTypes lists the application, environment and browser events.
func (Catalog) EventTypes() []string {
	return []string{
		eventschemas.TypeApplicationCreated, eventschemas.TypeApplicationRenamed,
		eventschemas.TypeApplicationDeleted, eventschemas.TypeEnvironmentCreated,
		eventschemas.TypeEnvironmentRenamed, eventschemas.TypeEnvironmentDeleted,
		eventschemas.TypeBrowserAdded, eventschemas.TypeBrowserRemoved,
	}
}

// Queue queues the statements for one event.
func (Catalog) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.ApplicationCreated:
		b.Queue(`INSERT INTO applications VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id) DO NOTHING`,
			e.ApplicationID, e.Name, e.Slug, ev.OccurredAt, domain.NameKey(e.Name))
	case *eventschemas.ApplicationRenamed:
		b.Queue("UPDATE applications SET app_name = $2, slug = $3, name_key = $4 WHERE app_id = $1",
			e.ApplicationID, e.Name, e.Slug, domain.NameKey(e.Name))
	case *eventschemas.ApplicationDeleted:
		b.Queue("DELETE FROM applications WHERE app_id = $1", e.ApplicationID)
	case *eventschemas.EnvironmentCreated:
		b.Queue(`INSERT INTO environments VALUES ($1, $2, $3) ON CONFLICT (environment_id) DO NOTHING`,
			e.EnvironmentID, e.Name, ev.OccurredAt)
	case *eventschemas.EnvironmentRenamed:
		b.Queue("UPDATE environments SET environment_name = $2 WHERE environment_id = $1",
			e.EnvironmentID, e.Name)
	case *eventschemas.EnvironmentDeleted:
		b.Queue("DELETE FROM environments WHERE environment_id = $1", e.EnvironmentID)
	case *eventschemas.BrowserAdded:
		b.Queue(`INSERT INTO browsers VALUES ($1, $2::jsonb) ON CONFLICT (browser_id) DO NOTHING`,
			e.BrowserID, string(e.BrowserJSON))
	case *eventschemas.BrowserRemoved:
		b.Queue("DELETE FROM browsers WHERE browser_id = $1", e.BrowserID)
	default:
		return fmt.Errorf("catalog: unexpected payload %T", ev.Payload)
	}
	return nil
}

// Apply changes the tables for one event.
func (m Catalog) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	return applyQueued(ctx, tx, m, ev)
}
