package esdb

import (
	"context"
	"fmt"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cometa-es/cometa/eventstore"
)

// SubscribeAll delivers the events after the position after: the history,
// then live events. The start is always passed explicitly (the client
// would otherwise start at the end) and the server filters out system
// event types; events of system streams are dropped here too. Checkpoint
// and caught-up messages are not passed on (the port has none), and nothing
// is persisted.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position) (eventstore.Subscription, error) {
	op := fmt.Sprintf("subscribe to all after %d/%d", after.Commit, after.Prepare)
	opts := esdb.SubscribeToAllOptions{From: allPosition(after), Filter: esdb.ExcludeSystemEventsFilter()}
	subCtx, cancel := context.WithCancel(ctx)

	type opened struct {
		inner *esdb.Subscription
		c     *conn
	}
	o, err := run(subCtx, s.clients, op, repeatSafe, func(ctx context.Context, c *conn) (opened, error) {
		inner, err := c.client.SubscribeToAll(ctx, opts)
		if err != nil {
			return opened{}, err
		}
		s.clients.hold(c)
		return opened{inner: inner, c: c}, nil
	}, func(o opened) {
		_ = o.inner.Close()
		s.clients.release(o.c)
	})
	if err != nil {
		cancel()
		return nil, translate(ctx, op, err)
	}

	sub := &subscription{
		op:     op,
		items:  make(chan eventstore.Event),
		failed: make(chan struct{}),
		cancel: cancel,
		inner:  o.inner,
	}
	go sub.pump(subCtx, after, func() { s.clients.release(o.c) })
	go sub.watch(subCtx)
	return sub, nil
}

// subscription hands events from the client's subscription to Recv. A pump
// goroutine reads the client; a watcher ends the subscription when its ctx
// ends, even if the client were still blocked.
type subscription struct {
	op     string
	items  chan eventstore.Event
	failed chan struct{} // closed once err is set
	once   sync.Once
	err    error
	cancel context.CancelFunc
	inner  *esdb.Subscription
}

// Recv returns the next event. After the first error every call returns
// that error: the ctx error once the ctx of SubscribeAll ends, a wrapped
// eventstore.ErrUnavailable when the server drops the subscription.
func (s *subscription) Recv() (eventstore.Event, error) {
	select {
	case <-s.failed:
		return eventstore.Event{}, s.err
	default:
	}
	select {
	case ev := <-s.items:
		return ev, nil
	case <-s.failed:
		return eventstore.Event{}, s.err
	}
}

// Close ends the subscription; Recv then fails with context.Canceled.
func (s *subscription) Close() error {
	s.fail(fmt.Errorf("%s: subscription closed: %w", s.op, context.Canceled))
	return nil
}

// fail records the first error and stops everything.
func (s *subscription) fail(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.failed)
		s.cancel()
		_ = s.inner.Close()
	})
}

func (s *subscription) watch(ctx context.Context) {
	select {
	case <-ctx.Done():
		s.fail(fmt.Errorf("%s: %w", s.op, ctx.Err()))
	case <-s.failed:
	}
}

// pump passes events on until the client's subscription drops, skipping
// system events and anything not after the start (a server that included
// the start position would repeat it).
func (s *subscription) pump(ctx context.Context, after eventstore.Position, release func()) {
	defer release()
	for {
		msg := s.inner.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			if err := ctx.Err(); err != nil {
				s.fail(fmt.Errorf("%s: %w", s.op, err))
			} else {
				s.fail(fmt.Errorf("%s: subscription dropped: %w: %v",
					s.op, eventstore.ErrUnavailable, msg.SubscriptionDropped.Error))
			}
			return
		case msg.EventAppeared == nil || msg.EventAppeared.Event == nil:
			continue
		}
		r := msg.EventAppeared.Event
		pos := eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
		if isSystem(r) || !after.Less(pos) {
			continue
		}
		after = pos
		select {
		case s.items <- fromRecorded(r):
		case <-s.failed:
			return
		}
	}
}
