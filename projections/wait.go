package projections

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// board is this process's view of the checkpoints, fed by the notifications
// every checkpoint change sends. It only ever moves positions forward, and
// it is never ahead of the database: a notification is delivered only
// after its transaction committed.
type board struct {
	mu      sync.Mutex
	seen    map[string]seen
	changed chan struct{} // closed and replaced on every change
	active  bool          // a listener is connected
}

type seen struct {
	version int
	pos     eventstore.Position
	state   string
}

func newBoard() *board {
	return &board{seen: make(map[string]seen), changed: make(chan struct{})}
}

// note records a checkpoint and wakes the waiters.
func (b *board) note(name string, s seen) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.seen[name]; ok && (old == s || s.version == old.version && s.pos.Less(old.pos)) {
		return
	}
	b.seen[name] = s
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *board) setActive(active bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active = active
}

// check tells whether every model in want (name to the version this
// process's code has) has reached pos with tables of that version, and
// returns the name of one that is failing short of it. wake is closed on
// the next change.
func (b *board) check(want map[string]int, pos eventstore.Position) (
	reached bool, failing string, wake <-chan struct{}, active bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	reached = true
	for n, version := range want {
		s, ok := b.seen[n]
		switch {
		case ok && s.version == version && atOrAfter(s.pos, pos):
		case ok && s.state == stateFailing:
			reached, failing = false, n
		default:
			reached = false
		}
	}
	return reached, failing, b.changed, b.active
}

// listen follows the checkpoint notifications on a connection of its own
// until ctx ends, reconnecting with backoff.
func (m *Manager) listen(ctx context.Context) {
	bo := backoff{min: m.opts.RetryMin, max: m.opts.RetryMax}
	for ctx.Err() == nil {
		err := m.listenOnce(ctx, &bo)
		m.board.setActive(false)
		if ctx.Err() != nil {
			return
		}
		m.logger.WarnContext(ctx, "checkpoint listener lost, reconnecting", "err", err)
		if bo.wait(ctx) != nil {
			return
		}
	}
}

func (m *Manager) listenOnce(ctx context.Context, bo *backoff) error {
	conn, err := connectAs(ctx, m.pool, "cometa-projections-listener")
	if err != nil {
		return fmt.Errorf("connect checkpoint listener: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen for checkpoints: %w", err)
	}
	m.board.setActive(true)
	bo.reset()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for checkpoint notification: %w", err)
		}
		var name, state string
		var s seen
		_, err = fmt.Sscanf(n.Payload, "%s %d %d %d %s", &name, &s.version, &s.pos.Commit, &s.pos.Prepare, &state)
		if err != nil {
			m.logger.WarnContext(ctx, "malformed checkpoint notification", "payload", n.Payload)
			continue
		}
		s.state = state
		m.board.note(name, s)
	}
}

