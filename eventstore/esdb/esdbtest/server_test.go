package esdbtest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cometa-es/cometa/eventstore/esdb/esdbtest"
)

// These tests pin the wire behaviour of the test server with the real v4
// client, without the adapter in between.

func TestAppendAnswersLikeAServer(t *testing.T) {
	t.Parallel()
	c := newClient(t, esdbtest.Start(t).URL())
	ctx := testContext(t)
	stream := "feature-" + uuid.NewString()
	batch := []esdb.EventData{event("FeatureCreated"), event("FeatureSaved")}

	first, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, batch...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if first.NextExpectedVersion != 1 || first.CommitPosition == 0 || first.PreparePosition == 0 {
		t.Errorf("write result %+v, want revision 1 and a position", first)
	}

	again, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, batch...)
	if err != nil {
		t.Fatalf("retry with the same ids: %v", err)
	}
	if *again != *first {
		t.Errorf("retry answered %+v, want %+v", again, first)
	}

	cases := []struct {
		expected esdb.ExpectedRevision
		message  string
	}{
		{esdb.NoStream{}, "expecting 'no_stream' but got '1'"},
		{esdb.Revision(0), "expecting '0' but got '1'"},
		{esdb.Revision(4), "expecting '4' but got '1'"},
	}
	for _, tc := range cases {
		_, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: tc.expected}, event("FeatureSaved"))
		var e *esdb.Error
		if !errors.As(err, &e) || e.Code() != esdb.ErrorCodeWrongExpectedVersion || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("append expecting %v: %v, want wrong expected version %q", tc.expected, err, tc.message)
		}
	}
	_, err = c.AppendToStream(ctx, "run-"+uuid.NewString(), esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}}, event("RunRequested"))
	if err == nil || !strings.Contains(err.Error(), "expecting 'stream_exists' but got 'no_stream'") {
		t.Errorf("append expecting an existing stream to a new one: %v", err)
	}
}

func TestReadsAnswerLikeAServer(t *testing.T) {
	t.Parallel()
	c := newClient(t, esdbtest.Start(t).URL())
	ctx := testContext(t)
	stream := "run-" + uuid.NewString()
	in := []esdb.EventData{event("RunRequested"), event("ResultStarted"), event("StepRecorded")}
	before := time.Now().Add(-time.Second)
	res, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, in...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}

	got := read(t)(c.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 10))
	if len(got) != 3 {
		t.Fatalf("read %d events, want 3", len(got))
	}
	for i, ev := range got {
		if ev.EventID != in[i].EventID || ev.EventType != in[i].EventType || ev.EventNumber != uint64(i) ||
			ev.ContentType != "application/json" || string(ev.UserMetadata) != string(in[i].Metadata) ||
			string(ev.Data) != string(in[i].Data) || ev.StreamID != stream {
			t.Errorf("event %d = %+v, want %+v", i, ev, in[i])
		}
		if ev.CreatedDate.Before(before) || ev.CreatedDate.After(time.Now()) {
			t.Errorf("event %d created %v, not around now", i, ev.CreatedDate)
		}
	}
	if last := got[2].Position; last.Commit != res.CommitPosition || last.Prepare != res.PreparePosition {
		t.Errorf("last event at %+v, the append said %d/%d", last, res.CommitPosition, res.PreparePosition)
	}

	back := read(t)(c.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2))
	if len(back) != 2 || back[0].EventNumber != 2 || back[1].EventNumber != 1 {
		t.Errorf("backwards read from the end = %v", revisions(back))
	}

	rs, err := c.ReadStream(ctx, "nothing-"+uuid.NewString(), esdb.ReadStreamOptions{}, 1)
	if err != nil {
		t.Fatalf("read a missing stream: %v", err)
	}
	_, err = rs.Recv()
	var e *esdb.Error
	if !errors.As(err, &e) || e.Code() != esdb.ErrorCodeResourceNotFound {
		t.Errorf("first recv of a missing stream: %v, want resource not found", err)
	}
	rs.Close()

	all := read(t)(c.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Start{}}, 100))
	if len(all) < 4 || !strings.HasPrefix(all[0].EventType, "$") || !strings.HasPrefix(all[0].StreamID, "$") {
		t.Fatalf("$all does not start with a system event: %v", types(all))
	}
	for i := 1; i < len(all); i++ {
		if !less(all[i-1].Position, all[i].Position) {
			t.Errorf("$all positions %v then %v", all[i-1].Position, all[i].Position)
		}
	}

	at := got[1].Position
	fwd := read(t)(c.ReadAll(ctx, esdb.ReadAllOptions{From: at}, 1))
	if len(fwd) != 1 || fwd[0].EventID != got[1].EventID {
		t.Errorf("forwards read of $all from %v starts with %v, want the event there", at, types(fwd))
	}
	bwd := read(t)(c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: at}, 1))
	if len(bwd) != 1 || bwd[0].EventID != got[0].EventID {
		t.Errorf("backwards read of $all from %v starts with %v, want the event before", at, types(bwd))
	}
}

