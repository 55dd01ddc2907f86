package esdb

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/esdb/esdbtest"
)

// A store opened while the server is down fails with ErrUnavailable, and
// works once the server is up: the dead client is replaced by a new one.
func TestRecoversWhenServerComesUp(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	srv.Stop()
	s := openStore(t, srv.URL())
	ctx := testContext(t)
	stream := streamName("feature")

	_, err := s.Append(ctx, stream, eventstore.NoStream(), newEvent("FeatureCreated"))
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append while the server is down: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("ping while the server is down: %v, want ErrUnavailable", err)
	}
	builds := s.clients.buildCount()

	srv.Restart()
	res, err := s.Append(ctx, stream, eventstore.NoStream(), newEvent("FeatureCreated"))
	if err != nil {
		t.Fatalf("append once the server is up: %v", err)
	}
	if res.NextRevision != 0 {
		t.Errorf("NextRevision = %d, want 0", res.NextRevision)
	}
	if got := s.clients.buildCount(); got <= builds {
		t.Errorf("%d client builds after recovery, want more than %d", got, builds)
	}
}

// A connected store whose server goes away and comes back on the same port
// carries on, with the data the server kept.
func TestRecoversAfterServerRestart(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := openStore(t, srv.URL())
	ctx := testContext(t)
	stream := streamName("run")
	if _, err := s.Append(ctx, stream, eventstore.NoStream(), newEvent("RunRequested")); err != nil {
		t.Fatalf("append: %v", err)
	}

	srv.Stop()
	if _, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{}); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("read while the server is down: %v, want ErrUnavailable", err)
	}
	srv.Restart()

	if _, err := s.Append(ctx, stream, eventstore.Exact(0), newEvent("ResultStarted")); err != nil {
		t.Fatalf("append after the restart: %v", err)
	}
	got, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if err != nil {
		t.Fatalf("read after the restart: %v", err)
	}
	if len(got) != 2 {
		t.Errorf("stream holds %d events, want 2", len(got))
	}
}

// A hung server (it accepts TCP and never answers) or a slow one does not
// keep a call past its ctx deadline, whether the client is connecting or
// already connected. The connection strings give the client a discovery
// that would take minutes, so only the adapter can end the call in time.
// Once the server answers again, calls succeed.
func TestHungServerHonoursDeadline(t *testing.T) {
	t.Parallel()
	slow := "&maxDiscoverAttempts=10&gossipTimeout=30"
	cases := []struct {
		name      string
		connected bool
		fault     func(*esdbtest.Server, bool)
		op        func(context.Context, *Store) error
	}{
		{"append while connecting", false, hang, appendOne},
		{"append when connected", true, hang, appendOne},
		{"subscribe when connected", true, hang, subscribe},
		{"read all from a slow server", true, delay, readAll},
		{"head while connecting to a slow server", false, delay, head},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := esdbtest.Start(t)
			s := openStore(t, srv.URL()+slow)
			if tc.connected {
				if err := s.Ping(testContext(t)); err != nil {
					t.Fatalf("ping: %v", err)
				}
			}
			tc.fault(srv, true)

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tc.op(ctx, s) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("call against a stuck server: %v, want context.DeadlineExceeded", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("call still blocked 20 s after its 200 ms deadline")
			}

			tc.fault(srv, false)
			if err := tc.op(testContext(t), s); err != nil {
				t.Errorf("call once the server answers again: %v", err)
			}
		})
	}
}

func hang(srv *esdbtest.Server, on bool) { srv.Hang(on) }

func delay(srv *esdbtest.Server, on bool) {
	if on {
		srv.Delay(time.Hour)
	} else {
		srv.Delay(0)
	}
}

func appendOne(ctx context.Context, s *Store) error {
	_, err := s.Append(ctx, streamName("folder"), eventstore.NoStream(), newEvent("FolderCreated"))
	return err
}

func subscribe(ctx context.Context, s *Store) error {
	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		return err
	}
	return sub.Close()
}

func readAll(ctx context.Context, s *Store) error {
	_, err := s.ReadAll(ctx, eventstore.Position{}, 10)
	return err
}

func head(ctx context.Context, s *Store) error {
	_, _, err := s.Head(ctx)
	return err
}

// A subscription that the server drops, or loses with the server, fails
// with ErrUnavailable, and keeps failing; a new subscription works once
// the server does.
func TestDroppedSubscriptionIsUnavailable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault func(*esdbtest.Server)
		heal  func(*esdbtest.Server)
	}{
		{"dropped by the server", (*esdbtest.Server).DropSubscriptions, func(*esdbtest.Server) {}},
		{"server stopped", (*esdbtest.Server).Stop, (*esdbtest.Server).Restart},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := esdbtest.Start(t)
			s := openStore(t, srv.URL())
			ctx := testContext(t)
			sub, err := s.SubscribeAll(ctx, eventstore.Position{})
			if err != nil {
				t.Fatalf("subscribe: %v", err)
			}
			defer sub.Close()

			tc.fault(srv)
			for i := range 2 {
				if _, err := sub.Recv(); !errors.Is(err, eventstore.ErrUnavailable) {
					t.Errorf("recv %d after the drop: %v, want ErrUnavailable", i, err)
				}
			}

			tc.heal(srv)
			again, err := s.SubscribeAll(ctx, eventstore.Position{})
			if err != nil {
				t.Fatalf("subscribe again: %v", err)
			}
			defer again.Close()
			stream := streamName("feature")
			if _, err := s.Append(ctx, stream, eventstore.NoStream(), newEvent("FeatureCreated")); err != nil {
				t.Fatalf("append: %v", err)
			}
			ev, err := again.Recv()
			if err != nil || ev.Stream != stream {
				t.Errorf("recv on the new subscription: %s, %v; want an event of %s", ev.Stream, err, stream)
			}
		})
	}
}

