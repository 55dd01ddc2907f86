// Package postgres is the PostgreSQL implementation of eventstore.Store: the
// embedded default and the single-machine deployment.
//
// Events live in the schema eventlog (migrated by New with goose, whose
// version table is eventlog.goose_db_version). Appends go through one
// server-side function, eventlog.append, so a batch is one statement: the
// stream's row is locked, its revision checked against the expectation and
// the events inserted, atomically. After the commit the Store announces it
// with a NOTIFY of its own (notifier.go), outside the transaction, so that
// concurrent appends keep PostgreSQL's group commit.
//
// A Position is {Commit: the appending transaction's xid8, Prepare: the
// event's sequence number}. Readers of the whole log see only events of
// transactions older than the oldest one still running, in (xid, sequence)
// order, so a transaction that commits late can never appear behind a
// position a reader has already passed. The price: any long transaction in
// the cluster (xids are cluster-wide) holds back every reader until it ends.
//
// Only this package sees pgx errors: they come out as eventstore.ErrUnavailable
// (or the ctx's error when ctx ended), with the detail as text.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/cometa-es/cometa/eventstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

const (
	// versionTable is goose's bookkeeping, kept inside the store's schema.
	versionTable = "eventlog.goose_db_version"
	// migrationLockID is the advisory lock that serialises concurrent
	// migrations of the event log (distinct from other goose users).
	migrationLockID = 0x636f6d6574610001
	// notifyChannel is where eventlog.append announces a commit.
	notifyChannel = "eventlog_appended"
)

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	logger   *slog.Logger
	listener *listener
	notifier *notifier
	// subs counts running subscriptions, so that Close can wait for them.
	subs sync.WaitGroup

	// settleTimeout bounds how long ReadAll waits for hidden commits.
	settleTimeout time.Duration

	// Hooks set only by tests, before use. readHook is told about every
	// read of a caught-up subscription: how many events it got and whether
	// committed events it could not see yet remain. settleHook is called
	// before every wait of ReadAll for hidden commits.
	readHook   func(read int, unread bool)
	settleHook func()
}

// defaultSettleTimeout is how long ReadAll waits at most for commits that
// the horizon hides.
const defaultSettleTimeout = 2 * time.Second

var _ eventstore.Store = (*Store)(nil)

// New migrates the event log's schema in the database of pool and returns
// a ready store. The pool stays the caller's: Close does not close it.
func New(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := migrate(ctx, pool, logger); err != nil {
		return nil, fault(ctx, "migrate event log", err)
	}
	s := &Store{pool: pool, logger: logger, settleTimeout: defaultSettleTimeout}
	s.listener = newListener(s.listen, logger)
	s.notifier = newNotifier(pool, logger, s.listener.broadcast)
	return s, nil
}

// Close ends the store's subscriptions (their Recv fails with
// ErrUnavailable) and its LISTEN connection, and waits until none of them
// uses the pool any more.
func (s *Store) Close() error {
	s.notifier.close()
	s.listener.close()
	s.subs.Wait()
	return nil
}

// migrate applies the embedded migrations that the database lacks. Several
// processes may run it at once: goose serialises them with an advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	// goose creates its version table before running any migration, so the
	// schema has to exist first. Two racing creators may collide on the
	// catalog's unique index; the loser finds the schema there.
	_, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS eventlog")
	if err != nil && !hasCode(err, "23505", "42P06") {
		return err
	}

	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(versionTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return err
	}
	if len(results) > 0 {
		logger.InfoContext(ctx, "event log migrated", "applied", len(results),
			"version", results[len(results)-1].Source.Version)
	}
	return nil
}

// fault turns an error of pgx (or goose) into the port's categories: the
// ctx's error when ctx has ended, else ErrUnavailable. The cause is
// rendered, not wrapped, so that no pgx type leaks out.
func fault(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	return fmt.Errorf("%s: %w: %v", op, eventstore.ErrUnavailable, err)
}

// hasCode reports whether err is a PostgreSQL error with one of codes.
func hasCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}
