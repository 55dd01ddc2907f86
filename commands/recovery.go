package commands

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
)

// bootstrapTokenID is the id of the bootstrap token on its account.
const bootstrapTokenID = "bootstrap"

// RecoverAccess lets the bootstrap token in again when nobody can
// administer Cometa any more: when no live account with role SUPERUSER
// holds a live token. Then the live account with the address
// BootstrapEmail (the lowest id, should there be several) is made
// SUPERUSER again and given token; without one, a new SUPERUSER
// BootstrapEmail is opened with it, behind the address's claim
// (AccountEmail). It reports the account it restored, or 0 when it changed
// nothing, which it does when token is "" or a SUPERUSER with a live token
// exists.
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

	var steps []account.Command
	if admin.Role != role.Superuser {
		steps = append(steps, account.Update{Actor: service, AccountID: admin.ID,
			Name: admin.Name, Email: admin.Email, Role: role.Superuser})
	}
	if !slices.Contains(slices.Collect(maps.Values(admin.TokenHashes)), hash) {
		steps = append(steps, account.IssueToken{Actor: service, AccountID: admin.ID,
			Token: account.Token{ID: freeTokenID(*admin, hash), SHA256: hash}})
	}
	for _, c := range steps {
		meta.CommandID = uuid.New()
		res, _, err := ChangeAccount(ctx, l, meta, admin.ID, c)
		if err != nil {
			return 0, pos, fmt.Errorf("recover access: account %d: %w", admin.ID, err)
		}
		pos = res.Position
	}
	return admin.ID, pos, nil
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

// freeTokenID names the bootstrap token on s: bootstrapTokenID, unless a
// live token of s has that id already.
func freeTokenID(s account.State, hash string) string {
	if _, taken := s.TokenHashes[bootstrapTokenID]; !taken {
		return bootstrapTokenID
	}
	return bootstrapTokenID + "-" + hash[:12]
}