// A refused append reports the stream's actual revision, which the client
// does not hand over: the adapter reads it back.
func TestConflictCarriesActualRevision(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := openStore(t, srv.URL())
	cases := []struct {
		name     string
		existing int
		expected eventstore.ExpectedRevision
		actual   int64
	}{
		{"exact behind", 3, eventstore.Exact(0), 2},
		{"exact ahead", 2, eventstore.Exact(5), 1},
		{"no stream on an existing one", 1, eventstore.NoStream(), 0},
		{"stream exists on a missing one", 0, eventstore.StreamExists(), -1},
		{"exact on a missing one", 0, eventstore.Exact(0), -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			stream := streamName("account")
			for range tc.existing {
				if _, err := s.Append(ctx, stream, eventstore.Any(), newEvent("AccountRenamed")); err != nil {
					t.Fatalf("append: %v", err)
				}
			}
			_, err := s.Append(ctx, stream, tc.expected, newEvent("AccountRenamed"))
			var conflict *eventstore.ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("append expecting %s: %v, want a *ConflictError", tc.expected, err)
			}
			if conflict.Stream != stream || conflict.Expected != tc.expected || conflict.Actual != tc.actual {
				t.Errorf("conflict %q expected %s actual %d, want %q %s %d", conflict.Stream,
					conflict.Expected, conflict.Actual, stream, tc.expected, tc.actual)
			}
		})
	}
}

// System events (a $ type, or a $ stream) never come out of ReadAll, Head
// or a subscription, wherever they lie in the log, and paging by any limit
// visits every user event once.
func TestSystemEventsAreHidden(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := openStore(t, srv.URL())
	ctx := testContext(t)

	if head, at, err := s.Head(ctx); err != nil || !head.IsZero() || !at.IsZero() {
		t.Fatalf("head of a log of system events only = %v %v %v, want zero values", head, at, err)
	}
	stream := streamName("feature")
	var want []eventstore.EventData
	for i := range 3 {
		// The first append is a batch: its events share a commit position
		// and differ in their prepare position.
		batch := []eventstore.EventData{newEvent("FeatureSaved")}
		if i == 0 {
			batch = append(batch, newEvent("FeatureMovedToFolder"))
		}
		want = append(want, batch...)
		if _, err := s.Append(ctx, stream, eventstore.Any(), batch...); err != nil {
			t.Fatalf("append: %v", err)
		}
		srv.AppendSystemEvent("$stats-node", "$statsCollected")
		if i == 1 {
			// A user-typed event in a system stream: the server-side
			// filter on event types lets it through.
			srv.AppendSystemEvent("$ce-feature", "FeatureSaved")
		}
	}

	for _, limit := range []int{1, 2, 100} {
		got := pageAll(t, s, limit)
		if len(got) != len(want) {
			t.Fatalf("ReadAll by %d returned %d events, want %d", limit, len(got), len(want))
		}
		for i, ev := range got {
			if ev.ID != want[i].ID {
				t.Errorf("ReadAll by %d: event %d is %s %s, want %s", limit, i, ev.Stream, ev.Type, want[i].ID)
			}
		}
	}

	head, at, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	last, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil {
		t.Fatalf("read last: %v", err)
	}
	if head != last[0].Position || !at.Equal(last[0].OccurredAt) {
		t.Errorf("head %v at %v, want the last user event at %v, %v",
			head, at, last[0].Position, last[0].OccurredAt)
	}

	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	for i := range want {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if ev.ID != want[i].ID {
			t.Errorf("delivery %d is %s %s, want %s", i, ev.Stream, ev.Type, want[i].ID)
		}
	}
}

func pageAll(t *testing.T, s *Store, limit int) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	var after eventstore.Position
	for {
		page, err := s.ReadAll(testContext(t), after, limit)
		if err != nil {
			t.Fatalf("read all after %v: %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		if len(page) > limit {
			t.Fatalf("ReadAll by %d returned %d events", limit, len(page))
		}
		for _, ev := range page {
			if ev.Type[0] == '$' || ev.Stream[0] == '$' {
				t.Errorf("ReadAll returned the system event %s %s", ev.Stream, ev.Type)
			}
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

// The client's log goes to the injected logger, and nothing to the
// standard logger, which the client uses by default. Not parallel: it
// swaps the standard logger's output.
func TestClientLogGoesToLogger(t *testing.T) {
	var std bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&std)
	t.Cleanup(func() { log.SetOutput(prev) })

	rec := &recorder{}
	srv := esdbtest.Start(t)
	srv.Stop()
	s, err := Open(context.Background(), srv.URL(), slog.New(rec))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := s.Ping(testContext(t)); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("ping a stopped server: %v, want ErrUnavailable", err)
	}
	_ = s.Close()

	if std.Len() > 0 {
		t.Errorf("the standard logger got %q", std.String())
	}
	if !rec.has("logged_by=esdb_client") {
		t.Errorf("the injected logger got no client line; it got %q", rec.lines())
	}
	if !rec.has("event store connect failed") {
		t.Errorf("the injected logger got no connect failure; it got %q", rec.lines())
	}
}

// recorder is a slog handler that keeps every record as a line of text.
type recorder struct {
	mu  sync.Mutex
	buf []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, b.String())
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.buf...)
}

func (r *recorder) has(s string) bool {
	for _, l := range r.lines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
