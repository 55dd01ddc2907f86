package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is one test's database, event store and registry.
type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store eventstore.Store
	reg   *eventschemas.Registry
	logs  *syncBuffer
	log   *slog.Logger
}

// syncBuffer collects the log lines of every Manager of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, pgtest.NewPool(t))
}

func newEnvOn(t *testing.T, pool *pgxpool.Pool) *env {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	store, err := postgres.New(testContext(t), pool, logger)
	if err != nil {
		t.Fatalf("postgres store: %v", err)
	}
	t.Cleanup(func() {
		_ = store.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return &env{t: t, pool: pool, store: store, reg: testRegistry(t), logs: logs, log: logger}
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fastOptions keep the retry and takeover delays of the tests short.
func fastOptions() Options {
	return Options{
		BatchSize: 100, RebuildPageSize: 250,
		RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		TakeoverInterval: 20 * time.Millisecond, PollInterval: 200 * time.Millisecond,
	}
}

func (e *env) manager(opts Options, models ...ReadModel) *Manager {
	e.t.Helper()
	m, err := New(e.pool, e.store, e.reg, e.log, opts, models...)
	if err != nil {
		e.t.Fatalf("new manager: %v", err)
	}
	return m
}

// running is a Manager's Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// run starts m.Run; stop (or the test's cleanup) ends it.
func (e *env) run(m *Manager) *running {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

// stillRunning fails the test if Run has returned.
func (r *running) stillRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		t.Fatalf("Run returned early: %v", err)
	default:
	}
}

// appendEvent encodes payload and appends it to stream, at occurred.
func (e *env) appendEvent(stream string, occurred time.Time, payload eventschemas.Payload) eventstore.AppendResult {
	e.t.Helper()
	typ, version, data, err := e.reg.Encode(payload)
	if err != nil {
		e.t.Fatalf("encode: %v", err)
	}
	return e.appendRaw(stream, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: version,
		Data: data, OccurredAt: occurred, Actor: "account-1", CorrelationID: uuid.NewString()})
}

func (e *env) appendRaw(stream string, evs ...eventstore.EventData) eventstore.AppendResult {
	e.t.Helper()
	res, err := e.store.Append(testContext(e.t), stream, eventstore.Any(), evs...)
	if err != nil {
		e.t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

// workload appends n events over streams streams: CounterBumped to
// "counter-<i>" and NoteAdded to "note-<i>", in batches of up to 10 events
// per append. It returns what the counters model must show per stream.
func (e *env) workload(n, streams int, seed int) (want map[string]int64, last eventstore.Position) {
	e.t.Helper()
	want = make(map[string]int64)
	base := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; {
		s := (i*7 + seed) % streams
		batch := min(1+(i+seed)%10, n-i)
		var evs []eventstore.EventData
		stream := fmt.Sprintf("counter-%d", s)
		notes := s%3 == 0
		if notes {
			stream = fmt.Sprintf("note-%d", s)
		}
		for j := range batch {
			var p eventschemas.Payload = counterBumped{Key: fmt.Sprintf("k%d", s%5), By: 1 + (i+j)%4}
			if notes {
				p = noteAdded{Key: fmt.Sprintf("k%d", s%5), Body: fmt.Sprintf("note %d", i+j)}
			} else {
				want[stream] += int64(1 + (i+j)%4)
			}
			typ, version, data, err := e.reg.Encode(p)
			if err != nil {
				e.t.Fatalf("encode: %v", err)
			}
			evs = append(evs, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: version,
				Data: data, OccurredAt: base.Add(time.Duration(i+j) * time.Second), Actor: "account-1",
				CorrelationID: uuid.NewString()})
		}
		last = e.appendRaw(stream, evs...).Position
		i += batch
	}
	return want, last
}

// waitFor waits (bounded) until the named models reach pos.
func waitFor(t *testing.T, m *Manager, pos eventstore.Position, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.WaitFor(ctx, pos, names...); err != nil {
		t.Fatalf("WaitFor(%v, %v): %v", pos, names, err)
	}
}

// waitUntil re-evaluates cond on every checkpoint change this process hears
// of (the Manager must be running its listener) and at each poll, until it
// holds or the test's minute is up.
func waitUntil(t *testing.T, m *Manager, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	poll := time.NewTicker(m.opts.PollInterval)
	defer poll.Stop()
	for {
		_, _, wake, _ := m.board.check(nil, eventstore.Position{})
		if cond() {
			return
		}
		select {
		case <-wake:
		case <-poll.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// counters reads the counters model's totals per stream.
func (e *env) counters(schema string) map[string]int64 {
	e.t.Helper()
	rows, err := e.pool.Query(testContext(e.t), "SELECT stream, total FROM "+schema+".counters")
	if err != nil {
		e.t.Fatalf("read counters: %v", err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			e.t.Fatalf("read counters: %v", err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read counters: %v", err)
	}
	return out
}

// seenTwice returns how many events the seen model holds, and how many of
// them were applied more than once.
func (e *env) seenCounts() (events, twice int64) {
	e.t.Helper()
	err := e.pool.QueryRow(testContext(e.t),
		"SELECT count(*), count(*) FILTER (WHERE times <> 1) FROM rm_seen.seen").Scan(&events, &twice)
	if err != nil {
		e.t.Fatalf("read seen: %v", err)
	}
	return events, twice
}

func (e *env) countAll() int64 {
	e.t.Helper()
	var n int64
	var after eventstore.Position
	for {
		page, err := e.store.ReadAll(testContext(e.t), after, 1000)
		if err != nil {
			e.t.Fatalf("read all: %v", err)
		}
		if len(page) == 0 {
			return n
		}
		n += int64(len(page))
		after = page[len(page)-1].Position
	}
}

func equalCounts(a, b map[string]int64) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d streams, want %d", len(a), len(b))
	}
	var errs []error
	for k, v := range b {
		if a[k] != v {
			errs = append(errs, fmt.Errorf("%s = %d, want %d", k, a[k], v))
		}
	}
	return errors.Join(errs...)
}
