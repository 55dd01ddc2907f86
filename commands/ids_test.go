package commands_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newLog(t *testing.T) *commands.Log {
	t.Helper()
	ctx := context.Background()
	store, err := postgres.New(ctx, pgtest.NewPool(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	return commands.NewLog(store, reg)
}

func department(id int64) ([]eventschemas.Payload, error) {
	name := fmt.Sprint("Department ", id)
	return []eventschemas.Payload{&eventschemas.DepartmentCreated{DepartmentID: id, Name: name, Slug: name}}, nil
}

// TestIDsUniqueAcrossAllocators runs two allocators, as two processes
// would, from the same stale seed: every id is handed out exactly once and
// the numbering has no holes.
func TestIDsUniqueAcrossAllocators(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	zero := func(context.Context, string) (int64, error) { return 0, nil }
	allocators := []*commands.IDs{commands.NewIDs(log, zero), commands.NewIDs(log, zero)}

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids []int64
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				id, _, err := allocators[w%2].Create(context.Background(), "department",
					commands.Meta{Actor: "account-1", Now: time.Now()}, department)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("ids = %v, want 1 to %d once each", ids, len(ids))
		}
	}
}

// TestIDsRefusedCommandKeepsNumbering checks that a command refused by
// its own decision claims no id.
func TestIDsRefusedCommandKeepsNumbering(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	ids := commands.NewIDs(log, func(context.Context, string) (int64, error) { return 41, nil })
	meta := commands.Meta{Actor: "account-1", Now: time.Now()}

	_, _, err := ids.Create(context.Background(), "department", meta, func(int64) ([]eventschemas.Payload, error) {
		return nil, fmt.Errorf("refused")
	})
	if err == nil {
		t.Fatal("a refused build created something")
	}
	id, _, err := ids.Create(context.Background(), "department", meta, department)
	if err != nil || id != 42 {
		t.Errorf("next id = %d, %v; want 42", id, err)
	}
}
