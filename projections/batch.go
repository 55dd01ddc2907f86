package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// after drops the events at or before pos: they are already in the tables.
func after(pos eventstore.Position, events []eventstore.Event) []eventstore.Event {
	for i, ev := range events {
		if pos.Less(ev.Position) {
			return events[i:]
		}
	}
	return nil
}

// commit applies a batch for the live projector and returns the new
// checkpoint. An event that cannot be applied (an *applyError) is recorded
// as a dead letter, the model is marked failing, and the same event is
// tried again after a growing delay, for as long as ctx lasts. The events
// before it are committed first. Transient faults are retried the same way
// but leave no dead letter.
//
// The projector never decides on its own to skip an event. An operator may
// (RequestSkip, from any process): every failed attempt looks for such a
// request in the transaction that would record the failure, and when there
// is one the checkpoint moves past the event instead and the rest of the
// batch follows at once. Without a request, a model stuck at an event moves
// on only once its code (a new Version) or the event's upcaster can handle
// it.
func (m *Manager) commit(ctx context.Context, h *handler, cp checkpoint, batch []eventstore.Event,
	state string) (checkpoint, error) {
	batch = after(cp.pos, batch)
	bo := backoff{min: m.opts.RetryMin, max: m.opts.RetryMax}
	for len(batch) > 0 {
		next, err := m.applyBatch(ctx, h, cp, batch, state)
		if err == nil {
			if cp.failure != nil {
				m.logger.InfoContext(ctx, "read model recovered", "read_model", h.name,
					"stream", cp.failure.Stream, "revision", cp.failure.Revision)
			}
			return next, nil
		}
		if ctx.Err() != nil {
			return cp, ctx.Err()
		}
		if errors.Is(err, errMoved) {
			return cp, err
		}

		var bad *applyError
		switch {
		case !errors.As(err, &bad):
			m.logger.WarnContext(ctx, "projector batch failed, retrying",
				"read_model", h.name, "events", len(batch), "err", err)
		case bad.index > 0:
			// Commit the events before the bad one, then meet it first.
			next, err := m.applyBatch(ctx, h, cp, batch[:bad.index], stateCatchingUp)
			if err == nil {
				cp, batch = next, batch[bad.index:]
				continue
			}
			if errors.Is(err, errMoved) || ctx.Err() != nil {
				return cp, err
			}
			m.logger.WarnContext(ctx, "projector batch failed, retrying",
				"read_model", h.name, "events", bad.index, "err", err)
		default:
			repeat := cp.failure != nil && cp.failure.EventID == bad.ev.ID
			next, skipped, err := m.recordFailure(ctx, h, cp, bad, stateAfterSkip(batch, state))
			switch {
			case errors.Is(err, errMoved):
				return cp, err
			case err != nil:
				m.logger.WarnContext(ctx, "dead letter not recorded", "read_model", h.name, "err", err)
			case skipped:
				m.logger.WarnContext(ctx, "event skipped by operator", "read_model", h.name,
					"stream", bad.ev.Stream, "revision", bad.ev.Revision, "event_id", bad.ev.ID)
				cp, batch = next, batch[1:]
				bo.reset()
				continue
			case repeat:
				cp = next
				m.logger.WarnContext(ctx, "read model still failing", "read_model", h.name,
					"stream", bad.ev.Stream, "revision", bad.ev.Revision, "err", bad.err)
			default:
				cp = next
				m.logger.ErrorContext(ctx, "read model failing: event cannot be applied",
					"read_model", h.name, "stream", bad.ev.Stream, "revision", bad.ev.Revision,
					"event_type", bad.ev.Type, "event_id", bad.ev.ID, "err", bad.err)
			}
		}
		if err := bo.wait(ctx); err != nil {
			return cp, err
		}
	}
	return cp, nil
}

// applyBatch applies events, all after from.pos, and moves the checkpoint
// from from to the last of them in the same transaction. The transaction
// first locks the checkpoint row and checks it still holds from, so a batch
// can commit only on top of the state it was computed for.
func (m *Manager) applyBatch(ctx context.Context, h *handler, from checkpoint,
	events []eventstore.Event, state string) (checkpoint, error) {
	items, err := h.decode(m.reg, events)
	if err != nil {
		return from, err
	}
	last := events[len(events)-1]
	next := checkpoint{name: h.name, version: from.version, pos: last.Position,
		occurredAt: last.OccurredAt, state: state}
	if from.failure == nil {
		// The fast paths of fastbatch.go.
		switch {
		case len(items) == 0:
			if err := m.advanceOnly(ctx, h, from, next); err != nil {
				return from, err
			}
			return next, nil
		case h.queuer != nil:
			if err := m.applyQueued(ctx, h, from, next, events, items); err != nil {
				return from, err
			}
			return next, nil
		}
	}

	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return from, fmt.Errorf("begin batch of read model %q: %w", h.name, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// A batch need not wait for its WAL flush: the events it applies are
	// durable already (a commit is visible only once flushed), and a crash
	// can lose only the newest batches together with their checkpoint,
	// which the projector then applies again from the log. This saves a
	// flush per read model on every write that waits for them.
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return from, fmt.Errorf("begin batch of read model %q: %w", h.name, err)
	}
	if _, err := compareAndLock(ctx, tx, from); err != nil {
		return from, err
	}
	if err := setSearchPath(ctx, tx, schemaOf(h.name)); err != nil {
		return from, err
	}
	if index, err := h.apply(ctx, tx, items); err != nil {
		return from, classify(events, index, err)
	}

	if from.failure != nil {
		if err := resolveDeadLetter(ctx, tx, h.name, from.failure); err != nil {
			return from, err
		}
	}
	if err := writeCheckpoint(ctx, tx, next); err != nil {
		return from, err
	}
	if err := tx.Commit(ctx); err != nil {
		return from, fmt.Errorf("commit batch of read model %q: %w", h.name, err)
	}
	return next, nil
}

