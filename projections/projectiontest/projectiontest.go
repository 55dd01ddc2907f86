// Package projectiontest is the harness for tests of read models: a fresh
// database with the PostgreSQL event store, a projections.Manager running
// the models under test, helpers to append events and wait until they are
// projected, and a check that a rebuild gives the same tables.
//
// The test package's TestMain must call pgtest.Main:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestFeatures(t *testing.T) {
//		h := projectiontest.New(t, registry, projections.NewFeatures())
//		h.Append("feature-12", eventschemas.FeatureCreated{...})
//		h.Sync()
//		// query rm_features.* through h.Pool
//		h.CheckRebuild()
//	}
package projectiontest

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
)

// Harness is one test's database, store and running Manager.
type Harness struct {
	t testing.TB
	// Pool is connected to the test's database; read models are in
	// rm_<name>.
	Pool    *pgxpool.Pool
	Store   eventstore.Store
	Manager *projections.Manager
	reg     *eventschemas.Registry
	// Clock is the OccurredAt of the next appended event; each append
	// advances it by a second, so that tests are deterministic.
	Clock time.Time
	last  eventstore.Position
}

// New starts the models on a fresh database. The Manager runs until the
// test's cleanup.
func New(t testing.TB, reg *eventschemas.Registry, models ...projections.ReadModel) *Harness {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := postgres.New(ctx, pool, logger)
	if err != nil {
		t.Fatalf("projectiontest: store: %v", err)
	}
	opts := projections.Options{RetryMin: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		TakeoverInterval: 20 * time.Millisecond}
	m, err := projections.New(pool, store, reg, logger, opts, models...)
	if err != nil {
		t.Fatalf("projectiontest: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projectiontest: Run: %v", err)
		}
		_ = store.Close()
	})
	return &Harness{t: t, Pool: pool, Store: store, Manager: m, reg: reg,
		Clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Append encodes payloads through the registry and appends them to stream
// as one batch, whatever the stream's revision. It returns the position of
// the last event.
func (h *Harness) Append(stream string, payloads ...eventschemas.Payload) eventstore.Position {
	h.t.Helper()
	events := make([]eventstore.EventData, 0, len(payloads))
	for _, p := range payloads {
		typ, version, data, err := h.reg.Encode(p)
		if err != nil {
			h.t.Fatalf("projectiontest: %v", err)
		}
		events = append(events, eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: version,
			Data: data, OccurredAt: h.Clock, Actor: "account-1", CorrelationID: uuid.NewString()})
		h.Clock = h.Clock.Add(time.Second)
	}
	return h.AppendRaw(stream, events...)
}

// AppendRaw appends events as given, e.g. a malformed payload that the
// registry would refuse to encode.
func (h *Harness) AppendRaw(stream string, events ...eventstore.EventData) eventstore.Position {
	h.t.Helper()
	res, err := h.Store.Append(context.Background(), stream, eventstore.Any(), events...)
	if err != nil {
		h.t.Fatalf("projectiontest: append to %s: %v", stream, err)
	}
	h.last = res.Position
	return res.Position
}

// Sync waits (at most a minute) until every model has projected the last
// appended event. A model failing on the way fails the test.
func (h *Harness) Sync() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Manager.WaitFor(ctx, h.last); err != nil {
		h.t.Fatalf("projectiontest: sync: %v", err)
	}
}

// CheckRebuild syncs, then rebuilds every model from the log and fails the
// test unless each rebuilt model has the checksum of its incrementally
// built tables.
func (h *Harness) CheckRebuild() {
	h.t.Helper()
	h.Sync()
	ctx := context.Background()
	before := make(map[string]string)
	for _, name := range h.Manager.Names() {
		sum, err := h.Manager.Checksum(ctx, name)
		if err != nil {
			h.t.Fatalf("projectiontest: %v", err)
		}
		before[name] = sum
	}
	// A model built at start-up has its checkpoint (what Sync waits for)
	// a moment before that build lets go of its rebuild lock, so a busy
	// lock is waited out briefly.
	var results []projections.RebuildResult
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		results, err = h.Manager.Rebuild(ctx, nil)
		if !errors.Is(err, projections.ErrBusy) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatalf("projectiontest: rebuild: %v", err)
	}
	for _, res := range results {
		if res.Checksum != before[res.Name] {
			h.t.Errorf("projectiontest: read model %q: rebuild gives checksum %s, the incremental build %s",
				res.Name, res.Checksum, before[res.Name])
		}
	}
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
