package projections

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cometa-es/cometa/eventstore"
)

// gateModel sums CounterBumped per key but refuses the events of key
// "gate" while its gate is closed. Once open it could apply such an event,
// which a skip must keep it from doing for the Version that skipped.
type gateModel struct {
	version int
	open    *atomic.Bool
}

func (m gateModel) Name() string { return "gated" }

func (m gateModel) Version() int { return max(1, m.version) }

func (m gateModel) DDL() string {
	return `CREATE TABLE totals (key text PRIMARY KEY, total bigint NOT NULL)`
}

func (m gateModel) EventTypes() []string { return []string{typeCounterBumped} }

func (m gateModel) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	p := ev.Payload.(*counterBumped)
	if p.Key == "gate" && !m.open.Load() {
		return errors.New("gate closed")
	}
	_, err := tx.Exec(ctx, `INSERT INTO totals VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET total = totals.total + excluded.total`, p.Key, p.By)
	return err
}

// skipRecord is what a dead letter holds of a skip.
type skipRecord struct {
	requestedBy            *string
	requestedAt, skippedAt *time.Time
	skippedVersion         *int
	resolved               bool
	attempts               int64
}

func (e *env) skipRecord(name string, eventID uuid.UUID) skipRecord {
	e.t.Helper()
	var r skipRecord
	err := e.pool.QueryRow(testContext(e.t), `SELECT skip_requested_by, skip_requested_at,
			skipped_at, skipped_version, resolved_at IS NOT NULL, attempts
		FROM projections.dead_letters WHERE name = $1 AND event_id = $2`, name, eventID).
		Scan(&r.requestedBy, &r.requestedAt, &r.skippedAt, &r.skippedVersion, &r.resolved, &r.attempts)
	if err != nil {
		e.t.Fatalf("read dead letter of %s %s: %v", name, eventID, err)
	}
	return r
}

// totals reads the gated model's sums per key.
func (e *env) totals() map[string]int64 {
	e.t.Helper()
	rows, err := e.pool.Query(testContext(e.t), "SELECT key, total FROM rm_gated.totals")
	if err != nil {
		e.t.Fatalf("read totals: %v", err)
	}
	out := make(map[string]int64)
	var key string
	var total int64
	if _, err := pgx.ForEachRow(rows, []any{&key, &total}, func() error {
		out[key] = total
		return nil
	}); err != nil {
		e.t.Fatalf("read totals: %v", err)
	}
	return out
}

// bump appends a CounterBumped of key by n to stream and returns its id
// and position.
func (e *env) bump(stream, key string, n int) (uuid.UUID, eventstore.Position) {
	e.t.Helper()
	typ, version, data, err := e.reg.Encode(counterBumped{Key: key, By: n})
	if err != nil {
		e.t.Fatalf("encode: %v", err)
	}
	id := uuid.New()
	res := e.appendRaw(stream, eventstore.EventData{ID: id, Type: typ, SchemaVersion: version,
		Data: data, OccurredAt: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), Actor: "account-1"})
	return id, res.Position
}

// failingAt waits until name is failing at the event id.
func failingAt(t *testing.T, m *Manager, name string, id uuid.UUID) {
	t.Helper()
	waitUntil(t, m, name+" failing at "+id.String(), func() bool {
		st := statusOf(t, m, name)
		return st.State == StateFailing && st.Failure != nil && st.Failure.EventID == id
	})
}

// pastAt waits until name has reached pos and is not failing.
func pastAt(t *testing.T, m *Manager, name string, pos eventstore.Position) {
	t.Helper()
	waitUntil(t, m, name+" at "+pos.String(), func() bool {
		st := statusOf(t, m, name)
		return st.State != StateFailing && atOrAfter(st.Checkpoint, pos)
	})
}

func TestSkipMovesAFailingModelPastTheEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gate := &atomic.Bool{}
	m := e.manager(fastOptions(), gateModel{open: gate})
	r := e.run(m)
	e.bump("counter-1", "k1", 1)
	gated, _ := e.bump("counter-2", "gate", 10)
	e.bump("counter-1", "k1", 2)
	_, last := e.bump("counter-3", "k2", 3)
	failingAt(t, m, "gated", gated)

	// Another process asks, as the CLI does against a running server.
	other := e.manager(fastOptions(), gateModel{open: gate})
	if err := other.RequestSkip(testContext(t), "gated", gated, "ops@example.test"); err != nil {
		t.Fatalf("request skip: %v", err)
	}
	pastAt(t, m, "gated", last)
	waitFor(t, m, last, "gated")
	want := map[string]int64{"k1": 3, "k2": 3}
	if err := equalCounts(e.totals(), want); err != nil {
		t.Errorf("totals after the skip: %v", err)
	}
	if st := statusOf(t, m, "gated"); st.Failure != nil || len(st.PendingSkips) != 0 {
		t.Errorf("status after the skip: failure %+v, pending %+v; want neither", st.Failure, st.PendingSkips)
	}
	rec := e.skipRecord("gated", gated)
	if !rec.resolved || rec.skippedAt == nil || rec.skippedVersion == nil || *rec.skippedVersion != 1 ||
		rec.requestedBy == nil || *rec.requestedBy != "ops@example.test" || rec.requestedAt == nil {
		t.Errorf("dead letter %+v, want resolved, skipped by version 1 at the request of ops@example.test", rec)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `msg="event skipped by operator" read_model=gated stream=counter-2 revision=0 event_id=`+
		gated.String()) {
		t.Errorf("no log line of the skip:\n%s", logs)
	}
	r.stillRunning(t)

	// The event could be applied now, but a rebuild of the Version that
	// skipped it passes over it.
	gate.Store(true)
	sum, err := m.Checksum(testContext(t), "gated")
	if err != nil {
		t.Fatalf("checksum: %v", err)
	}
	res, err := m.Rebuild(testContext(t), nil, "gated")
	if err != nil {
		t.Fatalf("rebuild after the skip: %v", err)
	}
	if res[0].Checksum != sum || res[0].Position != last {
		t.Errorf("rebuild: checksum %s at %v, want %s at %v", res[0].Checksum, res[0].Position, sum, last)
	}
	if err := equalCounts(e.totals(), want); err != nil {
		t.Errorf("totals after the rebuild: %v", err)
	}
	r.stop(t)

	// A new Version builds from the whole log and applies it.
	m2 := e.manager(fastOptions(), gateModel{version: 2, open: gate})
	e.run(m2)
	waitUntil(t, m2, "gated version 2 built", func() bool {
		st := statusOf(t, m2, "gated")
		return st.StoredVersion == 2 && atOrAfter(st.Checkpoint, last)
	})
	want["gate"] = 10
	if err := equalCounts(e.totals(), want); err != nil {
		t.Errorf("totals of version 2: %v", err)
	}
}

