package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SkipRequest is an operator's request to skip a dead-lettered event that
// no projector has acted on yet (see RequestSkip).
type SkipRequest struct {
	EventID     uuid.UUID
	Stream      string
	Revision    uint64
	RequestedBy string
	RequestedAt time.Time
}

// RequestSkip asks that read model name move past the event eventID, at
// which it stopped with a dead letter, instead of retrying it for ever. by
// says who asks, for the record. RequestSkip only marks the unresolved dead
// letter, so it works from any process: the model's active projector,
// wherever it runs, reads the mark the next time the event fails (at its
// next retry, or at its start) and then, in one transaction under the
// checkpoint lock, writes the checkpoint at the event, marks the dead
// letter skipped with the model's Version, and goes on with the events
// after it. An event that goes through at that retry is applied, not
// skipped.
//
// A skipped event is lost to the model's tables for good as far as its
// Version goes: rebuilds of that Version pass over it too (see rebuild). A
// new Version builds its tables from the whole log and so applies, or
// fails at, the event again; a failure then needs a new request.
//
// An unknown model, or an event without a dead letter of that model, is
// ErrNotFound (not ErrInvalid, as for Rebuild: the request names a record,
// and there is none). A dead letter resolved already (the event went through or
// was skipped) is ErrConflict. A request for a skip already requested
// changes nothing and returns nil: the first requester stays on record.
func (m *Manager) RequestSkip(ctx context.Context, name string, eventID uuid.UUID, by string) error {
	if _, ok := m.byName[name]; !ok {
		return fmt.Errorf("skip event %s: no read model %q (the read models are %v): %w",
			eventID, name, m.Names(), ErrNotFound)
	}
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("skip event %s of read model %q: say who asks: %w", eventID, name, ErrInvalid)
	}
	if err := m.Migrate(ctx); err != nil {
		return err
	}

	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		d, ok, err := lockDeadLetter(ctx, tx, name, eventID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no dead letter for this event: %w", ErrNotFound)
		}
		if err := d.skippable(); err != nil {
			return err
		}
		if d.skipRequestedAt != nil {
			return nil // requested already
		}
		_, err = tx.Exec(ctx, `UPDATE projections.dead_letters
			SET skip_requested_at = now(), skip_requested_by = $3
			WHERE name = $1 AND event_id = $2`, name, eventID, by)
		return err
	})
	if err != nil {
		return fmt.Errorf("skip event %s of read model %q: %w", eventID, name, err)
	}
	return nil
}

// letterState is what RequestSkip needs to know of a dead letter.
type letterState struct {
	resolvedAt, skippedAt, skipRequestedAt *time.Time
}

// lockDeadLetter reads a dead letter's state FOR UPDATE, so that a
// projector skipping or resolving it waits for the caller's tx.
func lockDeadLetter(ctx context.Context, tx pgx.Tx, name string, eventID uuid.UUID) (
	d letterState, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT resolved_at, skipped_at, skip_requested_at
		FROM projections.dead_letters WHERE name = $1 AND event_id = $2 FOR UPDATE`,
		name, eventID).Scan(&d.resolvedAt, &d.skippedAt, &d.skipRequestedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read dead letter: %w", err)
	}
	return d, true, nil
}

// skippable refuses a dead letter that is resolved already: there is no
// stuck event left to skip.
func (d letterState) skippable() error {
	switch {
	case d.skippedAt != nil:
		return fmt.Errorf("the event was skipped already, at %s: %w",
			d.skippedAt.UTC().Format(time.RFC3339), ErrConflict)
	case d.resolvedAt != nil:
		return fmt.Errorf("the event went through at %s: its dead letter is resolved, nothing to skip: %w",
			d.resolvedAt.UTC().Format(time.RFC3339), ErrConflict)
	}
	return nil
}

// markSkipped resolves the dead letter of event for h as skipped when an
// operator asked for it, and reports whether it did. It runs in the
// transaction that moves the checkpoint past the event, so that the skip
// and the checkpoint commit together or not at all.
func markSkipped(ctx context.Context, tx pgx.Tx, h *handler, eventID uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE projections.dead_letters
		SET skipped_at = now(), resolved_at = now(), skipped_version = $3
		WHERE name = $1 AND event_id = $2 AND resolved_at IS NULL
			AND skip_requested_at IS NOT NULL`, h.name, eventID, h.version)
	if err != nil {
		return false, fmt.Errorf("skip event %s of read model %q: %w", eventID, h.name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// rowsQueryer is what reading the skipped events needs: the pool or a tx.
type rowsQueryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// forRebuild returns a copy of h for a rebuild to work with, which passes
// over the events that h's Version skipped.
func (m *Manager) forRebuild(ctx context.Context, h *handler) (*handler, error) {
	c := *h
	c.skipped = make(map[uuid.UUID]bool)
	if _, err := c.learnSkips(ctx, m.pool); err != nil {
		return nil, err
	}
	return &c, nil
}

// learnSkips reads anew which events h's Version skipped, since the live
// projector may skip one while a rebuild runs, and reports whether it
// found one h did not know. Only a copy made by forRebuild may learn.
func (h *handler) learnSkips(ctx context.Context, q rowsQueryer) (bool, error) {
	rows, err := q.Query(ctx, `SELECT event_id FROM projections.dead_letters
		WHERE name = $1 AND skipped_version = $2 AND skipped_at IS NOT NULL`, h.name, h.version)
	if err != nil {
		return false, fmt.Errorf("read skipped events of read model %q: %w", h.name, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return false, fmt.Errorf("read skipped events of read model %q: %w", h.name, err)
	}
	learnt := false
	for _, id := range ids {
		if !h.skipped[id] {
			h.skipped[id], learnt = true, true
		}
	}
	return learnt, nil
}

// pendingSkips reads the skip requests no projector has acted on yet, by
// read model, oldest first.
func (m *Manager) pendingSkips(ctx context.Context) (map[string][]SkipRequest, error) {
	rows, err := m.pool.Query(ctx, `SELECT name, event_id, stream, revision, skip_requested_by,
			skip_requested_at
		FROM projections.dead_letters
		WHERE resolved_at IS NULL AND skip_requested_at IS NOT NULL
		ORDER BY name, skip_requested_at, event_id`)
	if err != nil {
		return nil, fmt.Errorf("projection status: read skip requests: %w", err)
	}
	out := make(map[string][]SkipRequest)
	var (
		name     string
		revision int64
		r        SkipRequest
	)
	scan := []any{&name, &r.EventID, &r.Stream, &revision, &r.RequestedBy, &r.RequestedAt}
	_, err = pgx.ForEachRow(rows, scan, func() error {
		r.Revision = uint64(revision)
		out[name] = append(out[name], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("projection status: read skip requests: %w", err)
	}
	return out, nil
}
