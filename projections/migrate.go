package projections

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// systemSchema holds the framework's tables and goose's version table, which
// is kept apart from any other goose table in the same database.
const (
	systemSchema = "projections"
	gooseTable   = systemSchema + ".goose_db_version"
)

// Advisory lock spaces. Two-key advisory locks are (space, key); the
// migration lock uses the one-key (bigint) form, which PostgreSQL keeps
// apart from the two-key form.
const (
	leaderSpace  int32 = 0x636d7001 // held by the active projector of a model
	rebuildSpace int32 = 0x636d7002 // held by the rebuild of a model
	schemaSpace  int32 = 0x636d7003 // serialises CREATE SCHEMA projections
	migrateLock  int64 = 0x636d700000000004
)

// migrate creates the schema "projections" and applies the embedded
// migrations with goose. Several processes may start at once: the schema is
// created under a transaction advisory lock and goose holds a session lock
// while it migrates.
func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	start := time.Now()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", schemaSpace); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+systemSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema %q: %w", systemSchema, err)
	}

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := newMigrator(db)
	if err != nil {
		return fmt.Errorf("migrate projections: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate projections: %w", err)
	}
	if len(results) > 0 {
		logger.InfoContext(ctx, "projection tables migrated",
			"migrations", len(results), "duration", time.Since(start))
	}
	return nil
}

// newMigrator returns the goose provider of the embedded migrations on db,
// whose schema "projections" must exist.
func newMigrator(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrateLock), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(gooseTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true))
}
