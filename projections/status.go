package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// State is what a read model is doing.
type State string

// The states of a read model, as Status reports them.
const (
	// StateCatchingUp: projecting, not yet at the head of the log.
	StateCatchingUp State = stateCatchingUp
	// StateLive: projecting, at the head of the log when last checked.
	StateLive State = stateLive
	// StateFailing: stopped at an event it cannot apply (see Failure);
	// retried with backoff.
	StateFailing State = stateFailing
	// StateRebuilding: a rebuild is running, in this or another process.
	StateRebuilding State = "rebuilding"
	// StateStopped: no process is projecting the model.
	StateStopped State = "stopped"
)

// Status is the state of one read model.
type Status struct {
	Name string
	// Version is the version of the code; StoredVersion that of the tables
	// (0 when the model was never built).
	Version       int
	StoredVersion int
	State         State
	// Checkpoint is the position of the last event reflected in the tables.
	Checkpoint eventstore.Position
	// LagEvents counts the events in the log after the checkpoint. Positions
	// are not dense, so Status counts by reading the log, at most
	// Options.LagCountLimit events; LagCapped then says LagEvents is a lower
	// bound.
	LagEvents int64
	LagCapped bool
	// LagSeconds is the head event's occurred_at minus the checkpoint
	// event's (0 when caught up). It is as good as the writers' clocks.
	LagSeconds float64
	// Failure is the last error recorded for the model, nil when none. While
	// State is failing, it names the event the model is stopped at.
	Failure *FailingError
	// PendingSkips are the operators' requests to skip one of the model's
	// dead-lettered events that no projector has acted on yet, oldest
	// first (see RequestSkip).
	PendingSkips []SkipRequest
	// Rebuild is the running rebuild's progress, nil when none runs.
	Rebuild *Progress
	// UpdatedAt is when the checkpoint row last changed.
	UpdatedAt time.Time
}

// Status reports every read model of the Manager, in the order given to
// New. "stopped" and "rebuilding" come from the advisory locks visible in
// pg_locks, so Status tells the truth about projectors in other processes.
func (m *Manager) Status(ctx context.Context) ([]Status, error) {
	if err := m.Migrate(ctx); err != nil {
		return nil, err
	}
	held, err := m.heldLocks(ctx)
	if err != nil {
		return nil, err
	}
	rebuilds, err := m.rebuildProgress(ctx)
	if err != nil {
		return nil, err
	}
	skips, err := m.pendingSkips(ctx)
	if err != nil {
		return nil, err
	}
	head, headAt, err := m.log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection status: read head of the log: %w", err)
	}

	out := make([]Status, 0, len(m.handlers))
	occurred := make([]time.Time, 0, len(m.handlers))
	for _, h := range m.handlers {
		cp, ok, err := loadCheckpoint(ctx, m.pool, h.name)
		if err != nil {
			return nil, err
		}
		st := Status{Name: h.name, Version: h.version, State: State(cp.state),
			Checkpoint: cp.pos, Failure: cp.failure, PendingSkips: skips[h.name],
			UpdatedAt: cp.updatedAt}
		if ok {
			st.StoredVersion = cp.version
		} else {
			st.State = StateCatchingUp
		}
		out = append(out, st)
		occurred = append(occurred, cp.occurredAt)
	}
	if err := m.countLag(ctx, out, occurred, head, headAt); err != nil {
		return nil, err
	}

	for i := range out {
		st := &out[i]
		key := lockKey(st.Name)
		switch {
		case held[lockID{rebuildSpace, key}]:
			st.State = StateRebuilding
			if p, ok := rebuilds[st.Name]; ok {
				st.Rebuild = &p
			}
		case !held[lockID{leaderSpace, key}]:
			st.State = StateStopped
		case st.State == StateCatchingUp && st.LagEvents == 0 && st.StoredVersion == st.Version:
			st.State = StateLive
		}
	}
	return out, nil
}

// countLag fills in the lag of every status with one bounded read of the
// log, from the lowest checkpoint on. occurred[i] is the time of the event
// at out[i]'s checkpoint.
func (m *Manager) countLag(ctx context.Context, out []Status, occurred []time.Time,
	head eventstore.Position, headAt time.Time) error {
	var from *eventstore.Position
	for i := range out {
		if atOrAfter(out[i].Checkpoint, head) {
			continue
		}
		if from == nil || out[i].Checkpoint.Less(*from) {
			from = &out[i].Checkpoint
		}
	}
	if from == nil {
		return nil
	}

	var window []eventstore.Event
	pos, capped := *from, false
	for {
		page, err := m.log.ReadAll(ctx, pos, min(1000, m.opts.LagCountLimit-len(window)))
		if err != nil {
			return fmt.Errorf("projection status: count lag: %w", err)
		}
		window = append(window, page...)
		if len(page) == 0 {
			break
		}
		pos = page[len(page)-1].Position
		if len(window) >= m.opts.LagCountLimit {
			capped = pos.Less(head)
			break
		}
	}

	for i := range out {
		st := &out[i]
		if atOrAfter(st.Checkpoint, head) {
			continue
		}
		pending := after(st.Checkpoint, window)
		st.LagEvents = int64(len(pending))
		st.LagCapped = capped
		// The checkpoint event's time, or the first pending event's when
		// nothing was applied yet.
		since := occurred[i]
		if since.IsZero() && len(pending) > 0 {
			since = pending[0].OccurredAt
		}
		if !since.IsZero() {
			st.LagSeconds = max(0, headAt.Sub(since).Seconds())
		}
	}
	return nil
}

type lockID struct{ space, key int32 }

// heldLocks lists the two-key advisory locks of this package that some
// session of the current database holds.
func (m *Manager) heldLocks(ctx context.Context) (map[lockID]bool, error) {
	rows, err := m.pool.Query(ctx, `
		SELECT classid::bigint, objid::bigint FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid::bigint IN ($1, $2)`,
		int64(uint32(leaderSpace)), int64(uint32(rebuildSpace)))
	if err != nil {
		return nil, fmt.Errorf("projection status: read locks: %w", err)
	}
	held := make(map[lockID]bool)
	var space, key int64
	_, err = pgx.ForEachRow(rows, []any{&space, &key}, func() error {
		held[lockID{int32(uint32(space)), int32(uint32(key))}] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("projection status: read locks: %w", err)
	}
	return held, nil
}

// rebuildProgress reads the progress rows of rebuilds.
func (m *Manager) rebuildProgress(ctx context.Context) (map[string]Progress, error) {
	rows, err := m.pool.Query(ctx, `SELECT name, events, commit_pos, prepare_pos, started_at,
		updated_at FROM projections.rebuilds`)
	if err != nil {
		return nil, fmt.Errorf("projection status: read rebuilds: %w", err)
	}
	out := make(map[string]Progress)
	var (
		p                Progress
		commit, prepare  int64
		started, updated time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&p.Name, &p.Events, &commit, &prepare, &started, &updated}, func() error {
		p.Position = eventstore.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
		p.Elapsed = updated.Sub(started)
		if p.Elapsed > 0 {
			p.Rate = float64(p.Events) / p.Elapsed.Seconds()
		}
		out[p.Name] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("projection status: read rebuilds: %w", err)
	}
	return out, nil
}
