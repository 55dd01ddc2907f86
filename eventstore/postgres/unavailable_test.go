package postgres

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/pgtest"
)

// listenerPIDs returns the backends of the stores' LISTEN connections to
// the database of pool.
func listenerPIDs(t *testing.T, pool *pgxpool.Pool) []int32 {
	t.Helper()
	rows, err := pool.Query(testContext(t), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, listenerAppName)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func TestSubscriptionsShareOneListener(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pool := pgtest.NewPool(t)
	s := newStore(t, pool)
	for range 3 {
		sub, err := s.SubscribeAll(ctx, eventstore.Position{})
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		defer sub.Close()
	}
	if pids := listenerPIDs(t, pool); len(pids) != 1 {
		t.Errorf("3 subscriptions hold %d LISTEN connections, want 1", len(pids))
	}
}

func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pool := pgtest.NewPool(t)
	s := newStore(t, pool)
	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	delivered := collect(sub)

	old := listenerPIDs(t, pool)
	if len(old) != 1 {
		t.Fatalf("%d listener connections", len(old))
	}
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", old[0]).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the listener: %v %v", ok, err)
	}

	ev := event("StepRecorded")
	if _, err := s.Append(ctx, "run-7", eventstore.NoStream(), ev); err != nil {
		t.Fatalf("append: %v", err)
	}
	if got := next(t, ctx, delivered); got.ID != ev.ID {
		t.Errorf("delivered %s, want %s", got.ID, ev.ID)
	}
	// The listener comes back on a new connection.
	awaitListeners(t, pool, "one new listener", func(pids []int32) bool {
		return len(pids) == 1 && pids[0] != old[0]
	})
}

// awaitListeners waits until the LISTEN backends of pool's database satisfy
// ok. Backends come and go asynchronously to the client, and there is
// nothing to wait on but pg_stat_activity, hence the polling.
func awaitListeners(t *testing.T, pool *pgxpool.Pool, want string, ok func([]int32) bool) {
	t.Helper()
	ctx := testContext(t)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		pids := listenerPIDs(t, pool)
		if ok(pids) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("LISTEN backends %v, want %s", pids, want)
		}
	}
}

// TestConnectionLoss cuts the store off its database: every call fails with
// ErrUnavailable and no pgx error type, and it recovers once the database
// is back.
func TestConnectionLoss(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, url)
	s := newStore(t, pool)
	if _, err := s.Append(ctx, "feature-1", eventstore.NoStream(), event("FeatureCreated")); err != nil {
		t.Fatalf("append: %v", err)
	}
	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	if _, err := sub.Recv(); err != nil {
		t.Fatalf("recv: %v", err)
	}

	var name string
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	admin := pgtest.NewPool(t) // another database of the same cluster
	ident := pgx.Identifier{name}.Sanitize()
	allow := func(on bool) {
		t.Helper()
		sql := fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", ident, on)
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	t.Cleanup(func() { allow(true) })
	_, err = admin.Exec(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := sub.Recv(); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("Recv after the connection was lost: %v, want ErrUnavailable", err)
	}
	lost := event("FeatureSaved")
	calls := map[string]func() error{
		"Append": func() error {
			_, err := s.Append(ctx, "feature-1", eventstore.Exact(0), lost)
			return err
		},
		"ReadStream": func() error {
			_, err := s.ReadStream(ctx, "feature-1", eventstore.StreamQuery{})
			return err
		},
		"ReadAll": func() error {
			_, err := s.ReadAll(ctx, eventstore.Position{}, 10)
			return err
		},
		"Head": func() error {
			_, _, err := s.Head(ctx)
			return err
		},
		"SubscribeAll": func() error {
			_, err := s.SubscribeAll(ctx, eventstore.Position{})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		var pgErr *pgconn.PgError
		if !errors.Is(err, eventstore.ErrUnavailable) || errors.As(err, &pgErr) {
			t.Errorf("%s while the database is unreachable: %v, want ErrUnavailable without pgx types", name, err)
		}
	}

	allow(true)
	// Each failed call drops one dead pooled connection; within the pool's
	// size a fresh one serves the retry, which the event id makes safe.
	var res eventstore.AppendResult
	for range pool.Stat().MaxConns() + 1 {
		res, err = s.Append(ctx, "feature-1", eventstore.Exact(0), lost)
		if !errors.Is(err, eventstore.ErrUnavailable) {
			break
		}
	}
	if err != nil || res.NextRevision != 1 {
		t.Fatalf("append once the database is back: %v, %v", res, err)
	}
	again, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe once the database is back: %v", err)
	}
	defer again.Close()
	for i := range 2 {
		if _, err := again.Recv(); err != nil {
			t.Fatalf("recv %d once the database is back: %v", i, err)
		}
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pool := pgtest.NewPool(t)
	s, err := New(ctx, pool, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	closed, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := closed.Close(); err != nil {
		t.Fatalf("close subscription: %v", err)
	}
	if _, err := closed.Recv(); !errors.Is(err, errSubscriptionClosed) {
		t.Errorf("Recv after Close: %v, want %v", err, errSubscriptionClosed)
	}

	open, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer open.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	if _, err := open.Recv(); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("Recv after the store closed: %v, want ErrUnavailable", err)
	}
	if _, err := s.SubscribeAll(ctx, eventstore.Position{}); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("SubscribeAll after the store closed: %v, want ErrUnavailable", err)
	}
	awaitListeners(t, pool, "none after Close", func(pids []int32) bool { return len(pids) == 0 })
}
