package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// Progress is a rebuild's advance, reported after every page of events.
type Progress struct {
	Name string
	// Events is the number of events read from the log so far.
	Events int64
	// Position is the position of the last event applied.
	Position eventstore.Position
	Elapsed  time.Duration
	// Rate is Events per second of Elapsed.
	Rate float64
	// Done is set on the last report, after the swap.
	Done bool
}

// RebuildResult describes a read model that was rebuilt and swapped in.
type RebuildResult struct {
	Name    string
	Version int
	Events  int64
	// Position is the checkpoint the new tables were swapped in at.
	Position eventstore.Position
	// Checksum is the digest of the new tables at Position (see Checksum).
	Checksum string
	Duration time.Duration
}

// Rebuild replays the whole log into fresh tables for each named read model
// (all when names is empty), one model after the other, and swaps them in.
// progress, when not nil, is called after every page.
//
// It works while projectors run, in this process or another: the new tables
// are built in schema rm_<name>__rebuild from large pages of ReadAll, with
// synchronous_commit off (a crash only loses a rebuild that starts over).
// Once the log is exhausted, one transaction locks the model's checkpoint
// row, which keeps the live projector out, applies whatever the live
// projector had got further, renames the schemas and writes the new
// checkpoint. The live projector's next batch then finds the checkpoint
// moved and resubscribes from it, so no event is lost or applied twice.
// The old tables are dropped after the swap. A second rebuild of the same
// model at the same time is ErrBusy.
func (m *Manager) Rebuild(ctx context.Context, progress func(Progress),
	names ...string) ([]RebuildResult, error) {
	hs, err := m.lookup(names)
	if err != nil {
		return nil, fmt.Errorf("rebuild: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return nil, err
	}
	results := make([]RebuildResult, 0, len(hs))
	// TODO(projections): each model reads the whole log on its own; one
	// shared read feeding every model would save the repeated reads, at the
	// cost of one failing model holding the others up.
	for _, h := range hs {
		res, err := m.rebuild(ctx, h, progress, false)
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// rebuild rebuilds one model. At start-up (startup set) an event that
// cannot be applied does not throw the work away: the tables built up to
// the event before it are swapped in, and the projector then stops at the
// event the usual way (dead letter, failing, retries), instead of
// replaying the whole log on every retry. A rebuild asked for explicitly
// keeps the old tables instead and reports the event.
//
// A rebuild passes over the events that an operator had this Version of
// the model skip (RequestSkip), so that a skipped event is never applied
// by the Version that skipped it, and a start-up rebuild does not stop at
// it again. It does not act on a skip that is requested but not yet done:
// it stops at such an event like at any other, and the live projector,
// which meets the same failure, does the skip at its next retry. A skip
// requested for an event only a rebuild fails at (the live tables have it)
// therefore stays pending: such a failure means the code changed without a
// new Version, and a new Version is the remedy.
func (m *Manager) rebuild(ctx context.Context, h *handler, progress func(Progress),
	startup bool) (RebuildResult, error) {
	start := time.Now()
	res := RebuildResult{Name: h.name, Version: h.version}
	unlock, err := m.lockRebuild(ctx, h.name)
	if err != nil {
		return res, err
	}
	defer unlock()
	if h, err = m.forRebuild(ctx, h); err != nil {
		return res, err
	}

	if err := m.prepareRebuild(ctx, h); err != nil {
		return res, err
	}
	swapped := false
	defer func() {
		if !swapped {
			m.discardRebuild(ctx, h)
		}
	}()

	last, stopped, err := m.replay(ctx, h, progress, startup, start, &res)
	if err == nil && !stopped {
		last, err = m.catchUp(ctx, h, last, &res)
	}
	if err != nil {
		return res, m.rebuildFailed(ctx, h, err)
	}
	res.Position, res.Checksum, res.Events, err = m.swap(ctx, h, last, res.Events, !stopped)
	if err != nil {
		return res, m.rebuildFailed(ctx, h, err)
	}
	swapped = true
	m.dropSchema(ctx, retiredSchemaOf(h.name))
	res.Duration = time.Since(start)
	report(progress, h.name, res.Events, res.Position, start, true)
	m.logger.InfoContext(ctx, "read model rebuilt", "read_model", h.name, "version", h.version,
		"events", res.Events, "duration", res.Duration, "checksum", res.Checksum)
	return res, nil
}

// replay applies the log to the rebuild schema page by page until a short
// page says it reached the head. With keepPartial, an event that cannot be
// applied ends the replay just before it (stopped); otherwise it is the
// error.
func (m *Manager) replay(ctx context.Context, h *handler, progress func(Progress), keepPartial bool,
	start time.Time, res *RebuildResult) (last eventstore.Event, stopped bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := m.readAhead(ctx)
	for {
		var page []eventstore.Event
		select {
		case r := <-pages:
			if r.err != nil {
				return last, false, r.err
			}
			page = r.events
		case <-ctx.Done():
			return last, false, ctx.Err()
		}
		if len(page) == 0 {
			return last, false, nil
		}
		err = m.applyRebuildPage(ctx, h, page, res.Events+int64(len(page)))
		var bad *applyError
		if err != nil && keepPartial && errors.As(err, &bad) {
			if bad.index > 0 {
				if err := m.applyRebuildPage(ctx, h, page[:bad.index], res.Events+int64(bad.index)); err != nil {
					return last, false, err
				}
				res.Events += int64(bad.index)
				last = page[bad.index-1]
			}
			m.logger.WarnContext(ctx, "start-up rebuild stopped at an event that cannot be applied",
				"read_model", h.name, "stream", bad.ev.Stream, "revision", bad.ev.Revision,
				"events", res.Events, "err", bad.err)
			return last, true, nil
		}
		if err != nil {
			return last, false, err
		}
		res.Events += int64(len(page))
		last = page[len(page)-1]
		report(progress, h.name, res.Events, last.Position, start, false)
		if len(page) < m.opts.RebuildPageSize {
			return last, false, nil
		}
	}
}

func report(progress func(Progress), name string, events int64, pos eventstore.Position,
	start time.Time, done bool) {
	if progress == nil {
		return
	}
	elapsed := time.Since(start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(events) / elapsed.Seconds()
	}
	progress(Progress{Name: name, Events: events, Position: pos, Elapsed: elapsed, Rate: rate, Done: done})
}

// lockRebuild takes the model's rebuild lock on a connection of its own, so
// that the lock dies with the session whatever happens; unlock closes it.
func (m *Manager) lockRebuild(ctx context.Context, name string) (unlock func(), err error) {
	conn, err := connectAs(ctx, m.pool, "cometa-projections-rebuild")
	if err != nil {
		return nil, fmt.Errorf("rebuild read model %q: connect: %w", name, err)
	}
	closeConn := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}
	var ok bool
	err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", rebuildSpace, lockKey(name)).Scan(&ok)
	if err != nil {
		closeConn()
		return nil, fmt.Errorf("rebuild read model %q: take rebuild lock: %w", name, err)
	}
	if !ok {
		closeConn()
		return nil, fmt.Errorf("rebuild read model %q: %w", name, ErrBusy)
	}
	// Unlock explicitly: closing alone frees the lock only once the server
	// has noticed, so an immediate next rebuild could find it still held.
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1, $2)", rebuildSpace, lockKey(name))
		closeConn()
	}, nil
}