func TestRebuildLearnsOfASkipDoneWhileItRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gate := &atomic.Bool{}
	m := e.manager(fastOptions(), gateModel{open: gate})
	e.run(m)
	typ, version, data, err := e.reg.Encode(counterBumped{Key: "k1", By: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // more than a rebuild page before the gated event
		evs := make([]eventstore.EventData, 100)
		for i := range evs {
			evs[i] = eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: version, Data: data,
				OccurredAt: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), Actor: "account-1"}
		}
		e.appendRaw("counter-1", evs...)
	}
	gated, _ := e.bump("counter-2", "gate", 10)
	_, last := e.bump("counter-3", "k2", 3)
	failingAt(t, m, "gated", gated)

	// After the rebuild's first page, the live projector skips the event
	// the rebuild has yet to meet.
	asked := false
	progress := func(Progress) {
		if asked {
			return
		}
		asked = true
		if err := m.RequestSkip(testContext(t), "gated", gated, "ops"); err != nil {
			t.Fatalf("request skip: %v", err)
		}
		pastAt(t, m, "gated", last)
	}
	res, err := m.Rebuild(testContext(t), progress, "gated")
	if err != nil {
		t.Fatalf("rebuild while the event was skipped: %v", err)
	}
	if !asked {
		t.Fatal("the rebuild reported no progress")
	}
	if err := equalCounts(e.totals(), map[string]int64{"k1": 300, "k2": 3}); err != nil {
		t.Errorf("totals after the rebuild: %v", err)
	}
	if sum, err := m.Checksum(testContext(t), "gated"); err != nil || res[0].Checksum != sum {
		t.Errorf("rebuilt checksum %s, tables now %s (%v)", res[0].Checksum, sum, err)
	}
	if rec := e.skipRecord("gated", gated); !rec.resolved || rec.skippedVersion == nil {
		t.Errorf("dead letter after the rebuild: %+v, want it skipped still", rec)
	}
}

func TestSkipRequestsThatCannotBeDoneChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gate := &atomic.Bool{}
	m := e.manager(fastOptions(), gateModel{open: gate})
	r := e.run(m)
	gated, _ := e.bump("counter-1", "gate", 1)
	_, last := e.bump("counter-1", "k1", 1)
	failingAt(t, m, "gated", gated)
	r.stop(t)
	ctx := testContext(t)
	untouched := e.skipRecord("gated", gated)

	for _, tc := range []struct {
		what   string
		model  string
		event  uuid.UUID
		by     string
		is     error
		saying string
	}{
		{"an unknown model", "nope", gated, "ops", ErrNotFound, `no read model "nope"`},
		{"an event without a dead letter", "gated", uuid.New(), "ops", ErrNotFound, "no dead letter"},
		{"no requester", "gated", gated, " ", ErrInvalid, "who asks"},
	} {
		err := m.RequestSkip(ctx, tc.model, tc.event, tc.by)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.saying) {
			t.Errorf("skip for %s: %v, want %v saying %q", tc.what, err, tc.is, tc.saying)
		}
	}
	if rec := e.skipRecord("gated", gated); rec.requestedAt != nil || rec.resolved {
		t.Errorf("refused requests changed the dead letter: %+v", rec)
	}

	// While no projector runs the request waits, and a second one keeps
	// the first on record.
	for _, by := range []string{"first@example.test", "second@example.test"} {
		if err := m.RequestSkip(ctx, "gated", gated, by); err != nil {
			t.Fatalf("request skip as %s: %v", by, err)
		}
	}
	st := statusOf(t, m, "gated")
	if len(st.PendingSkips) != 1 {
		t.Fatalf("pending skips %+v, want one", st.PendingSkips)
	}
	if p := st.PendingSkips[0]; p.EventID != gated || p.Stream != "counter-1" || p.Revision != 0 ||
		p.RequestedBy != "first@example.test" || p.RequestedAt.IsZero() {
		t.Errorf("pending skip %+v, want counter-1@0 %s by first@example.test", p, gated)
	}
	if rec := e.skipRecord("gated", gated); rec.resolved || rec.attempts != untouched.attempts {
		t.Errorf("a request alone resolved or retried the dead letter: %+v", rec)
	}

	// The projector's first attempt after a start does the skip.
	m = e.manager(fastOptions(), gateModel{open: gate})
	e.run(m)
	pastAt(t, m, "gated", last)
	err := m.RequestSkip(ctx, "gated", gated, "third@example.test")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "skipped already") {
		t.Errorf("skip of a skipped event: %v, want ErrConflict", err)
	}
	if rec := e.skipRecord("gated", gated); rec.requestedBy == nil || *rec.requestedBy != "first@example.test" {
		t.Errorf("a refused request changed the requester: %+v", rec)
	}

	// An event that went through at last has nothing left to skip.
	through, after := e.bump("counter-2", "gate", 2)
	failingAt(t, m, "gated", through)
	gate.Store(true)
	pastAt(t, m, "gated", after)
	err = m.RequestSkip(ctx, "gated", through, "ops")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "went through") {
		t.Errorf("skip of an event that went through: %v, want ErrConflict", err)
	}
	if rec := e.skipRecord("gated", through); !rec.resolved || rec.requestedAt != nil || rec.skippedAt != nil {
		t.Errorf("dead letter of the event that went through: %+v", rec)
	}
	if got := e.totals(); got["gate"] != 2 {
		t.Errorf("totals %v, want gate 2 (the first gate event skipped)", got)
	}
}

