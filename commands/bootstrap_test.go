package commands_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/eventschemas"
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
