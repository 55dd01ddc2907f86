// Package storetest is the contract every eventstore.Store implementation
// must pass. The PostgreSQL store, the EventStoreDB adapter against the
// in-repo test server, and the adapter against a real server (when one is
// configured) all run Run.
//
// The suite never assumes an empty store: each test writes to streams with a
// fresh unique name and reads the global log only after the head it saw when
// it started, so it can run against a shared real server.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventstore"
)

// Open returns a store for one test. The suite closes it.
type Open func(t *testing.T) eventstore.Store

// Run runs the whole contract against the stores that open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, eventstore.Store)
	}{
		{"AppendAndReadBack", testAppendAndReadBack},
		{"ExpectedRevisions", testExpectedRevisions},
		{"ConflictWritesNothing", testConflictWritesNothing},
		{"IdempotentRetry", testIdempotentRetry},
		{"ReadStreamWindows", testReadStreamWindows},
		{"ReadStreamNotFound", testReadStreamNotFound},
		{"ReadAllInOrder", testReadAllInOrder},
		{"ConcurrentExactAppends", testConcurrentExactAppends},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpThenLive},
		{"SubscribeEndsWithContext", testSubscribeEndsWithContext},
		{"InvalidAppends", testInvalidAppends},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

func testAppendAndReadBack(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("feature")
	at := time.Date(2026, 12, 3, 10, 11, 12, 345678000, time.UTC)
	in := []eventstore.EventData{
		{
			ID: uuid.New(), Type: "FeatureCreated", SchemaVersion: 1,
			Data: []byte(`{"feature_id":12,"feature_name":"Grüße ✓"}`), OccurredAt: at,
			Actor: "account-3", CorrelationID: uuid.NewString(), CausationID: uuid.NewString(),
		},
		{
			ID: uuid.New(), Type: "FeatureSaved", SchemaVersion: 2,
			Data: []byte(`{"version":1}`), OccurredAt: at.Add(time.Second),
			Actor: "service:runner", CorrelationID: "corr-1",
		},
	}

	res, err := s.Append(ctx, stream, eventstore.NoStream(), in...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if res.NextRevision != 1 {
		t.Errorf("NextRevision = %d, want 1", res.NextRevision)
	}

	got, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d events, want 2", len(got))
	}
	for i, ev := range got {
		want := in[i]
		if ev.Stream != stream || ev.Revision != uint64(i) {
			t.Errorf("event %d at %s@%d, want %s@%d", i, ev.Stream, ev.Revision, stream, i)
		}
		if ev.ID != want.ID || ev.Type != want.Type || ev.SchemaVersion != want.SchemaVersion {
			t.Errorf("event %d = %s %s v%d, want %s %s v%d", i,
				ev.ID, ev.Type, ev.SchemaVersion, want.ID, want.Type, want.SchemaVersion)
		}
		if !jsonEqual(ev.Data, want.Data) {
			t.Errorf("event %d data = %s, want %s", i, ev.Data, want.Data)
		}
		if ev.Actor != want.Actor || ev.CorrelationID != want.CorrelationID ||
			ev.CausationID != want.CausationID {
			t.Errorf("event %d envelope = %q %q %q, want %q %q %q", i,
				ev.Actor, ev.CorrelationID, ev.CausationID,
				want.Actor, want.CorrelationID, want.CausationID)
		}
		if d := ev.OccurredAt.Sub(want.OccurredAt); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("event %d OccurredAt = %v, want %v", i, ev.OccurredAt, want.OccurredAt)
		}
		if ev.Position.IsZero() {
			t.Errorf("event %d has the zero position", i)
		}
	}
	if !got[0].Position.Less(got[1].Position) {
		t.Errorf("positions %v, %v are not increasing", got[0].Position, got[1].Position)
	}
	if res.Position != got[1].Position {
		t.Errorf("append result position %v, last event at %v", res.Position, got[1].Position)
	}
}

func testExpectedRevisions(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("run")

	steps := []struct {
		expected eventstore.ExpectedRevision
		ok       bool
		actual   int64
	}{
		{eventstore.StreamExists(), false, -1},
		{eventstore.Exact(0), false, -1},
		{eventstore.NoStream(), true, 0},
		{eventstore.NoStream(), false, 0},
		{eventstore.Exact(1), false, 0},
		{eventstore.Exact(0), true, 1},
		{eventstore.StreamExists(), true, 2},
		{eventstore.Any(), true, 3},
		{eventstore.Exact(2), false, 3},
		{eventstore.Exact(3), true, 4},
	}
	for i, st := range steps {
		_, err := s.Append(ctx, stream, st.expected, newEvent("StepRecorded"))
		if st.ok {
			if err != nil {
				t.Fatalf("step %d: append expecting %s: %v", i, st.expected, err)
			}
			continue
		}
		var conflict *eventstore.ConflictError
		if !errors.As(err, &conflict) || !errors.Is(err, eventstore.ErrConflict) {
			t.Fatalf("step %d: append expecting %s: got %v, want a conflict", i, st.expected, err)
		}
		if conflict.Actual != st.actual || conflict.Stream != stream || conflict.Expected != st.expected {
			t.Errorf("step %d: conflict on %q expected %s actual %d, want %q expected %s actual %d",
				i, conflict.Stream, conflict.Expected, conflict.Actual, stream, st.expected, st.actual)
		}
	}

	got, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != 5 {
		t.Errorf("stream holds %d events, want 5", len(got))
	}
}

