package readapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
)

// tokenAuthenticator finds a bearer token's account in the accounts read
// model by the token's SHA-256; the token itself is stored nowhere.
type tokenAuthenticator struct {
	pool *pgxpool.Pool
}

var _ Authenticator = (*tokenAuthenticator)(nil)

// NewAuthenticator returns the Authenticator over the accounts read model
// (rm_accounts). A token issued by a write that has settled is found; a
// revoked token, or one of a deleted account, is not.
func NewAuthenticator(pool *pgxpool.Pool) Authenticator {
	return &tokenAuthenticator{pool: pool}
}

// Authenticate returns the caller that token belongs to, or an error
// matching domain.ErrNotFound.
func (t *tokenAuthenticator) Authenticate(ctx context.Context, token string) (Caller, error) {
	var (
		id          int64
		name, email string
		roleName    string
		departments []int64
	)
	err := t.pool.QueryRow(ctx, `
		SELECT a.account_id, a.name, a.email, a.role,
			coalesce((SELECT array_agg(m.department_id ORDER BY m.department_id)
				FROM rm_accounts.memberships m WHERE m.account_id = a.account_id), '{}')
		FROM rm_accounts.tokens t JOIN rm_accounts.accounts a ON a.account_id = t.account_id
		WHERE t.sha256 = $1`, commands.TokenHash(token)).Scan(&id, &name, &email, &roleName, &departments)
	if errors.Is(err, pgx.ErrNoRows) {
		return Caller{}, fmt.Errorf("token: %w", domain.ErrNotFound)
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	actor, err := access.Account(id, roleName, departments)
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate account %d: %w", id, err)
	}
	return Caller{Actor: actor, Name: name, Email: email}, nil
}