// stateAfterSkip is the state to write when the first event of batch is
// skipped: the batch's own state when nothing follows in it.
func stateAfterSkip(batch []eventstore.Event, state string) string {
	if len(batch) == 1 {
		return state
	}
	return stateCatchingUp
}

// recordFailure settles bad, the first event after from, which cannot be
// applied, in one transaction under the checkpoint lock. When an operator
// asked to skip it, the dead letter is marked skipped and the checkpoint
// moves to the event with state skipState (skipped is true). Otherwise the
// dead letter is written and the model marked failing at the event,
// without moving the checkpoint.
func (m *Manager) recordFailure(ctx context.Context, h *handler, from checkpoint,
	bad *applyError, skipState string) (next checkpoint, skipped bool, err error) {
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return from, false, fmt.Errorf("record dead letter of read model %q: %w", h.name, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := compareAndLock(ctx, tx, from); err != nil {
		return from, false, err
	}
	if skipped, err = markSkipped(ctx, tx, h, bad.ev.ID); err != nil {
		return from, false, err
	}

	next = from
	if skipped {
		next = checkpoint{name: h.name, version: from.version, pos: bad.ev.Position,
			occurredAt: bad.ev.OccurredAt, state: skipState}
	} else {
		if err := insertDeadLetter(ctx, tx, h, bad); err != nil {
			return from, false, err
		}
		next.state = stateFailing
		next.failure = failureOf(h.name, bad)
	}
	if err := writeCheckpoint(ctx, tx, next); err != nil {
		return from, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return from, false, fmt.Errorf("record dead letter of read model %q: %w", h.name, err)
	}
	return next, skipped, nil
}

func failureOf(name string, bad *applyError) *FailingError {
	return &FailingError{Name: name, Stream: bad.ev.Stream, Revision: bad.ev.Revision,
		Position: bad.ev.Position, EventID: bad.ev.ID, Cause: bad.err.Error()}
}

// insertDeadLetter records a failed attempt of h at an event; a repeated
// failure of the same event counts up its attempts and keeps a skip
// request. A failure of a dead letter resolved before (a new Version meets
// the event again) opens it again and clears what is recorded of an
// earlier skip, so that no request made for older code skips the event for
// newer code. A dead letter that h's own Version skipped is left alone: only
// a rebuild that raced with the skip can meet the event again.
func insertDeadLetter(ctx context.Context, tx pgx.Tx, h *handler, bad *applyError) error {
	commit, prepare, err := posArgs(bad.ev.Position)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO projections.dead_letters AS d (name, event_id, stream, revision, commit_pos,
			prepare_pos, event_type, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (name, event_id) DO UPDATE SET error = excluded.error,
			attempts = d.attempts + 1, last_failed_at = now(), resolved_at = NULL,
			skip_requested_at = CASE WHEN d.resolved_at IS NULL THEN d.skip_requested_at END,
			skip_requested_by = CASE WHEN d.resolved_at IS NULL THEN d.skip_requested_by END,
			skipped_at = CASE WHEN d.resolved_at IS NULL THEN d.skipped_at END,
			skipped_version = CASE WHEN d.resolved_at IS NULL THEN d.skipped_version END
		WHERE d.skipped_version IS DISTINCT FROM $9`,
		h.name, bad.ev.ID, bad.ev.Stream, int64(bad.ev.Revision), commit, prepare, bad.ev.Type,
		bad.err.Error(), h.version)
	if err != nil {
		return fmt.Errorf("record dead letter of read model %q: %w", h.name, err)
	}
	return nil
}

// resolveDeadLetter notes that a dead-lettered event went through at last.
func resolveDeadLetter(ctx context.Context, tx pgx.Tx, name string, f *FailingError) error {
	_, err := tx.Exec(ctx, `UPDATE projections.dead_letters SET resolved_at = now()
		WHERE name = $1 AND event_id = $2 AND resolved_at IS NULL`, name, f.EventID)
	if err != nil {
		return fmt.Errorf("resolve dead letter of read model %q: %w", name, err)
	}
	return nil
}