// WaitFor returns once the named read models (all of the Manager's when
// names is empty) have applied the log up to pos, typically the position
// of a write the caller just made, so that its response is visible to a
// read that follows. ctx bounds the wait; its expiry is returned (wrapped,
// naming the models still behind). A model that is failing short of pos
// ends the wait at once with a *FailingError, so that a stuck model does
// not silently hold every write for the full timeout.
//
// The checkpoints live in the database, so WaitFor works whichever process
// projects. It wakes on checkpoint notifications when this process runs a
// listener (Run or Listen) and polls every PollInterval besides; without a
// listener it polls ten times as often.
func (m *Manager) WaitFor(ctx context.Context, pos eventstore.Position, names ...string) error {
	hs, err := m.lookup(names)
	if err != nil {
		return fmt.Errorf("wait for position %s: %w", posString(pos), err)
	}
	if pos.IsZero() {
		return nil
	}
	if err := m.Migrate(ctx); err != nil {
		return err
	}
	want := make(map[string]int, len(hs))
	names = names[:0:0]
	for _, h := range hs {
		want[h.name] = h.version
		names = append(names, h.name)
	}

	poll := time.NewTimer(0)
	defer poll.Stop()
	var behind []checkpoint
	polled := false
	for {
		reached, failing, wake, active := m.board.check(want, pos)
		if reached {
			return nil
		}
		if failing != "" {
			// The board says failing; the database has the details.
			poll.Reset(0)
		}
		select {
		case <-ctx.Done():
			return waitTimeout(ctx, pos, names, behind, polled)
		case <-wake:
			continue
		case <-poll.C:
		}

		cps, err := m.readCheckpoints(ctx, names)
		if err != nil {
			if ctx.Err() != nil {
				return waitTimeout(ctx, pos, names, behind, polled)
			}
			return fmt.Errorf("wait for position %s: %w", posString(pos), err)
		}
		behind, polled = cps, true
		done := true
		for _, cp := range behind {
			m.board.note(cp.name, seen{cp.version, cp.pos, cp.state})
			if cp.version == want[cp.name] && atOrAfter(cp.pos, pos) {
				continue
			}
			done = false
			if cp.state == stateFailing && cp.failure != nil {
				return fmt.Errorf("wait for position %s: %w", posString(pos), cp.failure)
			}
		}
		if done && len(behind) == len(want) {
			return nil
		}
		interval := m.opts.PollInterval
		if !active {
			interval /= 10
		}
		poll.Reset(interval)
	}
}

// WaitBuilt blocks until each named read model (every one when none is
// named) has been built at the version of its code, so that its tables
// exist. A part that reads a model another part projects (the runner
// reads the run queue) waits with it on a first start instead of failing
// on tables not created yet. It polls the checkpoints every PollInterval;
// ctx bounds the wait.
func (m *Manager) WaitBuilt(ctx context.Context, names ...string) error {
	hs, err := m.lookup(names)
	if err != nil {
		return fmt.Errorf("wait for read models to be built: %w", err)
	}
	want := make(map[string]int, len(hs))
	names = names[:0:0]
	for _, h := range hs {
		want[h.name] = h.version
		names = append(names, h.name)
	}
	poll := time.NewTimer(m.opts.PollInterval)
	defer poll.Stop()
	for {
		built := 0
		if err := m.Migrate(ctx); err == nil {
			cps, err := m.readCheckpoints(ctx, names)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("wait for read models %v to be built: %w", names, err)
			}
			for _, cp := range cps {
				if cp.version == want[cp.name] {
					built++
				}
			}
		} else if ctx.Err() == nil && !isTransient(err) {
			return fmt.Errorf("wait for read models %v to be built: %w", names, err)
		}
		if built == len(want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for read models %v to be built: %w", names, context.Cause(ctx))
		case <-poll.C:
			poll.Reset(m.opts.PollInterval)
		}
	}
}

// readCheckpoints loads the checkpoints of names; models never built are
// missing from the result.
func (m *Manager) readCheckpoints(ctx context.Context, names []string) ([]checkpoint, error) {
	rows, err := m.pool.Query(ctx,
		"SELECT "+checkpointColumns+" FROM projections.checkpoints WHERE name = ANY($1)", names)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkpoint, error) { return scanCheckpoint(r) })
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return cps, nil
}

// waitTimeout wraps the ctx error with where the models stood when last
// polled.
func waitTimeout(ctx context.Context, pos eventstore.Position, want []string,
	behind []checkpoint, polled bool) error {
	at := make(map[string]eventstore.Position, len(behind))
	for _, cp := range behind {
		at[cp.name] = cp.pos
	}
	var parts []string
	for _, n := range want {
		p, ok := at[n]
		switch {
		case !ok && polled:
			parts = append(parts, fmt.Sprintf("%q not built", n))
		case ok && atOrAfter(p, pos):
		case ok:
			parts = append(parts, fmt.Sprintf("%q at %s", n, posString(p)))
		}
	}
	cause := context.Cause(ctx)
	if len(parts) == 0 {
		return fmt.Errorf("wait for position %s: %w", posString(pos), cause)
	}
	return fmt.Errorf("wait for position %s: read models behind: %s: %w",
		posString(pos), strings.Join(parts, ", "), cause)
}
