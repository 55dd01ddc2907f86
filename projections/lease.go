package projections

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockKey maps a read model name to the second key of its advisory locks.
// Two names may share a key; they then merely take turns, which costs
// liveness, never correctness: the checkpoint compare-and-set is what keeps
// an event from being applied twice, the lock only keeps processes from
// doing the same work.
func lockKey(name string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int32(h.Sum32())
}

// lockAppName marks the lock session in pg_stat_activity.
const lockAppName = "cometa-projections-locks"

// errLockLost cancels a lease whose lock connection broke.
var errLockLost = errors.New("projector lock connection lost")

// keeper holds the session advisory locks that make this process the active
// projector of some read models, all on one connection of its own (outside
// the pool, so that it never starves the pool). When that connection
// breaks, every lock it held is gone with the session, so every lease is
// canceled and its projector goes back to standby.
type keeper struct {
	cfg      *pgx.ConnConfig
	logger   *slog.Logger
	interval time.Duration

	mu     sync.Mutex
	conn   *pgx.Conn
	leases map[int32]context.CancelCauseFunc
}

func newKeeper(cfg *pgx.ConnConfig, logger *slog.Logger, interval time.Duration) *keeper {
	return &keeper{cfg: cfg, logger: logger, interval: interval,
		leases: make(map[int32]context.CancelCauseFunc)}
}

// acquire blocks until this process holds the leader lock of name, trying
// every interval, or until ctx ends. The returned context ends when the
// lock is lost or release is called; release gives the lock back.
func (k *keeper) acquire(ctx context.Context, name string) (
	lease context.Context, release func(), err error) {
	key := lockKey(name)
	for {
		ok, err := k.tryLock(ctx, key)
		if err != nil && ctx.Err() == nil {
			k.logger.WarnContext(ctx, "projector lock unavailable, retrying", "read_model", name, "err", err)
		}
		if ok {
			lease, cancel := context.WithCancelCause(ctx)
			k.mu.Lock()
			k.leases[key] = cancel
			k.mu.Unlock()
			return lease, func() { k.release(ctx, key) }, nil
		}
		t := time.NewTimer(k.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (k *keeper) tryLock(ctx context.Context, key int32) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn == nil {
		conn, err := pgx.ConnectConfig(ctx, named(k.cfg, lockAppName))
		if err != nil {
			return false, fmt.Errorf("connect projector lock session: %w", err)
		}
		k.conn = conn
	}
	var ok bool
	err := k.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", leaderSpace, key).Scan(&ok)
	if err != nil {
		k.dropLocked(ctx)
		return false, fmt.Errorf("take projector lock: %w", err)
	}
	return ok, nil
}

// release gives a lock back. At shutdown (ctx done) it leaves that to close,
// which ends the session.
func (k *keeper) release(ctx context.Context, key int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cancel, ok := k.leases[key]
	if !ok {
		return
	}
	delete(k.leases, key)
	cancel(context.Canceled)
	if k.conn == nil || ctx.Err() != nil {
		return
	}
	uctx, done := context.WithTimeout(ctx, 5*time.Second)
	defer done()
	if _, err := k.conn.Exec(uctx, "SELECT pg_advisory_unlock($1, $2)", leaderSpace, key); err != nil {
		k.logger.WarnContext(ctx, "projector lock not released, dropping its session", "err", err)
		k.dropLocked(ctx)
	}
}

// watch checks the lock session every interval until ctx ends, so that a
// broken session is noticed even while no lock is being taken.
func (k *keeper) watch(ctx context.Context) {
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.mu.Lock()
		if k.conn != nil {
			if err := k.conn.Ping(ctx); err != nil && ctx.Err() == nil {
				k.logger.WarnContext(ctx, "projector lock session lost", "err", err)
				k.dropLocked(ctx)
			}
		}
		k.mu.Unlock()
	}
}

// dropLocked closes the lock session and cancels every lease. k.mu is held.
func (k *keeper) dropLocked(ctx context.Context) {
	for key, cancel := range k.leases {
		cancel(errLockLost)
		delete(k.leases, key)
	}
	if k.conn != nil {
		cctx, done := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer done()
		_ = k.conn.Close(cctx)
		k.conn = nil
	}
}

// close ends the lock session, which frees every lock it held.
func (k *keeper) close(ctx context.Context) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dropLocked(ctx)
}
