package projections

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// Accounts is the read model of accounts (schema rm_accounts): who they
// are, their department memberships and the SHA-256 hashes of their live
// API tokens, which is what authentication looks up.
//
// Tables:
//
//	accounts (account_id, name, email, email_key, role, settings,
//	          favourite_browsers, created_on, updated_on): email_key is
//	          domain.NameKey(email), the form in which addresses are unique
//	memberships (account_role_id, account_id, department_id)
//	tokens (account_id, token_id, sha256, issued_on)
//	gone_departments (department_id): deleted departments, whose
//	          memberships are dropped even when a later account event still
//	          lists them
//	counters (name, value): the last account_role_id handed out
//
// account_role_id is numbered by the model itself, in log order, so a
// rebuild gives every membership the same id again.
type Accounts struct{}

var _ ReadModel = Accounts{}

// Name returns "accounts".
func (Accounts) Name() string { return "accounts" }

// Version is the version of the tables below.
func (Accounts) Version() int { return 2 }

// DDL creates the tables.
func (Accounts) DDL() string {
	return `
CREATE TABLE accounts (
	account_id bigint PRIMARY KEY,
	name text NOT NULL,
	email text NOT NULL,
	email_key text NOT NULL,
	role text NOT NULL,
	settings jsonb NOT NULL DEFAULT '{}',
	favourite_browsers jsonb NOT NULL DEFAULT '[]',
	created_on timestamptz NOT NULL,
	updated_on timestamptz NOT NULL
);
CREATE INDEX accounts_email ON accounts (email_key);
CREATE TABLE memberships (
	account_role_id bigint PRIMARY KEY,
	account_id bigint NOT NULL,
	department_id bigint NOT NULL,
	UNIQUE (account_id, department_id)
);
CREATE INDEX memberships_department ON memberships (department_id);
CREATE TABLE tokens (
	account_id bigint NOT NULL,
	token_id text NOT NULL,
	sha256 text NOT NULL UNIQUE,
	issued_on timestamptz NOT NULL,
	PRIMARY KEY (account_id, token_id)
);
CREATE TABLE gone_departments (department_id bigint PRIMARY KEY);
CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO counters VALUES ('account_role', 0);`
}

// EventTypes lists the account events and the department deletion.
func (Accounts) EventTypes() []string {
	return []string{
		eventschemas.TypeAccountCreated, eventschemas.TypeAccountUpdated,
		eventschemas.TypeAccountDeleted, eventschemas.TypeTokenIssued,
		eventschemas.TypeTokensRevoked, eventschemas.TypeDepartmentDeleted,
	}
}

// Apply changes the tables for one event.
func (Accounts) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	switch e := ev.Payload.(type) {
	case *eventschemas.AccountCreated:
		_, err := tx.Exec(ctx, `INSERT INTO accounts (account_id, name, email, email_key, role,
				created_on, updated_on)
			VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (account_id) DO NOTHING`,
			e.AccountID, e.Name, e.Email, domain.NameKey(e.Email), e.Role, ev.OccurredAt)
		if err != nil {
			return err
		}
		return setMemberships(ctx, tx, e.AccountID, e.Departments)
	case *eventschemas.AccountUpdated:
		_, err := tx.Exec(ctx, `UPDATE accounts SET name = $2, email = $3, email_key = $8, role = $4,
				settings = coalesce($5::jsonb, settings),
				favourite_browsers = coalesce($6::jsonb, favourite_browsers), updated_on = $7
			WHERE account_id = $1`,
			e.AccountID, e.Name, e.Email, e.Role, nullJSON(e.Settings), nullJSON(e.FavouriteBrowsers),
			ev.OccurredAt, domain.NameKey(e.Email))
		if err != nil {
			return err
		}
		return setMemberships(ctx, tx, e.AccountID, e.Departments)
	case *eventschemas.AccountDeleted:
		for _, sql := range []string{
			"DELETE FROM accounts WHERE account_id = $1",
			"DELETE FROM memberships WHERE account_id = $1",
			"DELETE FROM tokens WHERE account_id = $1",
		} {
			if _, err := tx.Exec(ctx, sql, e.AccountID); err != nil {
				return err
			}
		}
		return nil
	case *eventschemas.TokenIssued:
		_, err := tx.Exec(ctx, `INSERT INTO tokens (account_id, token_id, sha256, issued_on)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			e.AccountID, e.TokenID, e.TokenSHA256, ev.OccurredAt)
		return err
	case *eventschemas.TokensRevoked:
		_, err := tx.Exec(ctx, "DELETE FROM tokens WHERE account_id = $1 AND token_id = ANY($2)",
			e.AccountID, e.TokenIDs)
		return err
	case *eventschemas.DepartmentDeleted:
		if _, err := tx.Exec(ctx, "INSERT INTO gone_departments VALUES ($1) ON CONFLICT DO NOTHING",
			e.DepartmentID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM memberships WHERE department_id = $1", e.DepartmentID)
		return err
	}
	return fmt.Errorf("accounts: unexpected payload %T", ev.Payload)
}

// setMemberships makes the account's memberships the listed departments,
// leaving out deleted ones. Memberships that stay keep their id; new ones
// are numbered in ascending department order.
func setMemberships(ctx context.Context, tx pgx.Tx, account int64, departments []int64) error {
	if departments == nil {
		departments = []int64{} // NULL would match nothing in ANY
	}
	if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE account_id = $1
		AND NOT (department_id = ANY($2))`, account, departments); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT d FROM unnest($2::bigint[]) AS d
		WHERE d NOT IN (SELECT department_id FROM memberships WHERE account_id = $1)
			AND d NOT IN (SELECT department_id FROM gone_departments)
		ORDER BY d`, account, departments)
	if err != nil {
		return err
	}
	added, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	added = slices.Compact(added)
	if len(added) == 0 {
		return nil
	}
	var last int64
	if err := tx.QueryRow(ctx, `UPDATE counters SET value = value + $1 WHERE name = 'account_role'
		RETURNING value`, len(added)).Scan(&last); err != nil {
		return err
	}
	first := last - int64(len(added)) + 1
	_, err = tx.Exec(ctx, `INSERT INTO memberships (account_role_id, account_id, department_id)
		SELECT $1 + ord - 1, $2, d FROM unnest($3::bigint[]) WITH ORDINALITY AS t(d, ord)`,
		first, account, added)
	return err
}

// nullJSON turns an absent JSON value into SQL NULL.
func nullJSON(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}
