package postgres

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/pgtest"
)

// TestRetryEdgeCases: a retried batch is acknowledged only when its ids are
// the stream's events, in order, at the place the retry expects; any other
// reuse of stored ids is refused and writes nothing.
func TestRetryEdgeCases(t *testing.T) {
	t.Parallel()
	s := newStore(t, pgtest.NewPool(t))
	a, b, c, d, x := event("A"), event("B"), event("C"), event("D"), event("X")

	type step struct {
		stream   string
		expected eventstore.ExpectedRevision
		events   []eventstore.EventData
	}
	cases := []struct {
		name    string
		history []step // appended first, each must succeed
		retry   step
		// wantRetryOf is the history step whose result the retry must
		// return; -1 when the retry must fail.
		wantRetryOf int
		wantErr     error  // when it fails: the category
		wantMsg     string // and a part of the message
	}{
		{
			name:        "any twice",
			history:     []step{{"s", eventstore.Any(), batchOf(a, b)}},
			retry:       step{"s", eventstore.Any(), batchOf(a, b)},
			wantRetryOf: 0,
		},
		{
			name: "exact after the stream moved on",
			history: []step{
				{"s", eventstore.NoStream(), batchOf(c)},
				{"s", eventstore.Exact(0), batchOf(a, b)},
				{"s", eventstore.Any(), batchOf(d)},
			},
			retry:       step{"s", eventstore.Exact(0), batchOf(a, b)},
			wantRetryOf: 1,
		},
		{
			name: "stream exists after the stream moved on",
			history: []step{
				{"s", eventstore.NoStream(), batchOf(c)},
				{"s", eventstore.StreamExists(), batchOf(a)},
				{"s", eventstore.Any(), batchOf(d)},
			},
			retry:       step{"s", eventstore.StreamExists(), batchOf(a)},
			wantRetryOf: 1,
		},
		{
			name:        "ids stored in another stream",
			history:     []step{{"other", eventstore.NoStream(), batchOf(a)}},
			retry:       step{"s", eventstore.NoStream(), batchOf(a)},
			wantRetryOf: -1, wantErr: eventstore.ErrInvalid, wantMsg: `-other" at revision 0`,
		},
		{
			name:        "ids stored in another stream, wrong expectation too",
			history:     []step{{"other", eventstore.NoStream(), batchOf(a)}, {"s", eventstore.NoStream(), batchOf(c)}},
			retry:       step{"s", eventstore.Exact(5), batchOf(a)},
			wantRetryOf: -1, wantErr: eventstore.ErrInvalid, wantMsg: `-other" at revision 0`,
		},
		{
			name:        "same ids at another place of the stream",
			history:     []step{{"s", eventstore.NoStream(), batchOf(a, b)}},
			retry:       step{"s", eventstore.Exact(1), batchOf(a, b)},
			wantRetryOf: -1, wantErr: eventstore.ErrInvalid, wantMsg: "already stored at revision 0",
		},
		{
			name:        "part of the batch stored, expectation still met",
			history:     []step{{"s", eventstore.NoStream(), batchOf(a)}},
			retry:       step{"s", eventstore.Any(), batchOf(a, x)},
			wantRetryOf: -1, wantErr: eventstore.ErrInvalid, wantMsg: "already stored at revision 0",
		},
		{
			name:        "part of the batch stored, stream moved",
			history:     []step{{"s", eventstore.NoStream(), batchOf(a, b)}},
			retry:       step{"s", eventstore.NoStream(), batchOf(a, x)},
			wantRetryOf: -1, wantErr: eventstore.ErrConflict,
		},
		{
			name:        "reordered batch",
			history:     []step{{"s", eventstore.NoStream(), batchOf(a, b)}},
			retry:       step{"s", eventstore.NoStream(), batchOf(b, a)},
			wantRetryOf: -1, wantErr: eventstore.ErrConflict,
		},
		{
			name:        "stored at another place, stream moved",
			history:     []step{{"s", eventstore.NoStream(), batchOf(c)}, {"s", eventstore.Exact(0), batchOf(a, b)}},
			retry:       step{"s", eventstore.Exact(5), batchOf(a, b)},
			wantRetryOf: -1, wantErr: eventstore.ErrConflict,
		},
		{
			name:        "one id twice in a batch",
			retry:       step{"s", eventstore.NoStream(), batchOf(x, x)},
			wantRetryOf: -1, wantErr: eventstore.ErrInvalid, wantMsg: "share the id",
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			// Fresh ids and streams per case, the same shape.
			rename := renamer(i)
			var results []eventstore.AppendResult
			for _, st := range tc.history {
				res, err := s.Append(ctx, rename.stream(st.stream), st.expected, rename.events(st.events)...)
				if err != nil {
					t.Fatalf("history append to %s: %v", st.stream, err)
				}
				results = append(results, res)
			}
			stream := rename.stream(tc.retry.stream)
			before := streamLength(t, s, stream)

			res, err := s.Append(ctx, stream, tc.retry.expected, rename.events(tc.retry.events)...)
			if tc.wantRetryOf >= 0 {
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if res != results[tc.wantRetryOf] {
					t.Errorf("retry result %+v, want the original %+v", res, results[tc.wantRetryOf])
				}
			} else {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("retry: %v, want %v containing %q", err, tc.wantErr, tc.wantMsg)
				}
			}
			if after := streamLength(t, s, stream); after != before {
				t.Errorf("stream grew from %d to %d events", before, after)
			}
		})
	}
}

