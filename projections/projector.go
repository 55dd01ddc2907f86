package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cometa-es/cometa/eventstore"
)

// liveCheckDelay is how long a projector waits for more events before it
// asks the store whether it has reached the head.
const liveCheckDelay = 200 * time.Millisecond

// supervise keeps one read model projected for as long as ctx lasts: it
// waits to become the model's active projector, projects, and after a
// fault backs off and starts over.
func (m *Manager) supervise(ctx context.Context, k *keeper, h *handler) {
	bo := backoff{min: m.opts.RetryMin, max: m.opts.RetryMax}
	for ctx.Err() == nil {
		lease, release, err := k.acquire(ctx, h.name)
		if err != nil {
			return
		}
		m.logger.DebugContext(ctx, "projector active", "read_model", h.name)
		started := time.Now()
		err = m.lead(lease, h)
		lost := errors.Is(context.Cause(lease), errLockLost)
		release()
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > m.opts.RetryMax {
			bo.reset()
		}
		if lost {
			m.logger.WarnContext(ctx, "projector lost its lock, standing by", "read_model", h.name)
		} else {
			m.logger.WarnContext(ctx, "projector stopped, retrying", "read_model", h.name, "err", err)
		}
		if bo.wait(ctx) != nil {
			return
		}
	}
}

// lead projects h while this process holds its lock (ctx). It returns only
// with an error; errMoved (a rebuild swapped tables in) just resubscribes.
func (m *Manager) lead(ctx context.Context, h *handler) error {
	for {
		if err := m.ensureCurrent(ctx, h); err != nil {
			return err
		}
		cp, ok, err := loadCheckpoint(ctx, m.pool, h.name)
		if err != nil {
			return err
		}
		if !ok || cp.version != h.version {
			continue
		}
		err = m.follow(ctx, h, cp)
		if !errors.Is(err, errMoved) {
			return err
		}
		m.logger.DebugContext(ctx, "checkpoint moved under the projector, resubscribing",
			"read_model", h.name, "err", err)
	}
}

// ensureCurrent rebuilds h when its tables are missing or were built by
// another Version, so that a model never serves tables its code does not
// match. Tables of a newer version are left alone: a newer binary runs
// somewhere, and rebuilding back and forth would help no one.
func (m *Manager) ensureCurrent(ctx context.Context, h *handler) error {
	cp, ok, err := loadCheckpoint(ctx, m.pool, h.name)
	if err != nil {
		return err
	}
	exists, err := schemaExists(ctx, m.pool, schemaOf(h.name))
	if err != nil {
		return err
	}
	var reason string
	switch {
	case ok && cp.version > h.version:
		return fmt.Errorf("read model %q: tables are version %d, this binary knows version %d: %w",
			h.name, cp.version, h.version, ErrInvalid)
	case !ok:
		reason = "never built"
	case cp.version != h.version:
		reason = fmt.Sprintf("version %d stored, code is version %d", cp.version, h.version)
	case !exists:
		reason = "schema " + schemaOf(h.name) + " missing"
	default:
		return nil
	}

	m.logger.InfoContext(ctx, "rebuilding read model before it serves",
		"read_model", h.name, "reason", reason, "version", h.version)
	_, err = m.rebuild(ctx, h, nil, true)
	return err
}

// received is one result of Subscription.Recv.
type received struct {
	ev  eventstore.Event
	err error
}

// follow subscribes from cp and applies what arrives in batches: the first
// event waits, the rest of a batch is whatever the subscription has ready,
// up to BatchSize. It returns when ctx ends, the subscription fails, or the
// checkpoint moved under it (errMoved).
func (m *Manager) follow(ctx context.Context, h *handler, cp checkpoint) error {
	if cp.state == stateLive {
		cp.state = stateCatchingUp // until this run has seen the head itself
	}
	subCtx, cancel := context.WithCancel(ctx)
	sub, err := m.log.SubscribeAll(subCtx, cp.pos)
	if err != nil {
		cancel()
		return fmt.Errorf("subscribe read model %q from %s: %w", h.name, posString(cp.pos), err)
	}
	feed := make(chan received, 2*m.opts.BatchSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := sub.Recv()
			select {
			case feed <- received{ev, err}:
			case <-subCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-done
		_ = sub.Close()
	}()

	// Catching up is work worth a log line once it is done.
	started, applied := time.Now(), 0
	logLive := func(next checkpoint) {
		if cp.state != stateLive && next.state == stateLive && applied > 0 {
			m.logger.InfoContext(ctx, "read model caught up", "read_model", h.name,
				"events", applied, "duration", time.Since(started))
			applied = 0
		}
	}

	idle := time.NewTimer(0)
	defer idle.Stop()
	for {
		var first received
		select {
		case <-ctx.Done():
			return ctx.Err()
		case first = <-feed:
		case <-idle.C:
			if cp.state == stateCatchingUp {
				next, err := m.markLive(ctx, cp)
				if err != nil {
					return err
				}
				logLive(next)
				cp = next
				if cp.state != stateLive {
					idle.Reset(liveCheckDelay)
				}
			}
			continue
		}
		if first.err != nil {
			return fmt.Errorf("subscription of read model %q: %w", h.name, first.err)
		}

		batch, pending := drain(feed, first.ev, m.opts.BatchSize)
		state := stateCatchingUp
		if pending == nil && len(batch) < m.opts.BatchSize && len(feed) == 0 {
			if state, err = m.stateAfter(ctx, cp, batch[len(batch)-1].Position); err != nil {
				return err
			}
		}
		next, err := m.commit(ctx, h, cp, batch, state)
		if err != nil {
			return err
		}
		applied += len(batch)
		logLive(next)
		cp = next
		if pending != nil {
			return fmt.Errorf("subscription of read model %q: %w", h.name, pending)
		}
		idle.Reset(liveCheckDelay)
	}
}

// drain takes first and whatever feed has ready, up to limit events. An
// error met on the way is returned after the events before it.
func drain(feed <-chan received, first eventstore.Event, limit int) ([]eventstore.Event, error) {
	batch := []eventstore.Event{first}
	for len(batch) < limit {
		select {
		case r := <-feed:
			if r.err != nil {
				return batch, r.err
			}
			batch = append(batch, r.ev)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// stateAfter tells whether a batch ending at last brings the model to the
// head of the log. A model already live stays live while batches drain the
// subscription, without asking the store.
func (m *Manager) stateAfter(ctx context.Context, cp checkpoint, last eventstore.Position) (string, error) {
	if cp.state == stateLive {
		return stateLive, nil
	}
	head, _, err := m.log.Head(ctx)
	if err != nil {
		return "", fmt.Errorf("read head of the log: %w", err)
	}
	if atOrAfter(last, head) {
		return stateLive, nil
	}
	return stateCatchingUp, nil
}

// markLive records state "live" once an idle model's checkpoint has reached
// the head of the log.
func (m *Manager) markLive(ctx context.Context, cp checkpoint) (checkpoint, error) {
	head, _, err := m.log.Head(ctx)
	if err != nil {
		return cp, fmt.Errorf("read head of the log: %w", err)
	}
	if !atOrAfter(cp.pos, head) {
		return cp, nil
	}
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return cp, fmt.Errorf("mark read model %q live: %w", cp.name, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := compareAndLock(ctx, tx, cp); err != nil {
		return cp, err
	}
	next := cp
	next.state = stateLive
	if err := writeCheckpoint(ctx, tx, next); err != nil {
		return cp, err
	}
	if err := tx.Commit(ctx); err != nil {
		return cp, fmt.Errorf("mark read model %q live: %w", cp.name, err)
	}
	return next, nil
}
