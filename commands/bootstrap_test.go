package commands_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// TestBootstrapConcurrent starts four bootstraps at once, as four
// processes would: exactly one set of seed events is written, and a later
// bootstrap (with another token) changes nothing.
func TestBootstrapConcurrent(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, _, err := commands.Bootstrap(ctx, log, "first-token-0123456789", now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	if created, _, err := commands.Bootstrap(ctx, log, "second-token-0123456789", now); err != nil || created {
		t.Errorf("second bootstrap: created %v, %v; want nothing done", created, err)
	}
	for stream, want := range map[string][]string{
		"department-1":  {eventschemas.TypeDepartmentCreated},
		"application-1": {eventschemas.TypeApplicationCreated},
		"environment-1": {eventschemas.TypeEnvironmentCreated},
		"account-1":     {eventschemas.TypeAccountCreated, eventschemas.TypeTokenIssued},
	} {
		events, _, err := log.Load(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Type)
		}
		if len(got) != len(want) || got[0] != want[0] {
			t.Errorf("%s holds %v, want %v", stream, got, want)
		}
	}
	events, _, _ := log.Load(ctx, "account-1")
	s := account.State{}
	for _, e := range events {
		s = s.Evolve(e.Payload)
	}
	if s.Email != commands.BootstrapEmail || s.Role != "SUPERUSER" || len(s.Departments) != 1 ||
		s.TokenHashes["bootstrap"] != commands.TokenHash("first-token-0123456789") {
		t.Errorf("bootstrap account %+v", s)
	}
}

// TestBootstrapWithoutToken does nothing.
func TestBootstrapWithoutToken(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	created, _, err := commands.Bootstrap(context.Background(), log, "", time.Now())
	if err != nil || created {
		t.Fatalf("created %v, %v", created, err)
	}
	if _, exists, _ := log.Load(context.Background(), "department-1"); exists {
		t.Error("a bootstrap without token seeded the store")
	}
}

// TestAddBrowserConcurrent seeds the same browser from two allocators with
// the same (stale) view at once: it is written once.
func TestAddBrowserConcurrent(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	zero := func(context.Context, string) (int64, error) { return 0, nil }
	chrome := json.RawMessage(`{"browser": "chrome", "browser_version": "148.0"}`)
	ids := make([]int64, 2)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, _, err := commands.AddBrowser(context.Background(), commands.NewIDs(log, zero),
				commands.Meta{Actor: "service:api", Now: time.Now()},
				catalog.AddBrowser{Actor: access.Service(), BrowserJSON: chrome})
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	if ids[0] != 1 || ids[1] != 1 {
		t.Errorf("ids %v, want the one browser 1 twice", ids)
	}
	if _, exists, _ := log.Load(context.Background(), "browser-2"); exists {
		t.Error("the browser was written twice")
	}
}

// TestTokens checks that a token's secret is random, prefixed, and stored
// as its hash only.
func TestTokens(t *testing.T) {
	t.Parallel()
	a, ta := commands.NewToken()
	b, tb := commands.NewToken()
	if a == b || ta.ID == tb.ID || len(a) < 40 || a[:4] != "cmt_" {
		t.Errorf("tokens %q %q", a, b)
	}
	if ta.SHA256 != commands.TokenHash(a) || len(ta.SHA256) != 64 {
		t.Errorf("hash %q", ta.SHA256)
	}
}

// TestRecoverAccess locks everyone out in each way the API refuses, by
// appending the event directly, and checks that the bootstrap token lets
// a SUPERUSER in again, through ordinary events of the bootstrap's actor,
// and that a second run changes nothing.
func TestRecoverAccess(t *testing.T) {
	t.Parallel()
	const token = "recovery-token-0123456789"
	for _, tc := range []struct {
		name    string
		lockout eventschemas.Payload
		want    int64 // the account restored
	}{
		{"deleted", &eventschemas.AccountDeleted{AccountID: 1}, 2},
		{"demoted", &eventschemas.AccountUpdated{AccountID: 1, Name: commands.BootstrapName,
			Email: commands.BootstrapEmail, Role: "MANAGER", Departments: []int64{1}}, 1},
		{"tokens revoked", &eventschemas.TokensRevoked{AccountID: 1, TokenIDs: []string{"bootstrap"}}, 1},
		{"none", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log := newLog(t)
			ctx := context.Background()
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			ids := commands.NewIDs(log, func(context.Context, string) (int64, error) { return 1, nil })
			if _, _, err := commands.Bootstrap(ctx, log, token, now); err != nil {
				t.Fatal(err)
			}
			if tc.lockout != nil {
				history, _, _ := log.Load(ctx, "account-1")
				if _, err := log.Append(ctx, "account-1", eventstore.Exact(history[len(history)-1].Revision),
					commands.Meta{Actor: "service:test", Now: now}, tc.lockout); err != nil {
					t.Fatal(err)
				}
			}

			id, _, err := commands.RecoverAccess(ctx, ids, token, now.Add(time.Hour), nil)
			if err != nil || id != tc.want {
				t.Fatalf("restored account %d, %v; want %d", id, err, tc.want)
			}
			if tc.want == 0 {
				return
			}
			events, _, _ := log.Load(ctx, account.Stream(id))
			s := account.State{}
			for _, e := range events {
				s = s.Evolve(e.Payload)
				if e.OccurredAt.After(now) && e.Actor != commands.BootstrapActor {
					t.Errorf("event %s by %q, want %q", e.Type, e.Actor, commands.BootstrapActor)
				}
			}
			if s.Deleted || s.Role != "SUPERUSER" || s.Email != commands.BootstrapEmail ||
				!slices.Contains(slices.Collect(maps.Values(s.TokenHashes)), commands.TokenHash(token)) {
				t.Errorf("restored account %+v", s)
			}

			head, _, _ := log.Store().Head(ctx)
			if again, _, err := commands.RecoverAccess(ctx, ids, token, now.Add(2*time.Hour), []int64{1, id}); err != nil || again != 0 {
				t.Errorf("second run restored %d, %v; want nothing", again, err)
			}
			if after, _, _ := log.Store().Head(ctx); after != head {
				t.Errorf("second run moved the head from %v to %v", head, after)
			}
		})
	}
}

