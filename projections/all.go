package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ReadModels returns every read model of Cometa-ES, for the composition
// root and the API test harness. A new read model adds one line here.
func ReadModels() []ReadModel {
	return []ReadModel{
		Accounts{},
		Departments{},
		Catalog{},
		NewRuns(),
		NewFeatures(),
		NewFolders(),
		NewVariables(),
	}
}

// idSource is where the highest id of one kind is found: a read model
// and the query over its tables.
type idSource struct {
	model string
	query string
}

// idSources maps each kind of integer id (the "<kind>" of the stream
// "<kind>-<id>") to the read model that holds the ids. A new kind adds one
// line here.
func idSources() map[string]idSource {
	return map[string]idSource{
		"account":     {"accounts", "SELECT max(account_id) FROM rm_accounts.accounts"},
		"department":  {"departments", "SELECT max(department_id) FROM rm_departments.departments"},
		"application": {"catalog", "SELECT max(app_id) FROM rm_catalog.applications"},
		"environment": {"catalog", "SELECT max(environment_id) FROM rm_catalog.environments"},
		"browser":     {"catalog", "SELECT max(browser_id) FROM rm_catalog.browsers"},
		"feature":     {"features", "SELECT max(feature_id) FROM rm_features.features"},
		"folder":      {"folders", "SELECT max(folder_id) FROM rm_folders.folders"},
		"variable":    {"variables", "SELECT max(variable_id) FROM rm_variables.variables"},
	}
}

// IDSeed returns the seed of commands.IDs: the highest id of a kind in the
// read models, 0 when there is none or the model was never built. The read
// models may lag the log and forget deleted objects; the allocator steps
// over ids that turn out to be taken.
//
// TODO(ids): an id whose object was deleted is not seen here, so a store
// whose newest ids were all deleted costs the allocator one failed append
// per such id (at most 256 in a row) after a restart.
func IDSeed(pool *pgxpool.Pool) func(ctx context.Context, kind string) (int64, error) {
	sources := idSources()
	return func(ctx context.Context, kind string) (int64, error) {
		src, ok := sources[kind]
		if !ok {
			return 0, fmt.Errorf("id seed: no read model holds ids of kind %q: %w", kind, ErrInvalid)
		}
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
			schemaOf(src.model)).Scan(&exists); err != nil {
			return 0, fmt.Errorf("id seed %s: %w", kind, err)
		}
		if !exists {
			return 0, nil
		}
		var last *int64
		if err := pool.QueryRow(ctx, src.query).Scan(&last); err != nil {
			return 0, fmt.Errorf("id seed %s: %w", kind, err)
		}
		if last == nil {
			return 0, nil
		}
		return *last, nil
	}
}