func TestSubscriptionAnswersLikeAServer(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	ctx := testContext(t)
	stream := "folder-" + uuid.NewString()
	in := []esdb.EventData{event("FolderCreated"), event("FolderRenamed"), event("FolderMoved")}
	if _, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, in...); err != nil {
		t.Fatalf("append: %v", err)
	}

	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
		From: esdb.Start{}, Filter: esdb.ExcludeSystemEventsFilter(), MaxSearchWindow: 2,
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	if srv.Subscriptions() != 1 {
		t.Errorf("server counts %d subscriptions, want 1", srv.Subscriptions())
	}

	var seen []string
	checkpoints := 0
	for caughtUp := false; !caughtUp; {
		msg := sub.Recv()
		switch {
		case msg.EventAppeared != nil:
			seen = append(seen, msg.EventAppeared.Event.EventType)
		case msg.CheckPointReached != nil:
			checkpoints++
		case msg.CaughtUp != nil:
			caughtUp = true
		case msg.SubscriptionDropped != nil:
			t.Fatalf("dropped during catch-up: %v", msg.SubscriptionDropped.Error)
		}
	}
	if strings.Join(seen, ",") != "FolderCreated,FolderRenamed,FolderMoved" {
		t.Errorf("catch-up delivered %v, want the three user events only", seen)
	}
	if checkpoints == 0 {
		t.Error("a filtered catch-up sent no checkpoint")
	}

	live := event("FolderRenamed")
	if _, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, live); err != nil {
		t.Fatalf("live append: %v", err)
	}
	for {
		msg := sub.Recv()
		if msg.SubscriptionDropped != nil {
			t.Fatalf("dropped while live: %v", msg.SubscriptionDropped.Error)
		}
		if msg.EventAppeared != nil {
			if msg.EventAppeared.Event.EventID != live.EventID {
				t.Errorf("live delivery %s, want %s", msg.EventAppeared.Event.EventID, live.EventID)
			}
			break
		}
	}

	srv.DropSubscriptions()
	for {
		msg := sub.Recv()
		if msg.SubscriptionDropped != nil {
			if status.Code(msg.SubscriptionDropped.Error) != codes.Unavailable {
				t.Errorf("drop error %v, want gRPC Unavailable", msg.SubscriptionDropped.Error)
			}
			break
		}
	}
}

func TestSubscriptionStartsAfterItsPosition(t *testing.T) {
	t.Parallel()
	c := newClient(t, esdbtest.Start(t).URL())
	ctx := testContext(t)
	stream := "account-" + uuid.NewString()
	in := []esdb.EventData{event("AccountCreated"), event("TokenIssued")}
	if _, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, in...); err != nil {
		t.Fatalf("append: %v", err)
	}
	first := read(t)(c.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 1))[0]

	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: first.Position})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	msg := sub.Recv()
	if msg.EventAppeared == nil || msg.EventAppeared.Event.EventID != in[1].EventID {
		t.Errorf("first delivery after %v = %+v, want %s", first.Position, msg, in[1].EventID)
	}
}

// Restart serves the same data on the same address; the connection
// strings of a cluster (gossip seeds, DNS discovery) reach it too.
func TestRestartKeepsDataAndAddress(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	ctx := testContext(t)
	stream := "variable-" + uuid.NewString()
	if _, err := newClient(t, srv.URL()).AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, event("VariableSet")); err != nil {
		t.Fatalf("append: %v", err)
	}
	srv.Restart()

	urls := []string{
		srv.URL(),
		"esdb://" + srv.Addr() + "," + srv.Addr() + "?tls=false",
		"esdb+discover://" + srv.Addr() + "?tls=false",
	}
	for _, url := range urls {
		got := read(t)(newClient(t, url).ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 10))
		if len(got) != 1 {
			t.Errorf("%s: read %d events after the restart, want 1", url, len(got))
		}
	}
}

// A hung server keeps the connection and answers nothing until it thaws;
// then the same connection works again.
func TestHangHoldsTraffic(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	c := newClient(t, srv.URL())
	if _, err := c.GetServerVersion(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	srv.Hang(true)

	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.AppendToStream(short, "run-"+uuid.NewString(), esdb.AppendToStreamOptions{}, event("RunRequested"))
	var e *esdb.Error
	if !errors.As(err, &e) || e.Code() != esdb.ErrorCodeDeadlineExceeded {
		t.Errorf("append to a hung server: %v, want deadline exceeded", err)
	}

	srv.Hang(false)
	_, err = c.AppendToStream(testContext(t), "run-"+uuid.NewString(), esdb.AppendToStreamOptions{}, event("RunRequested"))
	if err != nil {
		t.Errorf("append after the thaw: %v", err)
	}
}

func newClient(t *testing.T, url string) *esdb.Client {
	t.Helper()
	cfg, err := esdb.ParseConnectionString(url + "&maxDiscoverAttempts=2&gossipTimeout=2")
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func event(typ string) esdb.EventData {
	return esdb.EventData{
		EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson,
		Data: []byte(`{"n":1}`), Metadata: []byte(`{"actor":"account-1"}`),
	}
}

// read returns a function that drains what ReadStream or ReadAll returns.
func read(t *testing.T) func(*esdb.ReadStream, error) []*esdb.RecordedEvent {
	return func(rs *esdb.ReadStream, err error) []*esdb.RecordedEvent {
		t.Helper()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		defer rs.Close()
		var out []*esdb.RecordedEvent
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("recv: %v", err)
			}
			out = append(out, ev.Event)
		}
	}
}

func less(a, b esdb.Position) bool {
	if a.Commit != b.Commit {
		return a.Commit < b.Commit
	}
	return a.Prepare < b.Prepare
}

func revisions(evs []*esdb.RecordedEvent) []uint64 {
	var out []uint64
	for _, ev := range evs {
		out = append(out, ev.EventNumber)
	}
	return out
}

func types(evs []*esdb.RecordedEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.StreamID+"/"+ev.EventType)
	}
	return out
}