func TestNewVersionFailingAtASkippedEventNeedsANewRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{})
	r := e.run(m)
	want, _ := e.workload(30, 4, 1)
	badID := uuid.New()
	e.appendRaw("counter-bad", eventstore.EventData{ID: badID, Type: typeCounterBumped,
		SchemaVersion: 1, Data: []byte(`{"key":"k","by":"many"}`), OccurredAt: time.Now(), Actor: "account-1"})
	more, last := e.workload(20, 4, 5)
	for s, n := range more {
		want[s] += n
	}
	failingAt(t, m, "counters", badID)
	if err := m.RequestSkip(testContext(t), "counters", badID, "ops"); err != nil {
		t.Fatalf("request skip: %v", err)
	}
	pastAt(t, m, "counters", last)
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters after the skip: %v", err)
	}
	r.stop(t)

	// Version 2 cannot decode the event either: the dead letter is open
	// again, without the request made for version 1.
	m2 := e.manager(fastOptions(), &countersModel{version: 2})
	e.run(m2)
	failingAt(t, m2, "counters", badID)
	if rec := e.skipRecord("counters", badID); rec.resolved || rec.requestedAt != nil ||
		rec.skippedAt != nil || rec.skippedVersion != nil {
		t.Errorf("dead letter failing again for version 2: %+v, want open without a skip", rec)
	}
	if err := m2.RequestSkip(testContext(t), "counters", badID, "ops"); err != nil {
		t.Fatalf("request skip for version 2: %v", err)
	}
	pastAt(t, m2, "counters", last)
	if rec := e.skipRecord("counters", badID); rec.skippedVersion == nil || *rec.skippedVersion != 2 {
		t.Errorf("dead letter %+v, want skipped by version 2", rec)
	}
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters of version 2: %v", err)
	}
}

func TestMigrationAddsSkipColumnsToAnExistingDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testContext(t)
	if _, err := e.pool.Exec(ctx, "CREATE SCHEMA projections"); err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(e.pool)
	t.Cleanup(func() { _ = db.Close() })
	provider, err := newMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 2); err != nil {
		t.Fatalf("migrate to version 2: %v", err)
	}
	id := uuid.New()
	if _, err := e.pool.Exec(ctx, `INSERT INTO projections.dead_letters (name, event_id, stream,
		revision, commit_pos, prepare_pos, event_type, error) VALUES ('counters', $1, 'counter-1', 4, 10, 10,
		'CounterBumped', 'older failure')`, id); err != nil {
		t.Fatal(err)
	}

	m := e.manager(fastOptions(), &countersModel{})
	if err := m.RequestSkip(ctx, "counters", id, "ops"); err != nil {
		t.Fatalf("skip on the migrated table: %v", err)
	}
	letters := e.deadLetters("counters")
	if len(letters) != 1 || letters[0].err != "older failure" || letters[0].revision != 4 || letters[0].resolved {
		t.Errorf("dead letters after the migration: %+v", letters)
	}
	if rec := e.skipRecord("counters", id); rec.requestedBy == nil || *rec.requestedBy != "ops" {
		t.Errorf("skip request on the migrated row: %+v", rec)
	}
}
