package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// The first account and what Cometa seeds beside it (its defaults give
// department, application and environment 1 the name "Default").
const (
	BootstrapEmail = "admin@localhost"
	BootstrapName  = "Administrator"
	DefaultName    = "Default"
	// BootstrapActor is the actor of the bootstrap's events.
	BootstrapActor = "service:bootstrap"
)

// bootstrapNamespace derives the fixed command ids of the bootstrap, so
// that two processes bootstrapping at once write the same events.
var bootstrapNamespace = uuid.MustParse("8c5b7f6e-2f0a-4d8e-a3b1-6e4c9d2f7a10")

// Bootstrap prepares a store that has no account yet: department,
// application and environment 1 named "Default", and account 1, the
// SUPERUSER admin@localhost, a member of department 1, whose API token is
// token. It does nothing when account 1 exists (it never recreates what an
// administrator deleted; RecoverAccess is for a store that nobody can
// administer any more), and reports whether it created the account.
//
// Every append expects "no stream" on a fixed stream with fixed event ids,
// so two processes starting at once are safe: one writes each stream, the
// other's identical append is acknowledged as a retry, or it finds the
// stream taken and leaves it. A bootstrap cut short is completed by the
// next one.
func Bootstrap(ctx context.Context, l *Log, token string, now time.Time) (created bool, pos eventstore.Position, err error) {
	if token == "" {
		return false, pos, nil
	}
	if _, exists, err := l.Load(ctx, account.Stream(1)); err != nil || exists {
		return false, pos, err
	}
	service := access.Service()
	seeds := []struct {
		stream string
		decide func() ([]eventschemas.Payload, error)
	}{
		{department.Stream(1), func() ([]eventschemas.Payload, error) {
			return department.State{}.Decide(department.Create{Actor: service, DepartmentID: 1, Name: DefaultName})
		}},
		{catalog.ApplicationStream(1), func() ([]eventschemas.Payload, error) {
			return catalog.Application{}.Decide(catalog.CreateApplication{Actor: service, ApplicationID: 1, Name: DefaultName})
		}},
		{catalog.EnvironmentStream(1), func() ([]eventschemas.Payload, error) {
			return catalog.Environment{}.Decide(catalog.CreateEnvironment{Actor: service, EnvironmentID: 1, Name: DefaultName})
		}},
		{account.Stream(1), func() ([]eventschemas.Payload, error) {
			return account.State{}.Decide(account.Create{
				Actor: service, AccountID: 1, Name: BootstrapName, Email: BootstrapEmail,
				Role: role.Superuser, Departments: []int64{1}, Known: []int64{1},
				Token: &account.Token{ID: bootstrapTokenID, SHA256: TokenHash(token)},
			})
		}},
	}
	for _, seed := range seeds {
		payloads, err := seed.decide()
		if err != nil {
			return false, pos, fmt.Errorf("bootstrap %s: %w", seed.stream, err)
		}
		meta := Meta{
			Actor:         BootstrapActor,
			CorrelationID: "bootstrap",
			CommandID:     uuid.NewSHA1(bootstrapNamespace, []byte(seed.stream)),
			Now:           now,
		}
		res, err := l.Append(ctx, seed.stream, eventstore.NoStream(), meta, payloads...)
		switch {
		case errors.Is(err, eventstore.ErrConflict):
			// Written before: by another process, or by an administrator
			// in the case of the seeds.
			continue
		case err != nil:
			return false, pos, fmt.Errorf("bootstrap: %w", err)
		}
		pos = res.Position
		created = seed.stream == account.Stream(1)
	}
	return created, pos, nil
}
