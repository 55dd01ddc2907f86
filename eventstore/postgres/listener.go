package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// listenerAppName marks the LISTEN connection in pg_stat_activity.
const listenerAppName = "cometa-eventlog-listener"

// errStoreClosed is why subscriptions end when their store is closed.
var errStoreClosed = errors.New("the store is closed")

// listener shares one LISTEN connection among all subscriptions of a Store
// and wakes each of them on every commit to the log. It runs only while
// someone subscribed since the last failure.
type listener struct {
	connect func(ctx context.Context) (*pgx.Conn, error)
	logger  *slog.Logger

	mu      sync.Mutex
	waiters map[*waiter]struct{}
	// stop and done belong to the running loop; stop is nil when none runs.
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
}

// waiter is one subscription's end of the listener.
type waiter struct {
	// wake holds at most one pending "the log may have grown".
	wake chan struct{}
	// failed is closed when the listener is lost for good; err says why.
	failed chan struct{}
	err    error
}

func newListener(connect func(ctx context.Context) (*pgx.Conn, error), logger *slog.Logger) *listener {
	return &listener{connect: connect, logger: logger, waiters: map[*waiter]struct{}{}}
}

// add registers a waiter, first connecting and listening if no loop runs,
// so that every commit after add returns wakes the waiter.
func (l *listener) add(ctx context.Context) (*waiter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errStoreClosed
	}
	if l.stop == nil {
		conn, err := l.connect(ctx)
		if err != nil {
			return nil, err
		}
		// The loop outlives this call's ctx (but keeps its values); Close
		// or a lost connection ends it.
		loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		l.stop, l.done = stop, make(chan struct{})
		go l.run(loopCtx, conn, l.done)
	}
	w := &waiter{wake: make(chan struct{}, 1), failed: make(chan struct{})}
	l.waiters[w] = struct{}{}
	return w, nil
}

func (l *listener) remove(w *waiter) {
	l.mu.Lock()
	delete(l.waiters, w)
	l.mu.Unlock()
}

// run waits for notifications on conn until ctx ends. A lost connection is
// replaced once; if that fails, every waiter fails with ErrUnavailable.
func (l *listener) run(ctx context.Context, conn *pgx.Conn, done chan struct{}) {
	defer close(done)
	l.logger.DebugContext(ctx, "event log listener started")
	for {
		_, err := conn.WaitForNotification(ctx)
		if err == nil {
			l.broadcast()
			continue
		}
		closeConn(ctx, conn)
		if ctx.Err() != nil {
			l.logger.DebugContext(ctx, "event log listener stopped")
			return
		}
		l.logger.WarnContext(ctx, "event log listener lost its connection, reconnecting", "error", err)
		conn, err = l.connect(ctx)
		if err != nil {
			l.fail(fmt.Errorf("listen for appends: %w: %v", eventstore.ErrUnavailable, err))
			return
		}
		// Notifications sent while nobody listened are lost: look again.
		l.broadcast()
	}
}

func (l *listener) broadcast() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for w := range l.waiters {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// fail ends every waiter with err and lets the next add start a new loop.
func (l *listener) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for w := range l.waiters {
		w.err = err
		close(w.failed)
		delete(l.waiters, w)
	}
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}

// close stops the loop and fails the waiters; later adds are refused.
func (l *listener) close() {
	l.mu.Lock()
	l.closed = true
	done := l.done
	l.mu.Unlock()

	l.fail(fmt.Errorf("subscription: %w: %w", eventstore.ErrUnavailable, errStoreClosed))
	if done != nil {
		<-done
	}
}

// listen opens the store's LISTEN connection: outside the pool, which
// would otherwise lose a connection for as long as the store runs.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = listenerAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		closeConn(ctx, conn)
		return nil, err
	}
	return conn, nil
}

func closeConn(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
