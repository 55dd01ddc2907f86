package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// notifier announces commits to the log on notifyChannel after they
// return, coalescing: at most one NOTIFY per notifyInterval, however many
// commits happened in it, so other processes learn of new events within
// about that interval while appends do not pay a round trip each. Sending it outside the
// appending transaction keeps group commit working (a NOTIFY inside it
// serialises commits cluster-wide). Subscriptions of the same Store are
// woken at once, without the round trip.
type notifier struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	local  func()

	pending chan struct{}
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// notifyInterval is the least time between two NOTIFYs of one Store.
const notifyInterval = 2 * time.Millisecond

func newNotifier(pool *pgxpool.Pool, logger *slog.Logger, local func()) *notifier {
	ctx, stop := context.WithCancel(context.Background())
	n := &notifier{pool: pool, logger: logger, local: local, pending: make(chan struct{}, 1), stop: stop}
	n.done.Add(1)
	go n.run(ctx)
	return n
}

// announce records that a commit happened. It never blocks.
func (n *notifier) announce() {
	n.local()
	select {
	case n.pending <- struct{}{}:
	default:
	}
}

func (n *notifier) run(ctx context.Context) {
	defer n.done.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.pending:
		}
		// A lost NOTIFY only delays other processes until their poll, so
		// a failure is logged and not retried.
		sendCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := n.pool.Exec(sendCtx, "SELECT pg_notify($1, '')", notifyChannel)
		cancel()
		if err != nil && ctx.Err() == nil {
			n.logger.WarnContext(ctx, "announce appends to other processes", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(notifyInterval):
		}
	}
}

// close stops the notifier after any NOTIFY in flight.
func (n *notifier) close() {
	n.stop()
	n.done.Wait()
}