func testConflictWritesNothing(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("folder")
	if _, err := s.Append(ctx, stream, eventstore.NoStream(), newEvent("FolderCreated")); err != nil {
		t.Fatalf("append: %v", err)
	}
	head := headOf(t, s)

	_, err := s.Append(ctx, stream, eventstore.Exact(7),
		newEvent("FolderRenamed"), newEvent("FolderMoved"), newEvent("FolderRenamed"))
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("append with a wrong revision: %v, want a conflict", err)
	}

	got, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != 1 {
		t.Errorf("stream holds %d events after a refused batch, want 1", len(got))
	}
	if after := readAllStreams(t, s, head, stream); len(after) != 0 {
		t.Errorf("the log gained %d events of the stream after a refused batch", len(after))
	}
}

func testIdempotentRetry(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("account")
	batch := []eventstore.EventData{newEvent("AccountCreated"), newEvent("TokenIssued")}

	first, err := s.Append(ctx, stream, eventstore.NoStream(), batch...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	again, err := s.Append(ctx, stream, eventstore.NoStream(), batch...)
	if err != nil {
		t.Fatalf("retried append with the same event ids: %v", err)
	}
	if again.NextRevision != first.NextRevision {
		t.Errorf("retry NextRevision = %d, want %d", again.NextRevision, first.NextRevision)
	}

	next := newEvent("AccountRenamed")
	if _, err := s.Append(ctx, stream, eventstore.Exact(1), next); err != nil {
		t.Fatalf("append at revision 1: %v", err)
	}
	if _, err := s.Append(ctx, stream, eventstore.Exact(1), next); err != nil {
		t.Fatalf("retried exact append: %v", err)
	}

	got, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != 3 {
		t.Errorf("stream holds %d events after retries, want 3", len(got))
	}
}

func testReadStreamWindows(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("department")
	var batch []eventstore.EventData
	for range 10 {
		batch = append(batch, newEvent("DepartmentRenamed"))
	}
	if _, err := s.Append(ctx, stream, eventstore.NoStream(), batch...); err != nil {
		t.Fatalf("append: %v", err)
	}

	cases := []struct {
		q    eventstore.StreamQuery
		want []uint64
	}{
		{eventstore.StreamQuery{From: 3, Count: 4}, []uint64{3, 4, 5, 6}},
		{eventstore.StreamQuery{From: 8}, []uint64{8, 9}},
		{eventstore.StreamQuery{From: 10}, nil},
		{eventstore.StreamQuery{Direction: eventstore.Backwards, From: eventstore.End, Count: 1}, []uint64{9}},
		{eventstore.StreamQuery{Direction: eventstore.Backwards, From: 5, Count: 3}, []uint64{5, 4, 3}},
		{eventstore.StreamQuery{Direction: eventstore.Backwards, From: 1}, []uint64{1, 0}},
	}
	for _, tc := range cases {
		got, err := s.ReadStream(ctx, stream, tc.q)
		if err != nil {
			t.Fatalf("read %+v: %v", tc.q, err)
		}
		var revs []uint64
		for _, ev := range got {
			revs = append(revs, ev.Revision)
		}
		if fmt.Sprint(revs) != fmt.Sprint(tc.want) {
			t.Errorf("read %+v = %v, want %v", tc.q, revs, tc.want)
		}
	}
}

func testReadStreamNotFound(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	_, err := s.ReadStream(ctx, streamName("nothing"), eventstore.StreamQuery{})
	if !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("read of a missing stream: %v, want ErrNotFound", err)
	}
	_, err = s.ReadStream(ctx, streamName("nothing"),
		eventstore.StreamQuery{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("backwards read of a missing stream: %v, want ErrNotFound", err)
	}
}

func testReadAllInOrder(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	head := headOf(t, s)
	a, b := streamName("feature"), streamName("run")
	for i := range 5 {
		for _, stream := range []string{a, b} {
			if _, err := s.Append(ctx, stream, eventstore.Any(), newEvent(fmt.Sprint("E", i))); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
	}

	got := readAllStreams(t, s, head, a, b)
	if len(got) != 10 {
		t.Fatalf("ReadAll returned %d of our events, want 10", len(got))
	}
	for i, ev := range got {
		wantStream := []string{a, b}[i%2]
		if ev.Stream != wantStream || ev.Type != fmt.Sprint("E", i/2) {
			t.Errorf("event %d = %s %s, want %s E%d", i, ev.Stream, ev.Type, wantStream, i/2)
		}
		if i > 0 && !got[i-1].Position.Less(ev.Position) {
			t.Errorf("event %d position %v is not after %v", i, ev.Position, got[i-1].Position)
		}
	}

	newHead, at, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if newHead.Less(got[9].Position) || at.IsZero() {
		t.Errorf("head %v at %v is before our last event %v", newHead, at, got[9].Position)
	}
}

// testConcurrentExactAppends races 16 writers, each appending with the exact
// revision it last read. Every revision must have exactly one winner.
func testConcurrentExactAppends(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("feature")
	if _, err := s.Append(ctx, stream, eventstore.NoStream(), newEvent("FeatureCreated")); err != nil {
		t.Fatalf("append: %v", err)
	}

	const writers, perWriter = 16, 10
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners = map[uint64]uuid.UUID{}
		errs    []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for won := 0; won < perWriter; {
				last, err := s.ReadStream(ctx, stream,
					eventstore.StreamQuery{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("writer %d: read: %w", w, err))
					mu.Unlock()
					return
				}
				ev := newEvent("FeatureSaved")
				res, err := s.Append(ctx, stream, eventstore.Exact(last[0].Revision), ev)
				if errors.Is(err, eventstore.ErrConflict) {
					continue
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("writer %d: append: %w", w, err))
					mu.Unlock()
					return
				}
				if prev, dup := winners[res.NextRevision]; dup {
					errs = append(errs, fmt.Errorf("revision %d won by %s and %s", res.NextRevision, prev, ev.ID))
				}
				winners[res.NextRevision] = ev.ID
				mu.Unlock()
				won++
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}

	got, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{})
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(got) != 1+writers*perWriter {
		t.Fatalf("stream holds %d events, want %d", len(got), 1+writers*perWriter)
	}
	seen := map[uuid.UUID]bool{}
	for i, ev := range got {
		if ev.Revision != uint64(i) {
			t.Errorf("event %d has revision %d: a gap", i, ev.Revision)
		}
		if seen[ev.ID] {
			t.Errorf("event %s stored twice", ev.ID)
		}
		seen[ev.ID] = true
		if i > 0 && winners[ev.Revision] != ev.ID {
			t.Errorf("revision %d holds %s, the writer was told %s", i, ev.ID, winners[ev.Revision])
		}
	}
}

