package projections

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// notifyChannel is the LISTEN/NOTIFY channel on which every checkpoint
// change is announced, so that WaitFor in any process wakes up.
const notifyChannel = "projections_checkpoint"

// The states a projector writes into its checkpoint row. Status adds
// "rebuilding" and "stopped", which it derives from advisory locks.
const (
	stateCatchingUp = "catching_up"
	stateLive       = "live"
	stateFailing    = "failing"
)

// checkpoint is a read model's row in projections.checkpoints.
type checkpoint struct {
	name       string
	version    int
	pos        eventstore.Position
	occurredAt time.Time // zero when nothing was applied yet
	state      string
	failure    *FailingError
	updatedAt  time.Time
}

// queryer is what loading a checkpoint needs: a pool, a conn or a tx.
type queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const checkpointColumns = `name, version, commit_pos, prepare_pos, occurred_at, state,
	error, error_stream, error_revision, error_commit, error_prepare, error_event_id, updated_at`

// scanCheckpoint reads a row selected with checkpointColumns.
func scanCheckpoint(row pgx.Row) (checkpoint, error) {
	var (
		cp              checkpoint
		commit, prepare int64
		occurred        *time.Time
		errText, stream *string
		revision        *int64
		errCommit       *int64
		errPrepare      *int64
		eventID         *uuid.UUID
	)
	err := row.Scan(&cp.name, &cp.version, &commit, &prepare, &occurred, &cp.state,
		&errText, &stream, &revision, &errCommit, &errPrepare, &eventID, &cp.updatedAt)
	if err != nil {
		return cp, err
	}
	cp.pos = eventstore.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
	if occurred != nil {
		cp.occurredAt = *occurred
	}
	if errText != nil {
		f := &FailingError{Name: cp.name, Cause: *errText}
		if stream != nil {
			f.Stream = *stream
		}
		if revision != nil {
			f.Revision = uint64(*revision)
		}
		if errCommit != nil && errPrepare != nil {
			f.Position = eventstore.Position{Commit: uint64(*errCommit), Prepare: uint64(*errPrepare)}
		}
		if eventID != nil {
			f.EventID = *eventID
		}
		cp.failure = f
	}
	return cp, nil
}

// loadCheckpoint returns a model's checkpoint row; ok is false when the
// model has never been built.
func loadCheckpoint(ctx context.Context, q queryer, name string) (cp checkpoint, ok bool, err error) {
	cp, err = scanCheckpoint(q.QueryRow(ctx,
		"SELECT "+checkpointColumns+" FROM projections.checkpoints WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("load checkpoint of read model %q: %w", name, err)
	}
	return cp, true, nil
}

// lockCheckpoint loads a model's checkpoint row FOR UPDATE inside tx. Every
// transaction that changes a model's tables takes this lock first, which
// orders live batches, dead-letter records and rebuild swaps.
func lockCheckpoint(ctx context.Context, tx pgx.Tx, name string) (cp checkpoint, ok bool, err error) {
	cp, err = scanCheckpoint(tx.QueryRow(ctx,
		"SELECT "+checkpointColumns+" FROM projections.checkpoints WHERE name = $1 FOR UPDATE", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("lock checkpoint of read model %q: %w", name, err)
	}
	return cp, true, nil
}

// compareAndLock locks the checkpoint row and checks that it still holds
// want (same version and position); otherwise the batch that started from
// want must not commit, and errMoved says so.
func compareAndLock(ctx context.Context, tx pgx.Tx, want checkpoint) (checkpoint, error) {
	got, ok, err := lockCheckpoint(ctx, tx, want.name)
	if err != nil {
		return got, err
	}
	if !ok || got.version != want.version || got.pos != want.pos {
		return got, fmt.Errorf("read model %q: checkpoint %s (version %d), batch started from %s (version %d): %w",
			want.name, posString(got.pos), got.version, posString(want.pos), want.version, errMoved)
	}
	return got, nil
}

// writeCheckpoint stores cp (position, occurred_at, state) in its row,
// clears the recorded failure unless cp.failure is set, and announces the
// change. The row must be locked by the caller's tx.
func writeCheckpoint(ctx context.Context, tx pgx.Tx, cp checkpoint) error {
	commit, prepare, err := posArgs(cp.pos)
	if err != nil {
		return err
	}
	var occurred *time.Time
	if !cp.occurredAt.IsZero() {
		occurred = &cp.occurredAt
	}
	var (
		errText, stream    *string
		revision           *int64
		errCommit, errPrep *int64
		eventID            *uuid.UUID
	)
	if f := cp.failure; f != nil {
		c, p, err := posArgs(f.Position)
		if err != nil {
			return err
		}
		r := int64(f.Revision)
		errText, stream, revision, errCommit, errPrep, eventID = &f.Cause, &f.Stream, &r, &c, &p, &f.EventID
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO projections.checkpoints (name, version, commit_pos, prepare_pos, occurred_at,
			state, error, error_stream, error_revision, error_commit, error_prepare, error_event_id,
			updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
		ON CONFLICT (name) DO UPDATE SET version = excluded.version,
			commit_pos = excluded.commit_pos, prepare_pos = excluded.prepare_pos,
			occurred_at = excluded.occurred_at, state = excluded.state, error = excluded.error,
			error_stream = excluded.error_stream, error_revision = excluded.error_revision,
			error_commit = excluded.error_commit, error_prepare = excluded.error_prepare,
			error_event_id = excluded.error_event_id, updated_at = now()`,
		cp.name, cp.version, commit, prepare, occurred, cp.state,
		errText, stream, revision, errCommit, errPrep, eventID)
	if err != nil {
		return fmt.Errorf("write checkpoint of read model %q: %w", cp.name, err)
	}
	_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel,
		fmt.Sprintf("%s %d %d %d %s", cp.name, cp.version, commit, prepare, cp.state))
	if err != nil {
		return fmt.Errorf("notify checkpoint of read model %q: %w", cp.name, err)
	}
	return nil
}

// posArgs converts a position to the bigint pair stored in the database.
func posArgs(p eventstore.Position) (commit, prepare int64, err error) {
	if p.Commit > math.MaxInt64 || p.Prepare > math.MaxInt64 {
		return 0, 0, fmt.Errorf("position %d/%d does not fit a bigint: %w", p.Commit, p.Prepare, ErrInvalid)
	}
	return int64(p.Commit), int64(p.Prepare), nil
}

// atOrAfter reports whether p has reached q.
func atOrAfter(p, q eventstore.Position) bool { return !p.Less(q) }

// posString renders a position as commit/prepare for messages.
func posString(p eventstore.Position) string { return fmt.Sprintf("%d/%d", p.Commit, p.Prepare) }
