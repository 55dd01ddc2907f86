package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// bootstrapTokenID is the id of the bootstrap token on its account.
const bootstrapTokenID = "bootstrap"

// RecoverAccess lets the bootstrap token in again when nobody can
// administer Cometa any more: when no live account with role SUPERUSER
// holds a live token. Then the live account with the address
// BootstrapEmail (the lowest id, should there be several) loses every
// token it holds, so that only token carries the role restored, and is
// made SUPERUSER again and given token (promotion); without one, a new
// SUPERUSER BootstrapEmail is opened with it, behind the address's claim
// (AccountEmail). No one but the bootstrap may give an account that
// address (reserved). It reports the account it restored, or 0 when it
// changed nothing, which it does when token is "" or a SUPERUSER with a
// live token exists.
//
// The events are ordinary account events with the actor BootstrapActor,
// so the audit log shows the recovery. The decision reads the account
// streams themselves: candidates narrows which (the accounts a read model
// lists as SUPERUSER or with BootstrapEmail); account 1 and the holder of
// the address's claim are always read. A run after a successful one finds
// the restored SUPERUSER with its token and changes nothing.
//
// TODO(accounts): two processes recovering at once where BootstrapEmail
// is gone race on the address's claim: one opens the account, the other
// is refused with a 400 on email, reported as its start-up seeding
// incomplete; its next start finds the account and does nothing.
func RecoverAccess(ctx context.Context, ids *IDs, token string, now time.Time, candidates []int64) (
	restored int64, pos eventstore.Position, err error) {
	if token == "" {
		return 0, pos, nil
	}
	l := ids.log
	accounts, err := recoveryCandidates(ctx, l, candidates)
	if err != nil {
		return 0, pos, fmt.Errorf("recover access: %w", err)
	}
	var admin *account.State
	for _, s := range accounts {
		if s.Role == role.Superuser && len(s.Tokens) > 0 {
			return 0, pos, nil
		}
		if admin == nil && AccountEmail.normal(s.Email) == AccountEmail.normal(BootstrapEmail) {
			admin = &s
		}
	}

	service := access.Service()
	meta := Meta{Actor: BootstrapActor, CorrelationID: "bootstrap-recovery", Now: now}
	hash := TokenHash(token)
	if admin == nil {
		deps, err := defaultDepartment(ctx, l)
		if err != nil {
			return 0, pos, fmt.Errorf("recover access: %w", err)
		}
		id, res, err := CreateAccount(ctx, ids, meta, account.Create{
			Actor: service, Name: BootstrapName, Email: BootstrapEmail, Role: role.Superuser,
			Departments: deps, Known: deps, Token: &account.Token{ID: bootstrapTokenID, SHA256: hash},
		})
		if err != nil {
			return 0, pos, fmt.Errorf("recover access: create %s: %w", BootstrapEmail, err)
		}
		return id, res.Position, nil
	}

	meta.CommandID = uuid.New()
	promote := folded(func(s account.State) ([]eventschemas.Payload, error) {
		return promotion(s, service, hash)
	})
	res, _, err := l.Execute(ctx, account.Stream(admin.ID), meta, promote)
	if err != nil {
		return 0, pos, fmt.Errorf("recover access: account %d: %w", admin.ID, err)
	}
	return admin.ID, res.Position, nil
}

// promotion decides, on the account s, the events that leave the bootstrap
// token (hash) its only one and make it SUPERUSER: every live token
// revoked first, so that none it held before gains the role, then the
// role, then the bootstrap token. They are appended together, so no token
// can be issued in between.
func promotion(s account.State, service access.Actor, hash string) ([]eventschemas.Payload, error) {
	steps := []account.Command{
		account.RevokeTokens{Actor: service, AccountID: s.ID},
		account.Update{Actor: service, AccountID: s.ID, Name: s.Name, Email: s.Email, Role: role.Superuser},
		account.IssueToken{Actor: service, AccountID: s.ID,
			Token: account.Token{ID: bootstrapTokenID, SHA256: hash}},
	}
	var out []eventschemas.Payload
	for _, c := range steps {
		payloads, err := s.Decide(c)
		if err != nil {
			return nil, err
		}
		for _, p := range payloads {
			s = s.Evolve(p)
		}
		out = append(out, payloads...)
	}
	return out, nil
}

// recoveryCandidates folds the live accounts among candidates, account 1
// and the holder of BootstrapEmail's claim, in id order.
func recoveryCandidates(ctx context.Context, l *Log, candidates []int64) ([]account.State, error) {
	ids := append([]int64{1}, candidates...)
	claims, _, err := l.Load(ctx, AccountEmail.ClaimStream(BootstrapEmail))
	if err != nil {
		return nil, err
	}
	if c, held := lastClaim(claims); held {
		if id, err := strconv.ParseInt(strings.TrimPrefix(c.owner, "account-"), 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	var out []account.State
	for _, id := range ids {
		history, _, err := l.Load(ctx, account.Stream(id))
		if err != nil {
			return nil, err
		}
		if s := account.Fold(payloadsOf(history)); s.Exists && !s.Deleted {
			out = append(out, s)
		}
	}
	return out, nil
}

// defaultDepartment returns department 1 when it exists, the membership
// the bootstrap gives its account, or none.
func defaultDepartment(ctx context.Context, l *Log) ([]int64, error) {
	history, _, err := l.Load(ctx, department.Stream(1))
	if err != nil {
		return nil, err
	}
	if s := department.Fold(payloadsOf(history)); !s.Exists || s.Deleted {
		return []int64{}, nil
	}
	return []int64{1}, nil
}
