package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReadModels returns every read model of Cometa-ES, for the composition
// root and the API test harness. A new read model adds one line here.
func ReadModels() []ReadModel {
	return []ReadModel{
		IDs{},
		Accounts{},
		Departments{},
		Catalog{},
		NewRuns(),
		NewRunQueue(),
		NewFeatures(),
		NewFolders(),
		NewVariables(),
		NewSchedules(),
		NewEventLog(),
		NewFeatureHistory(),
		NewTrend(),
	}
}

// IDSeed returns the seed of commands.IDs: the highest id of a kind ever
// claimed in the log, as the ids read model saw it, or 0 when there is none
// or the model was never built. The model may lag the log by a moment; the
// allocator steps over ids that turn out to be taken.
func IDSeed(pool *pgxpool.Pool) func(ctx context.Context, kind string) (int64, error) {
	return func(ctx context.Context, kind string) (int64, error) {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
			schemaOf(IDs{}.Name())).Scan(&exists); err != nil {
			return 0, fmt.Errorf("id seed %s: %w", kind, err)
		}
		if !exists {
			return 0, nil
		}
		var last int64
		err := pool.QueryRow(ctx, "SELECT max_id FROM rm_ids.max_ids WHERE kind = $1", kind).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("id seed %s: %w", kind, err)
		}
		return last, nil
	}
}
