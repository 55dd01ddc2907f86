package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/esdb"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgserver"
)

// databaseName is the database cometa uses in its private cluster.
const databaseName = "cometa"

// defaultPoolSize is the pool's connection limit unless the database URL
// sets pool_max_conns: pgx's default (4 on two cores) is too small for the
// API, the projector and live subscriptions together.
const defaultPoolSize = 16

// infra is what every part of the process shares: the database, the event
// store and the encryption passphrase. It is opened once by runParts.
type infra struct {
	logger *slog.Logger
	// pg is the private cluster, nil with an external database.
	pg    *pgserver.Server
	pool  *pgxpool.Pool
	store eventstore.Store
	// dataDir is the absolute COMETA_DATA_DIR.
	dataDir string
	// passphrase encrypts variable values (API) and decrypts them (runner).
	passphrase string

	// unpublish removes the published URL of the private cluster.
	unpublish func()

	// storeKind and databaseKind describe the setup for the start-up log.
	storeKind    string
	databaseKind string
}

// openInfra starts the private PostgreSQL cluster when no database URL is
// configured, opens the pool and the event store, and loads the encryption
// passphrase. On error everything opened so far is closed again.
func openInfra(ctx context.Context, cfg Config, logger *slog.Logger) (_ *infra, err error) {
	in := &infra{logger: logger, storeKind: "postgres", databaseKind: "external"}
	defer func() {
		if err != nil {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			in.close(closeCtx)
		}
	}()

	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", cfg.DataDir, err)
	}
	// 0755: the private cluster runs as the postgres user when cometa runs
	// as root, and must be able to enter this directory.
	in.dataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if in.passphrase, err = encryptionPassphrase(cfg, dataDir); err != nil {
		return nil, err
	}

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		in.databaseKind = "private"
		in.pg, err = pgserver.Start(ctx, pgserver.Options{
			DataDir: dataDir,
			BinDir:  cfg.PGBinDir,
			Logger:  logger.With("component", "postgres"),
		})
		if err != nil {
			return nil, err
		}
		if err := in.pg.EnsureDatabase(ctx, databaseName); err != nil {
			return nil, err
		}
		dbURL = in.pg.URL(databaseName)
		if in.unpublish, err = publishDatabaseURL(dataDir, dbURL); err != nil {
			return nil, err
		}
	}
	if in.pool, err = openPool(ctx, dbURL); err != nil {
		return nil, err
	}

	if cfg.UsesESDB() {
		in.storeKind = "esdb"
		in.store, err = esdb.Open(ctx, cfg.EventStore, logger.With("component", "esdb"))
	} else {
		in.store, err = postgres.New(ctx, in.pool, logger.With("component", "eventstore"))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s event store: %w", in.storeKind, err)
	}
	return in, nil
}

// openPool opens and pings a pgx pool on dbURL.
func openPool(ctx context.Context, dbURL string) (*pgxpool.Pool, error) {
	poolCfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// pgx's message quotes the URL with its password masked.
		return nil, fmt.Errorf("database url: %w", err)
	}
	if u, err := url.Parse(dbURL); err == nil && !u.Query().Has("pool_max_conns") {
		poolCfg.MaxConns = defaultPoolSize
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// checks are the readiness probes of the infrastructure.
func (in *infra) checks() []check {
	return []check{
		{name: "database", probe: in.pool.Ping},
		{name: "eventstore", probe: func(ctx context.Context) error {
			_, _, err := in.store.Head(ctx)
			return err
		}},
	}
}

// close releases the store, the pool and the private cluster, in that
// order; ctx bounds the cluster's shutdown. Failures are logged: nothing
// more can be done about them on the way out.
func (in *infra) close(ctx context.Context) {
	var errs []error
	if in.store != nil {
		if err := in.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close event store: %w", err))
		}
	}
	if in.pool != nil {
		in.pool.Close()
	}
	if in.unpublish != nil {
		in.unpublish()
	}
	if in.pg != nil {
		if err := in.pg.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		in.logger.ErrorContext(ctx, "shutdown incomplete", "err", err)
	}
}
