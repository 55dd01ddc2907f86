package readapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

const (
	// liveHeartbeat is how often an idle stream sends a comment, which
	// keeps proxies from closing it and tells the server that a client
	// has gone away.
	liveHeartbeat = 15 * time.Second
	// livePage bounds the events read from the event log per query.
	livePage = 500
	// liveRetry is the reconnection delay the stream asks clients for.
	liveRetry = 2 * time.Second
	// liveRecheck is how often an idle stream checks that its token still
	// authenticates; a busy one checks before every batch as well.
	liveRecheck = 5 * time.Second
)

// liveParams are the query parameters of the live stream.
var liveParams = []string{"last_event_id", "after", "feature_result_id", "stream"}

func (a *api) liveRoutes(r *routes) {
	r.get("/api/live/", a.live)
}

// liveRequest is what one client asked to follow.
type liveRequest struct {
	who Caller
	// token is the caller's bearer token, authenticated again while the
	// stream lasts.
	token string
	// after is the seq to continue after; fromStart is set when the
	// client named it (Last-Event-ID) or a stream of its own, so that the
	// stream starts there rather than at the present.
	after     int64
	fromStart bool
	streams   []string
}

// live is GET /backend/api/live/: Server-Sent Events of the events of the
// caller's departments (SUPERUSER: all) as they are appended, each with
// its seq as SSE id and the JSON of GET /api/events/ as data.
//
// A client that sends Last-Event-ID (or ?last_event_id=, ?after=) first
// receives every event after that seq it may see, then the new ones, so
// that a reconnecting client misses none and receives none twice. With
// ?feature_result_id=<id> only that result's events are sent, from its
// first one unless Last-Event-ID says otherwise, so that a client joining
// in the middle of a run gets the whole run; ?stream= does the same for
// any streams (comma-separated). Without either the stream starts at the
// present. ?stream= and ?feature_result_id= together are a 400, as is a
// Last-Event-ID beyond the last event of the log; so are ?last_event_id=
// and ?after= together. A Last-Event-ID header wins over either (an
// EventSource reconnects with its opening URL). A comment is sent every
// 15 s while nothing happens; the stream ends when the client goes away or
// the server shuts down.
//
// The caller's token is checked again before every batch of events and at
// least every 5 s: once it is revoked or its account deleted the stream
// sends an error event and ends, and a changed role or membership applies
// from the next batch on.
func (a *api) live(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	req, err := a.liveRequest(c, who)
	if err != nil {
		return err
	}
	// Closed when the server shuts down; the stream writer may not touch
	// c, so it takes the channel now.
	shutdown := c.Context().Done()
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		a.stream(w, req, shutdown)
	})
	return nil
}