// renamer gives each case its own event ids and stream names.
type renamer int

func (r renamer) stream(name string) string {
	return fmt.Sprintf("case%d-%s", r, name)
}

func (r renamer) events(in []eventstore.EventData) []eventstore.EventData {
	out := make([]eventstore.EventData, len(in))
	for i, ev := range in {
		ev.ID[0] ^= byte(r) + 1
		out[i] = ev
	}
	return out
}

func batchOf(events ...eventstore.EventData) []eventstore.EventData { return events }

func streamLength(t *testing.T, s *Store, stream string) int {
	t.Helper()
	events, err := s.ReadStream(testContext(t), stream, eventstore.StreamQuery{})
	if errors.Is(err, eventstore.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	return len(events)
}

// TestConcurrentCreation races NoStream appends to one new stream: exactly
// one wins, the others get a conflict that names revision 0.
func TestConcurrentCreation(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newStore(t, pgtest.NewPool(t))
	const racers = 12
	var (
		wg   sync.WaitGroup
		errs = make([]error, racers)
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Append(ctx, "schedule-9-tick", eventstore.NoStream(), event("ScheduleTickFired"))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var conflict *eventstore.ConflictError
		switch {
		case err == nil:
			won++
		case errors.As(err, &conflict) && conflict.Actual == 0:
		default:
			t.Errorf("racer: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d racers created the stream, want 1", won)
	}
}

func TestMigrationsRunOnce(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pool := pgtest.NewPool(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s *Store
			if s, errs[i] = New(ctx, pool, nil); s != nil {
				_ = s.Close()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent New: %v", err)
		}
	}
	var applied int
	err := pool.QueryRow(ctx, "SELECT count(*) FROM "+versionTable+" WHERE version_id > 0").
		Scan(&applied)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("%d migrations recorded, want %d (one per file, once)", applied, len(files))
	}
	// A second store on a migrated database works as well.
	s := newStore(t, pool)
	if _, err := s.Append(ctx, "feature-1", eventstore.NoStream(), event("FeatureCreated")); err != nil {
		t.Errorf("append: %v", err)
	}
}

func TestReadArguments(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s := newStore(t, pgtest.NewPool(t))
	if _, err := s.ReadAll(ctx, eventstore.Position{}, 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadAll with limit 0: %v, want ErrInvalid", err)
	}
	_, err := s.ReadStream(ctx, "x", eventstore.StreamQuery{Count: -1})
	if !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadStream with count -1: %v, want ErrInvalid", err)
	}
	_, err = s.Append(ctx, "x", eventstore.Exact(^uint64(0)), event("A"))
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("append expecting revision 2^64-1: %v, want a conflict", err)
	}
}
