package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Departments is the read model of departments (schema rm_departments):
//
//	departments (department_id, department_name, name_key, slug, settings,
//	             created_on)
//
// name_key is domain.NameKey(department_name), the form in which names
// are unique. A deleted department's row is removed.
type Departments struct{}

var _ ReadModel = Departments{}

// Name returns "departments".
func (Departments) Name() string { return "departments" }

// Version is the version of the table below.
func (Departments) Version() int { return 2 }

// DDL creates the table.
func (Departments) DDL() string {
	return `
CREATE TABLE departments (
	department_id bigint PRIMARY KEY,
	department_name text NOT NULL,
	name_key text NOT NULL,
	slug text NOT NULL,
	settings jsonb NOT NULL DEFAULT '{}',
	created_on timestamptz NOT NULL
);
CREATE INDEX departments_name ON departments (name_key);`
}

// EventTypes lists the department events.
func (Departments) EventTypes() []string {
	return []string{
		eventschemas.TypeDepartmentCreated, eventschemas.TypeDepartmentRenamed,
		eventschemas.TypeDepartmentSettingsChanged, eventschemas.TypeDepartmentDeleted,
	}
}

// Queue queues the statements for one event.
func (Departments) Queue(b *pgx.Batch, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.DepartmentCreated:
		b.Queue(`INSERT INTO departments (department_id, department_name, name_key, slug, created_on)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (department_id) DO NOTHING`,
			e.DepartmentID, e.Name, domain.NameKey(e.Name), e.Slug, ev.OccurredAt)
	case *eventschemas.DepartmentRenamed:
		b.Queue(`UPDATE departments SET department_name = $2, name_key = $3, slug = $4
			WHERE department_id = $1`, e.DepartmentID, e.Name, domain.NameKey(e.Name), e.Slug)
	case *eventschemas.DepartmentSettingsChanged:
		b.Queue("UPDATE departments SET settings = $2::jsonb WHERE department_id = $1",
			e.DepartmentID, string(e.Settings))
	case *eventschemas.DepartmentDeleted:
		b.Queue("DELETE FROM departments WHERE department_id = $1", e.DepartmentID)
	default:
		return fmt.Errorf("departments: unexpected payload %T", ev.Payload)
	}
	return nil
}

// Apply changes the table for one event.
func (m Departments) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	return applyQueued(ctx, tx, m, ev)
}

// applyQueued runs what a Queuer queues for one event, so that Apply and
// Queue cannot disagree.
func applyQueued(ctx context.Context, tx pgx.Tx, q Queuer, ev Event) error {
	b := &pgx.Batch{}
	if err := q.Queue(b, ev); err != nil {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}