func testSubscribeCatchUpThenLive(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	head := headOf(t, s)
	stream := streamName("run")
	var events []eventstore.EventData
	for range 6 {
		events = append(events, newEvent("StepRecorded"))
	}
	for _, ev := range events[:3] {
		if _, err := s.Append(ctx, stream, eventstore.Any(), ev); err != nil {
			t.Fatalf("append: %v", err)
		}
	}

	sub, err := s.SubscribeAll(ctx, head)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()

	// Appended after the subscription started: these arrive live.
	live := make(chan error, 1)
	go func() {
		for _, ev := range events[3:] {
			if _, err := s.Append(ctx, stream, eventstore.Any(), ev); err != nil {
				live <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		live <- nil
	}()

	var got []eventstore.Event
	for len(got) < len(events) {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("recv after %d events: %v", len(got), err)
		}
		if ev.Stream == stream {
			got = append(got, ev)
		}
	}
	if err := <-live; err != nil {
		t.Fatalf("live append: %v", err)
	}
	for i, ev := range got {
		if ev.ID != events[i].ID || ev.Revision != uint64(i) {
			t.Errorf("delivery %d = %s@%d, want %s@%d", i, ev.ID, ev.Revision, events[i].ID, i)
		}
		if i > 0 && !got[i-1].Position.Less(ev.Position) {
			t.Errorf("delivery %d position %v is not after %v", i, ev.Position, got[i-1].Position)
		}
	}
}

func testSubscribeEndsWithContext(t *testing.T, s eventstore.Store) {
	ctx, cancel := context.WithCancel(testContext(t))
	sub, err := s.SubscribeAll(ctx, headOf(t, s))
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()

	done := make(chan error, 1)
	go func() {
		_, err := sub.Recv()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Recv after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv still blocked 5 s after its context was canceled")
	}
}

func testInvalidAppends(t *testing.T, s eventstore.Store) {
	ctx := testContext(t)
	stream := streamName("variable")
	cases := map[string]struct {
		stream string
		events []eventstore.EventData
	}{
		"no events":   {stream, nil},
		"no stream":   {"", []eventstore.EventData{newEvent("VariableSet")}},
		"nil id":      {stream, []eventstore.EventData{{Type: "VariableSet", SchemaVersion: 1, Data: []byte(`{}`)}}},
		"no type":     {stream, []eventstore.EventData{{ID: uuid.New(), SchemaVersion: 1, Data: []byte(`{}`)}}},
		"bad json":    {stream, []eventstore.EventData{{ID: uuid.New(), Type: "VariableSet", SchemaVersion: 1, Data: []byte(`{`)}}},
		"no version":  {stream, []eventstore.EventData{{ID: uuid.New(), Type: "VariableSet", Data: []byte(`{}`)}}},
		"system name": {"$" + stream, []eventstore.EventData{newEvent("VariableSet")}},
	}
	for name, tc := range cases {
		_, err := s.Append(ctx, tc.stream, eventstore.Any(), tc.events...)
		if !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: append = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{}); !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("after invalid appends the stream exists (%v)", err)
	}
}
