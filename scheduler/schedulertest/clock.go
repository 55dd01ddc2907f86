// Package schedulertest holds what tests of the scheduler and of its users
// share: a Clock that the test moves by hand.
package schedulertest

import (
	"context"
	"sync"
	"time"

	"github.com/cometa-es/cometa/scheduler"
)

// Clock is a scheduler.Clock that moves only when the test calls Set.
// Wake-ups whose time has come are delivered by Set; WaitForSleepers tells
// when the schedulers have gone back to sleep, so a test never needs to
// sleep itself.
type Clock struct {
	mu      sync.Mutex
	changed *sync.Cond
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

var _ scheduler.Clock = (*Clock)(nil)

// NewClock returns a Clock reading now.
func NewClock(now time.Time) *Clock {
	c := &Clock{now: now}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WakeAt returns a channel that receives once Set reaches t, at once when
// the clock already has.
func (c *Clock) WakeAt(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: t, ch: ch})
	c.changed.Broadcast()
	return ch
}

// Set moves the clock to now and delivers the wake-ups that are due.
func (c *Clock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- now
	}
	c.waiters = kept
	c.changed.Broadcast()
}

// WaitForSleepers blocks until n wake-ups are outstanding or ctx ends.
// A scheduler waiting for its next tick or poll is one sleeper.
func (c *Clock) WaitForSleepers(ctx context.Context, n int) {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.changed.Broadcast()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) < n && ctx.Err() == nil {
		c.changed.Wait()
	}
}
