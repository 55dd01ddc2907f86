package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

const (
	// firstBackoff and maxBackoff bound the pause between client builds
	// after failed ones.
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
	// retireGrace is how long a retired client may still serve calls and
	// subscriptions that hold it before it is closed under them.
	retireGrace = 30 * time.Second
)

// errStoreClosed is returned by calls after Close.
var errStoreClosed = errors.New("store is closed")

// holder owns the client. A v4 client is dead for good once a discovery has
// failed, so the holder retires a client that reports the connection closed
// or unavailable and builds a fresh one for the next call. One build runs at
// a time and every caller waits for at most one build; failed builds back
// off exponentially. A build connects before it publishes the client
// (GetServerVersion runs the discovery), so concurrent callers never race a
// discovery inside the client, where a failure would strand them.
type holder struct {
	template esdb.Configuration
	logger   *slog.Logger

	mu        sync.Mutex
	cur       *conn
	building  chan struct{} // closed when the running build ends; nil between builds
	pending   *esdb.Client  // the client being built
	buildErr  error
	failures  int
	notBefore time.Time
	builds    int
	open      map[*conn]struct{}
	closed    bool
}

// conn is one client and the calls that use it.
type conn struct {
	client  *esdb.Client
	gen     int
	refs    int
	retired bool
	shut    bool
	grace   *time.Timer
}

func newHolder(cfg esdb.Configuration, logger *slog.Logger) *holder {
	return &holder{template: cfg, logger: logger, open: map[*conn]struct{}{}}
}

// acquire returns a connected client for one call; release it afterwards.
// It fails with the ctx error, or with the error of the build it waited for.
func (h *holder) acquire(ctx context.Context) (*conn, error) {
	h.mu.Lock()
	if c, err := h.ready(); c != nil || err != nil {
		h.mu.Unlock()
		return c, err
	}
	if h.building == nil {
		if wait := time.Until(h.notBefore); wait > 0 {
			h.mu.Unlock()
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			h.mu.Lock()
			if c, err := h.ready(); c != nil || err != nil {
				h.mu.Unlock()
				return c, err
			}
		}
	}
	var building <-chan struct{} = h.building
	if building == nil {
		building = h.startBuild()
	}
	h.mu.Unlock()

	select {
	case <-building:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, err := h.ready(); c != nil || err != nil {
		return c, err
	}
	if h.buildErr == nil {
		// Another call retired the new client before this one got it.
		return nil, errors.New("connect: the new connection was lost at once")
	}
	return nil, fmt.Errorf("connect: %w", h.buildErr)
}

// ready hands out the current client, if any; the caller holds h.mu.
func (h *holder) ready() (*conn, error) {
	if h.closed {
		return nil, errStoreClosed
	}
	if h.cur != nil {
		h.cur.refs++
		return h.cur, nil
	}
	return nil, nil
}

// startBuild starts a build and returns the channel that closes when it
// ends (possibly already); the caller holds h.mu.
func (h *holder) startBuild() <-chan struct{} {
	h.builds++
	gen := h.builds
	building := make(chan struct{})
	h.building = building
	cfg := h.template
	client, err := esdb.NewClient(&cfg)
	if err != nil {
		h.finishBuild(nil, gen, err)
		return building
	}
	h.pending = client
	go func() {
		err := connect(client)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.finishBuild(client, gen, err)
	}()
	return building
}

// finishBuild publishes a built client or records why the build failed;
// the caller holds h.mu.
func (h *holder) finishBuild(client *esdb.Client, gen int, err error) {
	h.pending = nil
	close(h.building)
	h.building = nil
	if err == nil && h.closed {
		err = errStoreClosed
	}
	if err != nil {
		if client != nil {
			_ = client.Close()
		}
		h.failures++
		backoff := min(firstBackoff<<min(h.failures-1, 6), maxBackoff)
		h.notBefore = time.Now().Add(backoff)
		h.buildErr = err
		h.logger.Warn("event store connect failed",
			"client", gen, "failures", h.failures, "retry_in", backoff, "error", err)
		return
	}
	if h.failures > 0 {
		h.logger.Info("event store connected", "client", gen, "after_failures", h.failures)
	}
	h.failures, h.buildErr = 0, nil
	h.cur = &conn{client: client, gen: gen}
	h.open[h.cur] = struct{}{}
}

// connect runs the client's discovery. It cannot be bounded by a context;
// the discovery settings bound it.
func connect(client *esdb.Client) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("client panicked: %v", p)
		}
	}()
	_, err = client.GetServerVersion()
	return err
}

// hold adds a reference to c for a subscription that outlives its call.
func (h *holder) hold(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.refs++
}

// release drops a reference taken by acquire or hold.
func (h *holder) release(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.refs--
	if c.retired && c.refs == 0 {
		h.shut(c)
	}
}

// retire stops handing out c after it reported err. Calls still using it
// finish on it; it closes when the last one releases it, or after
// retireGrace, which frees calls stuck inside the client.
func (h *holder) retire(c *conn, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.retired {
		return
	}
	c.retired = true
	if h.cur == c {
		h.cur = nil
	}
	h.logger.Warn("event store connection lost; the next call builds a new client",
		"client", c.gen, "error", err)
	if c.refs == 0 {
		h.shut(c)
		return
	}
	c.grace = time.AfterFunc(retireGrace, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.shut(c)
	})
}

// isRetired reports whether c was retired (so that errors it produces may
// be the holder's own doing).
func (h *holder) isRetired(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.retired
}

// shut closes c's client once; the caller holds h.mu.
func (h *holder) shut(c *conn) {
	if c.shut {
		return
	}
	c.shut = true
	if c.grace != nil {
		c.grace.Stop()
	}
	delete(h.open, c)
	_ = c.client.Close()
}

// close closes every client, including one being built. Calls in flight
// fail.
func (h *holder) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	h.cur = nil
	for c := range h.open {
		c.retired = true
		h.shut(c)
	}
	if h.pending != nil {
		_ = h.pending.Close()
	}
}

// buildCount returns how many clients the holder has built.
func (h *holder) buildCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.builds
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