// TestRecoverAccessRevokesTokens restores a MANAGER that holds the address
// admin@localhost and a token of its own (written here behind the API's
// back): its tokens are revoked before it is promoted, in the same append,
// so that only the bootstrap token carries SUPERUSER.
func TestRecoverAccessRevokesTokens(t *testing.T) {
	t.Parallel()
	const token = "recovery-token-0123456789"
	log := newLog(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ids := commands.NewIDs(log, func(context.Context, string) (int64, error) { return 1, nil })
	if _, _, err := commands.Bootstrap(ctx, log, token, now); err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Actor: "service:test", Now: now}
	history, _, _ := log.Load(ctx, "account-1")
	if _, err := log.Append(ctx, "account-1", eventstore.Exact(history[len(history)-1].Revision), meta,
		&eventschemas.AccountDeleted{AccountID: 1}); err != nil {
		t.Fatal(err)
	}
	old := commands.TokenHash("old-manager-token-0123456789")
	if _, err := log.Append(ctx, "account-2", eventstore.NoStream(), meta,
		&eventschemas.AccountCreated{AccountID: 2, Name: "Manager", Email: "Admin@Localhost",
			Role: "MANAGER", Departments: []int64{1}},
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "bootstrap", TokenSHA256: old},
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "other", TokenSHA256: commands.TokenHash("x")},
	); err != nil {
		t.Fatal(err)
	}

	id, _, err := commands.RecoverAccess(ctx, ids, token, now.Add(time.Hour), []int64{2})
	if err != nil || id != 2 {
		t.Fatalf("restored account %d, %v; want 2", id, err)
	}
	events, _, _ := log.Load(ctx, "account-2")
	var (
		s    account.State
		tail []string
	)
	for _, e := range events {
		s = s.Evolve(e.Payload)
		if e.OccurredAt.After(now) {
			tail = append(tail, e.Type)
		}
	}
	want := []string{eventschemas.TypeTokensRevoked, eventschemas.TypeAccountUpdated, eventschemas.TypeTokenIssued}
	if !slices.Equal(tail, want) {
		t.Errorf("recovery appended %v, want %v", tail, want)
	}
	if s.Role != "SUPERUSER" || !slices.Equal(s.Tokens, []string{"bootstrap"}) ||
		s.TokenHashes["bootstrap"] != commands.TokenHash(token) {
		t.Errorf("restored account %+v, want SUPERUSER with the bootstrap token only", s)
	}
}

// TestBootstrapEmailReserved refuses, with a 400 on email, an account
// opened with admin@localhost or changed to it by anyone but the
// bootstrap; an account that has the address keeps it.
func TestBootstrapEmailReserved(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ids := commands.NewIDs(log, func(context.Context, string) (int64, error) { return 1, nil })
	if _, _, err := commands.Bootstrap(ctx, log, "bootstrap-token-0123456789", now); err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Actor: "service:api", Now: now}
	service := access.Service()
	wantEmail := func(what string, err error) {
		t.Helper()
		fields := domain.Fields(err)
		if len(fields) != 1 || fields[0].Field != "email" ||
			!strings.Contains(err.Error(), "reserved for the bootstrap administrator") {
			t.Errorf("%s: %v, want a 400 on email", what, err)
		}
	}

	_, _, err := commands.CreateAccount(ctx, ids, meta, account.Create{Actor: service, Name: "Someone",
		Email: " Admin@Localhost ", Role: "MANAGER", Departments: []int64{}})
	wantEmail("create", err)
	id, _, err := commands.CreateAccount(ctx, ids, meta, account.Create{Actor: service, Name: "Someone",
		Email: "someone@example.test", Role: "MANAGER", Departments: []int64{}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = commands.ChangeAccount(ctx, log, meta, id, account.Update{Actor: service, AccountID: id,
		Name: "Someone", Email: "ADMIN@localhost"})
	wantEmail("update", err)
	if err := commands.TryAccount(ctx, log, meta, id, account.Update{Actor: service, AccountID: id,
		Name: "Someone", Email: "admin@localhost"}); err == nil {
		t.Error("TryAccount accepted the reserved address")
	}

	if _, _, err := commands.ChangeAccount(ctx, log, meta, 1, account.Update{Actor: service, AccountID: 1,
		Name: "Renamed", Email: commands.BootstrapEmail}); err != nil {
		t.Errorf("renaming the bootstrap account: %v", err)
	}
}