// liveRequest reads and checks the stream's parameters.
func (a *api) liveRequest(c *fiber.Ctx, who Caller) (liveRequest, error) {
	token, _ := bearerToken(c)
	req := liveRequest{who: who, token: string([]byte(token))}
	var problems []error
	afterName := ""
	known := map[string]bool{}
	for _, p := range liveParams {
		known[p] = true
	}
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if !known[string(k)] {
			problems = append(problems, domain.Invalid(string(k), "unknown parameter; the parameters are %s",
				strings.Join(liveParams, ", ")))
		}
	})
	if args := c.Context().QueryArgs(); args.Has("last_event_id") && args.Has("after") {
		problems = append(problems, domain.Invalid("after",
			"names the same resume point as last_event_id; give one of them, not both"))
	}
	// The header comes first: an EventSource reconnects to the URL it was
	// opened with, query and all, and sends the id of the last event it
	// received as Last-Event-ID, which is the later point.
	for _, src := range []struct{ name, raw string }{
		{"Last-Event-ID", c.Get("Last-Event-ID")}, {"last_event_id", c.Query("last_event_id")},
		{"after", c.Query("after")},
	} {
		if src.raw == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(src.raw), 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, domain.Invalid(src.name,
				"must be the seq of an event (0 or more), got %q", src.raw))
			continue
		}
		if !req.fromStart {
			req.after, req.fromStart, afterName = n, true, src.name
		}
	}
	req.streams = queryList(c, "stream")
	if raw := c.Query("feature_result_id"); raw != "" && len(req.streams) > 0 {
		problems = append(problems, domain.Invalid("feature_result_id",
			"follows the streams of one result; give it or stream, not both"))
	} else if raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			problems = append(problems, domain.Invalid("feature_result_id", "must be a positive integer, got %q", raw))
		} else {
			req.streams = append(req.streams, resultStream(id))
			// The result may have been requested just now.
			if err := a.fresh(c.UserContext(), eventLogModel); err != nil {
				return req, err
			}
			deps, ok, err := projections.NewEventLogReader(a.Pool).Scope(c.UserContext(), resultStream(id))
			if err != nil {
				return req, err
			}
			if !ok || !visibleIn(who, deps) {
				return req, domain.NotFound("feature result", id)
			}
		}
	}
	if len(problems) > 0 {
		return req, joinInvalid(problems)
	}
	if req.fromStart {
		// A seq beyond the last event would keep the stream silent until
		// the log grows past it, and the events before it would never be
		// sent.
		if err := a.fresh(c.UserContext(), eventLogModel); err != nil {
			return req, err
		}
		last, err := projections.NewEventLogReader(a.Pool).LastSeq(c.UserContext())
		if err != nil {
			return req, err
		}
		if req.after > last {
			return req, domain.Invalid(afterName, "is %d, but the last event of the log is %d", req.after, last)
		}
	}
	if len(req.streams) > 0 {
		req.fromStart = true
	}
	return req, nil
}

// stream writes the events of req to w until the client goes away (a
// write fails), the server shuts down, or the log cannot be followed.
//
// It subscribes to the log from its head, then waits for the event log
// read model to reach the head and sends what it holds after the cursor.
// Every event the subscription delivers afterwards names a position the
// read model is waited for before the next query, so no event the model
// gets is missed, and the cursor (the last seq sent) makes sure none is
// sent twice.
func (a *api) stream(w *bufio.Writer, req liveRequest, shutdown <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()
	log := a.Logger.With("account_id", req.who.AccountID)
	fail := func(err error) {
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errUnauthenticated), errors.Is(err, domain.ErrForbidden):
			log.InfoContext(ctx, "live stream ended: access withdrawn", "err", err)
		default:
			log.WarnContext(ctx, "live stream ended", "err", err)
		}
		writeSSEError(w, err)
	}

	store := a.Log.Store()
	head, _, err := store.Head(ctx)
	if err != nil {
		fail(err)
		return
	}
	sub, err := store.SubscribeAll(ctx, head)
	if err != nil {
		fail(err)
		return
	}
	defer sub.Close()
	f := &follower{wake: make(chan struct{}, 1), failed: make(chan error, 1), latest: head}
	go f.follow(sub)

	reader := projections.NewEventLogReader(a.Pool)
	// TODO(live): an event whose department becomes known only later (a
	// FeatureCreated split from its first FeatureSaved by a log read) is
	// not sent once the cursor has passed it.
	filter := projections.EventFilter{After: req.after, Limit: livePage, Streams: req.streams}
	a.waitLive(ctx, head)
	if !req.fromStart {
		if filter.After, err = reader.LastSeq(ctx); err != nil {
			fail(err)
			return
		}
	}
	fmt.Fprintf(w, "retry: %d\n: following after %d\n\n", liveRetry.Milliseconds(), filter.After)
	if w.Flush() != nil {
		return
	}

	heartbeat := time.NewTicker(liveHeartbeat)
	defer heartbeat.Stop()
	recheck := time.NewTicker(liveRecheck)
	defer recheck.Stop()
	// pos is the position waitLive last waited for: the caller is checked
	// against an accounts read model that has applied it, so only events up
	// to pos are sent after the check. One beyond it (the event log model
	// may be ahead) waits for the subscription's wake, which it is sure to
	// get, and the check after it; no event appended after a revocation
	// is sent on the revoked token.
	pos := head
	for {
		who, err := a.liveCaller(ctx, req.token)
		if err != nil {
			fail(err)
			return
		}
		liveScope(&filter, who)

		for more := true; more; {
			page, err := reader.Page(ctx, filter)
			if err != nil {
				fail(err)
				return
			}
			more = len(page) == filter.Limit
			for _, e := range page {
				if pos.Less(e.Position) {
					more = false
					break
				}
				data, err := json.Marshal(toEventJSON(e))
				if err != nil {
					fail(err)
					return
				}
				fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Seq, data)
				filter.After = e.Seq
			}
			if w.Flush() != nil {
				return
			}
		}

		select {
		case <-ctx.Done():
			return
		case err := <-f.failed:
			fail(err)
			return
		case <-f.wake:
			pos = f.position()
			a.waitLive(ctx, pos)
		case <-heartbeat.C:
			fmt.Fprint(w, ": heartbeat\n\n")
			if w.Flush() != nil {
				return
			}
		case <-recheck.C:
		}
	}
}

