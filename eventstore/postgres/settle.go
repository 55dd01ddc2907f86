package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventstore"
)

// Readers of the whole log see a commit only once every older transaction
// in the cluster has ended. ReadAll and Head, which answer at once rather
// than follow the log, wait for the commits made before they were called to
// show, bounded by settleTimeout: a caller that appended and then reads sees
// its write, and a short page means the end of what was committed.

const (
	headSQL = `SELECT tx, seq, occurred_at FROM eventlog.events
	WHERE ` + visible + ` ORDER BY tx DESC, seq DESC LIMIT 1`
	// lastCommittedSQL is the last committed event, visible or not.
	lastCommittedSQL = `SELECT tx, seq FROM eventlog.events ORDER BY tx DESC, seq DESC LIMIT 1`
)

// Head returns the position and occurred-at time of the last event a
// reader of the whole log can see, once the events committed before the
// call show (or settleTimeout passes).
func (s *Store) Head(ctx context.Context) (eventstore.Position, time.Time, error) {
	const op = "read head of the log"
	head, at, err := s.visibleHead(ctx)
	if err != nil {
		return eventstore.Position{}, time.Time{}, fault(ctx, op, err)
	}
	target, err := s.lastCommitted(ctx)
	if err != nil {
		return eventstore.Position{}, time.Time{}, fault(ctx, op, err)
	}
	w := s.settling()
	for head.Less(target) {
		more, err := w.wait(ctx)
		if err != nil {
			return eventstore.Position{}, time.Time{}, fault(ctx, op, err)
		}
		if !more {
			break
		}
		if head, at, err = s.visibleHead(ctx); err != nil {
			return eventstore.Position{}, time.Time{}, fault(ctx, op, err)
		}
	}
	return head, at, nil
}

// settleRead extends a short page read after after until it reaches the
// last event committed when settleRead started, limit is reached, or
// settleTimeout passes. Later commits are not waited for, so that steady
// appends cannot keep it reading.
func (s *Store) settleRead(ctx context.Context, after eventstore.Position, events []eventstore.Event,
	limit int) ([]eventstore.Event, error) {
	target, err := s.lastCommitted(ctx)
	if err != nil {
		return nil, err
	}
	w := s.settling()
	for len(events) < limit {
		if len(events) > 0 {
			after = events[len(events)-1].Position
		}
		if !after.Less(target) {
			break
		}
		more, err := w.wait(ctx)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		page, err := s.readAll(ctx, after, limit-len(events))
		if err != nil {
			return nil, err
		}
		events = append(events, page...)
	}
	return events, nil
}

func (s *Store) visibleHead(ctx context.Context) (eventstore.Position, time.Time, error) {
	var (
		p  eventstore.Position
		at time.Time
	)
	err := s.pool.QueryRow(ctx, headSQL).Scan(&p.Commit, &p.Prepare, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Position{}, time.Time{}, nil
	}
	return p, at.UTC(), err
}

// lastCommitted returns the position of the last committed event, or the
// zero Position for an empty log.
func (s *Store) lastCommitted(ctx context.Context) (eventstore.Position, error) {
	var p eventstore.Position
	err := s.pool.QueryRow(ctx, lastCommittedSQL).Scan(&p.Commit, &p.Prepare)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Position{}, nil
	}
	return p, err
}

// settleWait paces the re-reads of one settling call.
type settleWait struct {
	store    *Store
	deadline time.Time
	delay    time.Duration
}

func (s *Store) settling() *settleWait {
	return &settleWait{store: s, deadline: time.Now().Add(s.settleTimeout), delay: recheckMin}
}

// wait sleeps before the next look, with a growing delay. It returns false
// once settleTimeout has passed, and ctx's error if ctx ends first.
func (w *settleWait) wait(ctx context.Context) (bool, error) {
	if !time.Now().Before(w.deadline) {
		return false, nil
	}
	if w.store.settleHook != nil {
		w.store.settleHook()
	}
	timer := time.NewTimer(w.delay)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-timer.C:
	}
	w.delay = min(2*w.delay, recheckMax)
	return true, nil
}
