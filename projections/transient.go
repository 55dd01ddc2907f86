package projections

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cometa-es/cometa/eventstore"
)

// isTransient tells a fault of the database or the store, which retrying
// the same batch later can cure, from an event that cannot be applied. Only
// the latter becomes a dead letter. A canceled or expired context is never
// the event's fault either.
//
// Server errors are judged by SQLSTATE class: connection exceptions (08),
// insufficient resources (53), operator intervention such as a terminated
// backend (57), system errors (58), serialization failures and deadlocks
// (40) and lock timeouts (55P03) are transient; data, constraint and syntax
// errors are the event's or the model's fault and are not. Errors raised by
// the driver itself (lost connection, timeouts) are transient; any other
// error returned by Apply is the event's.
func isTransient(err error) bool {
	if errors.Is(err, eventstore.ErrUnavailable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		switch {
		case code == "55P03":
			return true
		case code == "0A000" && pgErr.Routine == "RevalidateCachedQuery":
			// "cached plan must not change result type": a prepared
			// statement met a table of another shape (two models sharing
			// a statement's text, or a rebuild that changed a table); pgx
			// has dropped the statement and the retry prepares it anew.
			return true
		case len(code) == 5:
			switch code[:2] {
			case "08", "40", "53", "57", "58":
				return true
			}
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// backoff is a capped exponential delay between retries.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

// wait sleeps for the next delay, doubling it for the following call, or
// returns the ctx error when ctx ends first.
func (b *backoff) wait(ctx context.Context) error {
	if b.next < b.min {
		b.next = b.min
	}
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.max)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reset makes the next wait the shortest again.
func (b *backoff) reset() { b.next = b.min }
