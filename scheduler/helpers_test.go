package scheduler_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/scheduler"
	"github.com/cometa-es/cometa/scheduler/schedulertest"
)

// testContext bounds a test so that a hang fails it instead of the run.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newLog returns a command log on a fresh PostgreSQL event store.
func newLog(t *testing.T) *commands.Log {
	t.Helper()
	store, err := postgres.New(testContext(t), pgtest.NewPool(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	return commands.NewLog(store, reg)
}

// fakeClock is a Clock the test moves by hand (see schedulertest.Clock).
type fakeClock = schedulertest.Clock

func newFakeClock(now time.Time) *fakeClock { return schedulertest.NewClock(now) }

// runLedger is the RunRequester of these tests, standing in for the
// runner: it hands out run ids and keeps the request idempotent on its
// key, as the contract requires.
type runLedger struct {
	mu    sync.Mutex
	calls int
	runs  map[uuid.UUID]int64
	reqs  []scheduler.RunRequest
}

func newRunLedger() *runLedger { return &runLedger{runs: map[uuid.UUID]int64{}} }

func (l *runLedger) RequestRun(_ context.Context, req scheduler.RunRequest) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if id, ok := l.runs[req.Key]; ok {
		return id, nil
	}
	id := int64(len(l.runs) + 1)
	l.runs[req.Key] = id
	l.reqs = append(l.reqs, req)
	return id, nil
}

func (l *runLedger) counts() (calls, runs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls, len(l.runs)
}

func (l *runLedger) requests() []scheduler.RunRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]scheduler.RunRequest(nil), l.reqs...)
}

// outcomes collects the TickResults of the schedulers of a test.
type outcomes chan scheduler.TickResult

func (o outcomes) onTick(r scheduler.TickResult) { o <- r }

// next returns the next n outcomes.
func (o outcomes) next(t *testing.T, ctx context.Context, n int) []scheduler.TickResult {
	t.Helper()
	var out []scheduler.TickResult
	for len(out) < n {
		select {
		case r := <-o:
			out = append(out, r)
		case <-ctx.Done():
			t.Fatalf("waiting for %d tick outcomes, got %d: %v", n, len(out), out)
		}
	}
	return out
}

// warnings is a slog handler that keeps the records at Warn and above, so
// a test can assert that nothing went wrong quietly.
type warnings struct {
	mu      *sync.Mutex
	records *[]string
}

func newWarnings() warnings { return warnings{mu: &sync.Mutex{}, records: new([]string)} }

func (w warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	*w.records = append(*w.records, msg)
	return nil
}
func (w warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w warnings) WithGroup(string) slog.Handler      { return w }

func (w warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), *w.records...)
}

// start runs s until the test ends (or stop is called) and returns stop,
// which waits for Run to return.
func start(t *testing.T, s *scheduler.Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// tickEvents returns the types of the events of a tick stream, nil when it
// does not exist.
func tickEvents(t *testing.T, ctx context.Context, log *commands.Log, stream string) []string {
	t.Helper()
	events, exists, err := log.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if !exists {
		return nil
	}
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type)
	}
	return types
}

// countTypes counts the events of each type in the whole log.
func countTypes(t *testing.T, ctx context.Context, store eventstore.Store) map[string]int {
	t.Helper()
	counts := map[string]int{}
	var after eventstore.Position
	for {
		page, err := store.ReadAll(ctx, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return counts
		}
		for _, ev := range page {
			counts[ev.Type]++
			after = ev.Position
		}
	}
}

func (w warnings) logger() *slog.Logger { return slog.New(w) }

// waitVisible blocks until readers of the whole log (the LogSource) can
// see the event at pos: PostgreSQL readers stay behind transactions still
// running anywhere in the cluster, such as those of parallel tests.
func waitVisible(t *testing.T, ctx context.Context, store eventstore.Store, pos eventstore.Position) {
	t.Helper()
	sub, err := store.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("waiting for position %v: %v", pos, err)
		}
		if !ev.Position.Less(pos) {
			return
		}
	}
}

// lastPosition returns the position of the last event of stream.
func lastPosition(t *testing.T, ctx context.Context, store eventstore.Store, stream string) eventstore.Position {
	t.Helper()
	events, err := store.ReadStream(ctx, stream, eventstore.StreamQuery{Direction: eventstore.Backwards,
		From: eventstore.End, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return events[0].Position
}
