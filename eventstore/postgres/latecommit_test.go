package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/pgtest"
)

// The tests in this file hold transactions open on purpose. Transaction
// ids are cluster-wide, so while they do, no reader of any database in the
// test cluster sees new events: they must not run in parallel with others.

// liveRead is what a caught-up subscription saw in one read.
type liveRead struct {
	n      int
	unread bool
}

// watchReads makes s report its subscriptions' live reads on the returned
// channel. Call it before subscribing.
func watchReads(s *Store) <-chan liveRead {
	reads := make(chan liveRead, 64)
	s.readHook = func(n int, unread bool) {
		select {
		case reads <- liveRead{n, unread}:
		default: // the test only needs the latest few
		}
	}
	return reads
}

// collect receives from sub in the background until it fails.
func collect(sub eventstore.Subscription) <-chan eventstore.Event {
	out := make(chan eventstore.Event, 16)
	go func() {
		defer close(out)
		for {
			ev, err := sub.Recv()
			if err != nil {
				return
			}
			out <- ev
		}
	}()
	return out
}

func next(t *testing.T, ctx context.Context, events <-chan eventstore.Event) eventstore.Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("subscription ended")
		}
		return ev
	case <-ctx.Done():
		t.Fatal("no event delivered before the test's deadline")
	}
	return eventstore.Event{}
}

// awaitUnread waits until a subscription has read the log, found nothing
// it may deliver, and knows that committed events lie beyond.
func awaitUnread(t *testing.T, ctx context.Context, reads <-chan liveRead) {
	t.Helper()
	for {
		select {
		case r := <-reads:
			if r.n != 0 {
				t.Fatalf("a live read returned %d events while an older transaction was open", r.n)
			}
			if r.unread {
				return
			}
		case <-ctx.Done():
			t.Fatal("the subscription never noticed the committed event")
		}
	}
}

func event(typ string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: []byte(`{}`),
		Actor: "account-1", CorrelationID: uuid.NewString()}
}

// TestLateCommit: an append whose transaction stays open while a later one
// commits must come first, and nothing may be delivered past it meanwhile.
func TestLateCommit(t *testing.T) {
	ctx := testContext(t)
	pool := pgtest.NewPool(t)
	s := newStore(t, pool)
	s.settleTimeout = 0 // ReadAll below must not wait for the open transaction
	reads := watchReads(s)
	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	delivered := collect(sub)

	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx)
	first, second := event("RunRequested"), event("FeatureCreated")
	res1, err := s.append(ctx, early, "run-1", eventstore.NoStream(), []eventstore.EventData{first})
	if err != nil {
		t.Fatalf("append in the held transaction: %v", err)
	}
	res2, err := s.Append(ctx, "feature-1", eventstore.NoStream(), second)
	if err != nil {
		t.Fatalf("later append: %v", err)
	}
	if !res1.Position.Less(res2.Position) {
		t.Fatalf("held append at %v does not sort before the later one at %v", res1.Position, res2.Position)
	}

	// While the first transaction is open, the committed second event is
	// invisible to every reader of the log.
	if page, err := s.ReadAll(ctx, eventstore.Position{}, 10); err != nil || len(page) != 0 {
		t.Fatalf("ReadAll while the first append is open = %d events, %v; want none", len(page), err)
	}
	if head, _, err := s.Head(ctx); err != nil || !head.IsZero() {
		t.Errorf("Head while the first append is open = %v, %v; want the empty log", head, err)
	}
	awaitUnread(t, ctx, reads)
	select {
	case ev := <-delivered:
		t.Fatalf("delivered %s at %v while an older transaction was open", ev.Type, ev.Position)
	default:
	}

	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := []eventstore.AppendResult{res1, res2}
	ids := []uuid.UUID{first.ID, second.ID}
	for i := range want {
		ev := next(t, ctx, delivered)
		if ev.ID != ids[i] || ev.Position != want[i].Position {
			t.Errorf("delivery %d = %s at %v, want %s at %v", i, ev.ID, ev.Position, ids[i], want[i].Position)
		}
	}
	page, err := s.ReadAll(ctx, eventstore.Position{}, 10)
	if err != nil || len(page) != 2 || page[0].ID != first.ID || page[1].ID != second.ID {
		t.Errorf("ReadAll after the commit = %d events (%v), want both in append order", len(page), err)
	}
}

// TestForeignTransactionHoldsHorizon: a transaction that never appends (in
// another database even) holds the horizon back and never notifies; the
// subscription must still deliver once it ends.
func TestForeignTransactionHoldsHorizon(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t, pgtest.NewPool(t))
	reads := watchReads(s)
	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	delivered := collect(sub)

	tx := holdHorizon(t)

	ev := event("ScheduleTickFired")
	if _, err := s.Append(ctx, "schedule-1", eventstore.NoStream(), ev); err != nil {
		t.Fatalf("append: %v", err)
	}
	awaitUnread(t, ctx, reads)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ctx, delivered); got.ID != ev.ID {
		t.Errorf("delivered %s, want %s", got.ID, ev.ID)
	}
}

// holdHorizon opens a transaction with an xid in a database of its own and
// returns it: until it ends, no reader of the cluster sees later commits.
func holdHorizon(t *testing.T) pgx.Tx {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestReadAllWaitsForHiddenCommits: an event committed before ReadAll but
// hidden by an older running transaction is waited for, so a short page
// means nothing committed lies beyond.
func TestReadAllWaitsForHiddenCommits(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t, pgtest.NewPool(t))
	s.settleTimeout = time.Minute
	holder := holdHorizon(t)
	ev := event("FolderCreated")
	if _, err := s.Append(ctx, "folder-1", eventstore.NoStream(), ev); err != nil {
		t.Fatalf("append: %v", err)
	}

	waiting := make(chan struct{})
	var once sync.Once
	s.settleHook = func() { once.Do(func() { close(waiting) }) }
	committed := make(chan error, 1)
	go func() {
		<-waiting
		committed <- holder.Commit(ctx)
	}()
	page, err := s.ReadAll(ctx, eventstore.Position{}, 10)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID != ev.ID {
		t.Errorf("ReadAll = %d events, want the one committed before it", len(page))
	}
}

// TestReadAllSettleIsBounded: past settleTimeout ReadAll returns what it
// can see.
func TestReadAllSettleIsBounded(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t, pgtest.NewPool(t))
	s.settleTimeout = 20 * time.Millisecond
	holder := holdHorizon(t)
	ev := event("FolderCreated")
	if _, err := s.Append(ctx, "folder-1", eventstore.NoStream(), ev); err != nil {
		t.Fatalf("append: %v", err)
	}

	page, err := s.ReadAll(ctx, eventstore.Position{}, 10)
	if err != nil || len(page) != 0 {
		t.Fatalf("ReadAll while the horizon is held = %d events, %v; want none", len(page), err)
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	page, err = s.ReadAll(ctx, eventstore.Position{}, 10)
	if err != nil || len(page) != 1 {
		t.Errorf("ReadAll after the horizon moved = %d events, %v; want 1", len(page), err)
	}
}
