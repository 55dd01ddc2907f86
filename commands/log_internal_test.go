package commands

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
)

// TestExecuteRetriesBounded makes every attempt of Execute lose its race
// (the decision itself appends to the stream first): Execute decides
// exactly maxAttempts times, then reports the conflict; a context that ends
// stops it at once with that context's error.
func TestExecuteRetriesBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := postgres.New(ctx, pgtest.NewPool(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLog(store, reg)
	event := func(n int) eventschemas.Payload {
		return &eventschemas.DepartmentCreated{DepartmentID: int64(n), Name: "d", Slug: "d"}
	}
	// overtaken returns a Decide that is always overtaken by a writer of
	// its own, and counts its calls; after is called after each.
	overtaken := func(stream string, calls *int, after func()) Decide {
		return func([]Recorded, bool) ([]eventschemas.Payload, error) {
			*calls++
			if _, err := l.Append(ctx, stream, eventstore.Any(), Meta{CommandID: uuid.New()}, event(*calls)); err != nil {
				return nil, err
			}
			after()
			return []eventschemas.Payload{event(0)}, nil
		}
	}

	calls := 0
	_, ok, err := l.Execute(ctx, "department-1", Meta{}, overtaken("department-1", &calls, func() {}))
	if !errors.Is(err, eventstore.ErrConflict) || ok {
		t.Errorf("always overtaken: ok %v, err %v; want a conflict", ok, err)
	}
	if calls != maxAttempts {
		t.Errorf("decided %d times, want maxAttempts (%d)", calls, maxAttempts)
	}

	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	_, _, err = l.Execute(cctx, "department-2", Meta{}, overtaken("department-2", &calls, cancel))
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("canceled after the first attempt: %d attempts, err %v; want 1 and context.Canceled", calls, err)
	}
}
