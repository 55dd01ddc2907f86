package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/cometa-es/cometa/eventstore"
)

const (
	// pageSize is how many events a subscription reads per query.
	pageSize = 1000
	// pollInterval is the safety net: a caught-up subscription looks again
	// this often even when no notification came.
	pollInterval = time.Second
	// A subscription that knows of committed events it cannot see yet (an
	// older transaction elsewhere holds the horizon back, and may never
	// notify) looks again after a delay growing between these bounds.
	recheckMin = 2 * time.Millisecond
	recheckMax = 250 * time.Millisecond
)

// errSubscriptionClosed is what Recv returns after Close.
var errSubscriptionClosed = errors.New("subscription closed")

// SubscribeAll delivers the log after the position after: pages of history
// first, then new events as they become visible, woken by the listener.
// The first page is read before it returns, so an unreachable database
// fails the call itself.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position) (eventstore.Subscription, error) {
	w, err := s.listener.add(ctx)
	if err != nil {
		return nil, fault(ctx, "subscribe to the log", err)
	}
	first, err := s.readAll(ctx, after, pageSize)
	if err != nil {
		s.listener.remove(w)
		return nil, fault(ctx, "subscribe to the log", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	sub := &subscription{
		pages:  make(chan []eventstore.Event, 1),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	s.subs.Add(1)
	go func() {
		defer s.subs.Done()
		defer close(sub.done)
		defer s.listener.remove(w)
		s.logger.DebugContext(ctx, "subscription started", "after", after)
		sub.err = s.follow(ctx, after, first, w, sub.pages)
		s.logger.DebugContext(ctx, "subscription ended", "reason", sub.err)
	}()
	return sub, nil
}

// follow hands page, the log's first page after after, and the log beyond
// it to pages until ctx ends or a read fails. It returns why it stopped.
func (s *Store) follow(ctx context.Context, after eventstore.Position, page []eventstore.Event,
	w *waiter, pages chan<- []eventstore.Event) error {
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	var recheck time.Duration
	for read := false; ; read = true {
		if read {
			var err error
			if page, err = s.readAll(ctx, after, pageSize); err != nil {
				return s.followFault(ctx, err)
			}
		}
		if len(page) > 0 {
			after = page[len(page)-1].Position
			select {
			case pages <- page:
			case <-ctx.Done():
				return ended(ctx)
			case <-w.failed:
				return w.err
			}
			if len(page) == pageSize {
				continue
			}
		}

		unread, err := s.unread(ctx, after)
		if err != nil {
			return s.followFault(ctx, err)
		}
		if s.readHook != nil {
			s.readHook(len(page), unread)
		}
		wait := pollInterval
		if unread {
			recheck = min(max(2*recheck, recheckMin), recheckMax)
			wait = recheck
		} else {
			recheck = 0
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ended(ctx)
		case <-w.failed:
			return w.err
		case <-w.wake:
		case <-timer.C:
		}
	}
}

func (s *Store) followFault(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ended(ctx)
	}
	return fault(ctx, "subscription", err)
}

// ended is the error of a subscription whose ctx is done: the ctx error of
// SubscribeAll, or errSubscriptionClosed after Close.
func ended(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, errSubscriptionClosed) {
		return cause
	}
	return ctx.Err()
}

// subscription hands the pages that follow reads to Recv.
type subscription struct {
	pages chan []eventstore.Event
	// done is closed when follow has returned; err is its reason.
	done   chan struct{}
	err    error
	buf    []eventstore.Event
	cancel context.CancelCauseFunc
}

// Recv returns the next event. It is not safe for concurrent use (one
// consumer per subscription). Once the subscription has ended every call
// returns the reason, even if events had been read ahead.
func (sub *subscription) Recv() (eventstore.Event, error) {
	select {
	case <-sub.done:
		return eventstore.Event{}, sub.err
	default:
	}
	if len(sub.buf) == 0 {
		select {
		case page := <-sub.pages:
			sub.buf = page
		case <-sub.done:
			return eventstore.Event{}, sub.err
		}
	}
	ev := sub.buf[0]
	sub.buf = sub.buf[1:]
	return ev, nil
}

// Close stops the subscription and waits until it has let go of its
// connection.
func (sub *subscription) Close() error {
	sub.cancel(errSubscriptionClosed)
	<-sub.done
	return nil
}