// liveCaller authenticates token again, as requireCaller did when the
// stream opened. A token that no longer authenticates (revoked, or its
// account deleted) is errUnauthenticated; an account whose role may no
// longer follow events is domain.ErrForbidden.
func (a *api) liveCaller(ctx context.Context, token string) (Caller, error) {
	who, err := a.auth.Authenticate(ctx, token)
	if errors.Is(err, domain.ErrNotFound) {
		return who, fmt.Errorf("token revoked or account deleted: %w", errUnauthenticated)
	}
	if err != nil {
		return who, err
	}
	return who, who.Require(string(role.ViewFeature))
}

// liveScope limits f to the events who may see.
func liveScope(f *projections.EventFilter, who Caller) {
	f.Departments, f.AllDepartments = who.Departments, who.SeesAllDepartments()
	// Accounts are shown to holders of view_accounts only, as by
	// GET /api/accounts/ and the audit; anyone follows their own.
	f.HideAccounts, f.OwnAccount = who.Require(string(role.ViewAccounts)) != nil, who.AccountID
}

// waitLive waits until the event log and accounts read models have
// applied pos, at most WriteWait. A model that lags longer is logged; the
// stream goes on with what the models hold and catches up on the next
// wake or check.
func (a *api) waitLive(ctx context.Context, pos eventstore.Position) {
	if err := a.settle(ctx, pos, eventLogModel, "accounts"); err != nil && ctx.Err() == nil {
		a.Logger.WarnContext(ctx, "live stream: read models behind", "err", err)
	}
}

// follower turns a subscription into wake-ups carrying the latest position.
type follower struct {
	wake   chan struct{}
	failed chan error
	mu     sync.Mutex
	latest eventstore.Position
}

func (f *follower) follow(sub eventstore.Subscription) {
	for {
		ev, err := sub.Recv()
		if err != nil {
			f.failed <- err
			return
		}
		f.mu.Lock()
		f.latest = ev.Position
		f.mu.Unlock()
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

func (f *follower) position() eventstore.Position {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest
}

// writeSSEError sends an error event. After a failure the client
// reconnects with its Last-Event-ID and resumes; after its access was
// withdrawn a reconnection is refused.
func writeSSEError(w *bufio.Writer, err error) {
	msg := "the live stream stopped; reconnect to resume"
	switch {
	case errors.Is(err, errUnauthenticated):
		msg = "the token was revoked or its account deleted; the live stream has ended"
	case errors.Is(err, domain.ErrForbidden):
		msg = "the account's role may no longer follow events; the live stream has ended"
	case errors.Is(err, eventstore.ErrUnavailable):
		msg = "the event store is unavailable; reconnect to resume"
	}
	data, _ := json.Marshal(map[string]any{"success": false, "error": msg})
	fmt.Fprintf(w, "event: error\ndata: %s\n\n", data)
	_ = w.Flush()
}
