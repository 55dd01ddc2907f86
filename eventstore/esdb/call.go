package esdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cometa-es/cometa/eventstore"
)

// maxAttempts bounds how often one call is sent.
const maxAttempts = 3

// repeat says when a failed call may be sent again.
type repeat int

const (
	// repeatSafe: sending the call again cannot change what it does
	// (reads; appends whose expected revision makes the server's
	// idempotency check by event id exact).
	repeatSafe repeat = iota
	// repeatIfUnsent: send again only when the call never reached the
	// server (appends with Any, whose idempotency is best effort).
	repeatIfUnsent
)

// clientPanic is a panic inside the client turned into an error: its
// ReadStream panics on messages it does not expect, and a call still inside
// a client that the holder closed panics on the client's closed channel.
type clientPanic struct{ value any }

func (p *clientPanic) Error() string { return fmt.Sprintf("event store client panicked: %v", p.value) }

// failure is what an error of the client says about the connection.
type failure struct {
	retire    bool // the client is dead or its server is gone: build a new one
	unsent    bool // the call never reached the server
	transient bool // the same call may succeed later
}

// classify reads the client's error codes with errors.As; esdb.FromError is
// not used because its bool is true when there is no error.
func classify(err error) failure {
	var p *clientPanic
	if errors.As(err, &p) {
		return failure{transient: true}
	}
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorCodeConnectionClosed:
			return failure{retire: true, unsent: true, transient: true}
		case esdb.ErrorUnavailable:
			return failure{retire: true, transient: true}
		case esdb.ErrorCodeNotLeader:
			// The client reconnects to the leader by itself.
			return failure{unsent: true, transient: true}
		case esdb.ErrorCodeDeadlineExceeded, esdb.ErrorAborted:
			return failure{transient: true}
		case esdb.ErrorCodeUnknown:
			// Falls through to the gRPC status the client did not map.
		default:
			return failure{}
		}
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return failure{retire: true, transient: true}
	case codes.DeadlineExceeded, codes.Aborted:
		return failure{transient: true}
	}
	return failure{}
}

// run sends fn through the holder's client: at most maxAttempts times,
// building a new client when one proves dead, and repeating only what r
// allows. Each attempt runs in its own goroutine so that ctx ends the call
// even while the client ignores it (its discovery does). A result that
// arrives after ctx won goes to discard when discard is not nil.
func run[T any](ctx context.Context, h *holder, op string, r repeat,
	fn func(context.Context, *conn) (T, error), discard func(T)) (T, error) {
	var zero T
	for attempt := 1; ; attempt++ {
		c, err := h.acquire(ctx)
		if err != nil {
			return zero, err
		}
		v, err := call(ctx, h, c, fn, discard)
		if err == nil {
			return v, nil
		}
		f := classify(err)
		if h.isRetired(c) {
			// The holder closed the client under the call.
			f.transient = true
		}
		if f.retire {
			h.retire(c, err)
		}
		again := f.transient && (f.unsent || r == repeatSafe)
		if ctx.Err() != nil || !again || attempt == maxAttempts {
			return zero, err
		}
		h.logger.WarnContext(ctx, "retrying event store call", "op", op, "attempt", attempt, "error", err)
		if err := sleep(ctx, time.Duration(attempt)*firstBackoff); err != nil {
			return zero, err
		}
	}
}

// call runs fn once on c and releases c when fn returns.
func call[T any](ctx context.Context, h *holder, c *conn,
	fn func(context.Context, *conn) (T, error), discard func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer h.release(c)
		var r result
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.err = &clientPanic{value: p}
				}
			}()
			r.v, r.err = fn(ctx, c)
		}()
		done <- r
	}()

	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-done:
		return r.v, r.err
	default:
	}
	if discard != nil {
		go func() {
			if r := <-done; r.err == nil {
				discard(r.v)
			}
		}()
	}
	var zero T
	return zero, ctx.Err()
}

// translate turns an error of run into the port's categories; nothing of
// the client's types survives (its message does, as text).
func translate(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorCodeResourceNotFound:
			return fmt.Errorf("%s: %w", op, eventstore.ErrNotFound)
		case esdb.ErrorCodeStreamDeleted:
			return fmt.Errorf("%s: stream deleted: %w", op, eventstore.ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w: %v", op, eventstore.ErrUnavailable, err)
}