// prepareRebuild creates the empty rebuild schema with the model's DDL and
// its progress row, after dropping what a crashed rebuild left behind.
func (m *Manager) prepareRebuild(ctx context.Context, h *handler) error {
	schema := rebuildSchemaOf(h.name)
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		for _, s := range []string{schema, retiredSchemaOf(h.name)} {
			if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
		if err := setSearchPath(ctx, tx, schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, h.model.DDL()); err != nil {
			return fmt.Errorf("run DDL: %w", err)
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO projections.rebuilds (name, version) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version, events = 0,
				commit_pos = 0, prepare_pos = 0, started_at = now(), updated_at = now()`,
			h.name, h.version)
		return err
	})
	if err != nil {
		return fmt.Errorf("rebuild read model %q: prepare schema %s: %w", h.name, schema, err)
	}
	return nil
}

// readPage is one page of the log read ahead, or why reading stopped.
type readPage struct {
	events []eventstore.Event
	err    error
}

// readAhead reads the log from the start in pages of RebuildPageSize, one
// page ahead of the consumer, so that reading the next page overlaps with
// applying the current one. It stops after an empty or short page, an
// error (sent as the last page), or when ctx ends.
func (m *Manager) readAhead(ctx context.Context) <-chan readPage {
	pages := make(chan readPage, 1)
	go func() {
		var after eventstore.Position
		for {
			events, err := m.log.ReadAll(ctx, after, m.opts.RebuildPageSize)
			if err != nil {
				err = fmt.Errorf("read log after %s: %w", posString(after), err)
			}
			select {
			case pages <- readPage{events, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(events) < m.opts.RebuildPageSize {
				return
			}
			after = events[len(events)-1].Position
		}
	}()
	return pages
}

// applyRebuildPage applies one page of the log to the rebuild schema and
// records the progress, in one transaction. An event that fails because
// the live projector skipped it while the rebuild ran (h did not know of
// the skip yet) is passed over like the others, and the page applied anew.
func (m *Manager) applyRebuildPage(ctx context.Context, h *handler, page []eventstore.Event, total int64) error {
	for {
		err := m.tryRebuildPage(ctx, h, page, total)
		var bad *applyError
		if !errors.As(err, &bad) {
			return err
		}
		if _, lerr := h.learnSkips(ctx, m.pool); lerr != nil || !h.skipped[bad.ev.ID] {
			return errors.Join(err, lerr)
		}
	}
}

// tryRebuildPage is one attempt of applyRebuildPage.
func (m *Manager) tryRebuildPage(ctx context.Context, h *handler, page []eventstore.Event, total int64) error {
	items, err := h.decode(m.reg, page)
	if err != nil {
		return err
	}
	last := page[len(page)-1]
	commit, prepare, err := posArgs(last.Position)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
		if err := setSearchPath(ctx, tx, rebuildSchemaOf(h.name)); err != nil {
			return err
		}
		if index, err := h.apply(ctx, tx, items); err != nil {
			return classify(page, index, err)
		}
		_, err := tx.Exec(ctx, `UPDATE projections.rebuilds SET events = $2, commit_pos = $3,
			prepare_pos = $4, updated_at = now() WHERE name = $1`, h.name, total, commit, prepare)
		return err
	})
}

// catchUp applies, outside the swap transaction, what the live projector
// has applied beyond last, so that the swap itself has little or nothing
// left to read while it holds the checkpoint row and a connection.
func (m *Manager) catchUp(ctx context.Context, h *handler, last eventstore.Event,
	res *RebuildResult) (eventstore.Event, error) {
	live, ok, err := loadCheckpoint(ctx, m.pool, h.name)
	if err != nil || !ok {
		return last, err
	}
	for last.Position.Less(live.pos) {
		page, err := m.log.ReadAll(ctx, last.Position, m.opts.RebuildPageSize)
		if err != nil {
			return last, fmt.Errorf("read log after %s: %w", posString(last.Position), err)
		}
		if len(page) == 0 {
			return last, nil // the swap reports the gap
		}
		if err := m.applyRebuildPage(ctx, h, page, res.Events+int64(len(page))); err != nil {
			return last, err
		}
		res.Events += int64(len(page))
		last = page[len(page)-1]
	}
	return last, nil
}

// swap brings the rebuilt tables level with the live checkpoint and swaps
// them in, all in one transaction holding the checkpoint row lock. It
// returns the new checkpoint, the checksum of the new tables there and the
// number of events applied in all.
//
// Without catchUp the tables are swapped in where they are: a start-up
// rebuild that stopped at a bad event, while this process holds the
// model's leader lock (so no live projector of this version is ahead).
func (m *Manager) swap(ctx context.Context, h *handler, last eventstore.Event, events int64, catchUp bool) (
	pos eventstore.Position, sum string, total int64, err error) {
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return pos, "", events, fmt.Errorf("swap read model %q: %w", h.name, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	live, ok, err := lockCheckpoint(ctx, tx, h.name)
	if err != nil {
		return pos, "", events, err
	}
	if err := setSearchPath(ctx, tx, rebuildSchemaOf(h.name)); err != nil {
		return pos, "", events, err
	}
	// Under the checkpoint lock no skip can happen any more; learn of those
	// done while the rebuild ran, so that the catch-up passes over them.
	if _, err := h.learnSkips(ctx, tx); err != nil {
		return pos, "", events, err
	}
	// TODO(projections): this catch-up reads the store (a second pool
	// connection) while the swap transaction holds one; catchUp has left it
	// only what the live projector applied in the last moments, but as many
	// simultaneous swaps as the pool has connections could still wait on
	// each other until ctx ends.
	for catchUp && ok && last.Position.Less(live.pos) {
		page, err := m.log.ReadAll(ctx, last.Position, m.opts.RebuildPageSize)
		if err != nil {
			return pos, "", events, fmt.Errorf("swap read model %q: read log after %s: %w",
				h.name, posString(last.Position), err)
		}
		if len(page) == 0 {
			return pos, "", events, fmt.Errorf("swap read model %q: log ends at %s before checkpoint %s",
				h.name, posString(last.Position), posString(live.pos))
		}
		items, err := h.decode(m.reg, page)
		if err != nil {
			return pos, "", events, err
		}
		if index, err := h.apply(ctx, tx, items); err != nil {
			return pos, "", events, classify(page, index, err)
		}
		events += int64(len(page))
		last = page[len(page)-1]
	}

	if sum, err = checksumSchema(ctx, tx, rebuildSchemaOf(h.name)); err != nil {
		return pos, "", events, err
	}
	exists, err := schemaExists(ctx, tx, schemaOf(h.name))
	if err != nil {
		return pos, "", events, err
	}
	if exists {
		if err := renameSchema(ctx, tx, schemaOf(h.name), retiredSchemaOf(h.name)); err != nil {
			return pos, "", events, err
		}
	}
	if err := renameSchema(ctx, tx, rebuildSchemaOf(h.name), schemaOf(h.name)); err != nil {
		return pos, "", events, err
	}
	next := checkpoint{name: h.name, version: h.version, pos: last.Position,
		occurredAt: last.OccurredAt, state: stateCatchingUp}
	if err := writeCheckpoint(ctx, tx, next); err != nil {
		return pos, "", events, err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM projections.rebuilds WHERE name = $1", h.name); err != nil {
		return pos, "", events, fmt.Errorf("swap read model %q: %w", h.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return pos, "", events, fmt.Errorf("swap read model %q: commit: %w", h.name, err)
	}
	return next.pos, sum, events, nil
}

// rebuildFailed records an event that stopped a rebuild as a dead letter
// and returns the error to report; the model's live tables and checkpoint
// stay as they were.
func (m *Manager) rebuildFailed(ctx context.Context, h *handler, err error) error {
	var bad *applyError
	if !errors.As(err, &bad) || ctx.Err() != nil {
		return fmt.Errorf("rebuild read model %q: %w", h.name, err)
	}
	rerr := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		return insertDeadLetter(ctx, tx, h, bad)
	})
	if rerr != nil {
		m.logger.WarnContext(ctx, "dead letter not recorded", "read_model", h.name, "err", rerr)
	}
	m.logger.ErrorContext(ctx, "read model rebuild stopped: event cannot be applied",
		"read_model", h.name, "stream", bad.ev.Stream, "revision", bad.ev.Revision,
		"event_type", bad.ev.Type, "event_id", bad.ev.ID, "err", bad.err)
	return fmt.Errorf("rebuild read model %q: %w", h.name, failureOf(h.name, bad))
}

// discardRebuild drops an unfinished rebuild's schema and progress row.
func (m *Manager) discardRebuild(ctx context.Context, h *handler) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	m.dropSchema(ctx, rebuildSchemaOf(h.name))
	if _, err := m.pool.Exec(ctx, "DELETE FROM projections.rebuilds WHERE name = $1", h.name); err != nil {
		m.logger.WarnContext(ctx, "rebuild progress row not removed", "read_model", h.name, "err", err)
	}
}

func (m *Manager) dropSchema(ctx context.Context, schema string) {
	sql := "DROP SCHEMA IF EXISTS " + pgx.Identifier{schema}.Sanitize() + " CASCADE"
	if _, err := m.pool.Exec(ctx, sql); err != nil {
		m.logger.WarnContext(ctx, "schema not dropped", "schema", schema, "err", err)
	}
}

func renameSchema(ctx context.Context, tx pgx.Tx, from, to string) error {
	_, err := tx.Exec(ctx, "ALTER SCHEMA "+pgx.Identifier{from}.Sanitize()+
		" RENAME TO "+pgx.Identifier{to}.Sanitize())
	if err != nil {
		return fmt.Errorf("rename schema %s to %s: %w", from, to, err)
	}
	return nil
}

func schemaExists(ctx context.Context, q queryer, schema string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look up schema %s: %w", schema, err)
	}
	return ok, nil
}
