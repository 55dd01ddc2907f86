package projections

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventstore"
)

// deadLetter is a row of projections.dead_letters.
type deadLetter struct {
	stream, eventType, err string
	revision, attempts     int64
	pos                    eventstore.Position
	eventID                uuid.UUID
	resolved               bool
}

func (e *env) deadLetters(name string) []deadLetter {
	e.t.Helper()
	rows, err := e.pool.Query(testContext(e.t), `SELECT stream, event_type, error, revision, attempts,
		commit_pos, prepare_pos, event_id, resolved_at IS NOT NULL
		FROM projections.dead_letters WHERE name = $1`, name)
	if err != nil {
		e.t.Fatalf("read dead letters: %v", err)
	}
	defer rows.Close()
	var out []deadLetter
	for rows.Next() {
		var d deadLetter
		var commit, prepare int64
		if err := rows.Scan(&d.stream, &d.eventType, &d.err, &d.revision, &d.attempts,
			&commit, &prepare, &d.eventID, &d.resolved); err != nil {
			e.t.Fatalf("read dead letters: %v", err)
		}
		d.pos = eventstore.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read dead letters: %v", err)
	}
	return out
}

func statusOf(t *testing.T, m *Manager, name string) Status {
	t.Helper()
	all, err := m.Status(testContext(t))
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, st := range all {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no status for %s", name)
	return Status{}
}

func TestMalformedEventFailsOnlyItsModel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{}, notesModel{})
	r := e.run(m)
	e.workload(100, 10, 0)

	// Valid JSON that CounterBumped cannot decode: "by" is a string.
	badID := uuid.New()
	bad := e.appendRaw("counter-bad", eventstore.EventData{ID: badID, Type: typeCounterBumped,
		SchemaVersion: 1, Data: []byte(`{"key":"k","by":"lots"}`),
		OccurredAt: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC), Actor: "account-1"})
	e.appendEvent("note-x", time.Date(2026, 12, 3, 11, 0, 1, 0, time.UTC), noteAdded{Key: "k", Body: "after"})
	last := e.appendEvent("counter-1", time.Date(2026, 12, 3, 11, 0, 2, 0, time.UTC), counterBumped{Key: "k", By: 1})

	waitFor(t, m, last.Position, "notes")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := m.WaitFor(ctx, last.Position, "counters")
	var failing *FailingError
	if !errors.As(err, &failing) || !errors.Is(err, ErrFailing) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor on the failing model: %v, want a *FailingError", err)
	}
	if failing.Name != "counters" || failing.Stream != "counter-bad" || failing.Revision != 0 ||
		failing.Position != bad.Position || failing.EventID != badID {
		t.Errorf("failing at %s %s@%d %v %s, want counters counter-bad@0 %v %s", failing.Name,
			failing.Stream, failing.Revision, failing.Position, failing.EventID, bad.Position, badID)
	}

	st := statusOf(t, m, "counters")
	if st.State != StateFailing || st.Failure == nil || st.Failure.Stream != "counter-bad" ||
		st.Failure.Position != bad.Position || !st.Checkpoint.Less(bad.Position) {
		t.Errorf("counters status %+v, want failing at counter-bad before %v", st, bad.Position)
	}
	if st.LagEvents < 3 {
		t.Errorf("counters lag %d events, want at least the 3 after its checkpoint", st.LagEvents)
	}
	// The start-up rebuild of notes gives its lock back only after the swap
	// that waitFor saw (and after dropping the old tables): until then
	// Status rightly says rebuilding.
	waitUntil(t, m, "notes is live", func() bool { return statusOf(t, m, "notes").State == StateLive })
	if notes := statusOf(t, m, "notes"); notes.Failure != nil || notes.LagEvents != 0 {
		t.Errorf("notes status %+v, want live without failure", notes)
	}

	letters := e.deadLetters("counters")
	if len(letters) != 1 {
		t.Fatalf("%d dead letters, want 1", len(letters))
	}
	d := letters[0]
	if d.stream != "counter-bad" || d.revision != 0 || d.pos != bad.Position || d.eventID != badID ||
		d.eventType != typeCounterBumped || !strings.Contains(d.err, "decode") || d.resolved {
		t.Errorf("dead letter %+v", d)
	}
	if len(e.deadLetters("notes")) != 0 {
		t.Error("notes has dead letters")
	}

	// It keeps retrying (slowly) and keeps serving the other model.
	waitUntil(t, m, "a second attempt", func() bool { return e.deadLetters("counters")[0].attempts >= 2 })
	more := e.appendEvent("note-y", time.Date(2026, 12, 3, 11, 0, 3, 0, time.UTC), noteAdded{Key: "k", Body: "more"})
	waitFor(t, m, more.Position, "notes")
	r.stillRunning(t)
	r.stop(t)

	// A restart meets the event again and records the attempt.
	before := e.deadLetters("counters")[0].attempts
	m2 := e.manager(fastOptions(), &countersModel{}, notesModel{})
	e.run(m2)
	waitUntil(t, m2, "an attempt after the restart", func() bool {
		return e.deadLetters("counters")[0].attempts > before
	})
	if st := statusOf(t, m2, "counters"); st.State != StateFailing || !st.Checkpoint.Less(bad.Position) {
		t.Errorf("after restart: %s at %v, want failing before %v", st.State, st.Checkpoint, bad.Position)
	}
}

func TestRebuildStopsAtMalformedEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{})
	r := e.run(m)
	_, last := e.workload(50, 4, 1)
	waitFor(t, m, last)
	r.stop(t)
	sum, err := m.Checksum(testContext(t), "counters")
	if err != nil {
		t.Fatalf("checksum: %v", err)
	}
	bad := e.appendRaw("counter-bad", eventstore.EventData{ID: uuid.New(), Type: typeCounterBumped,
		SchemaVersion: 1, Data: []byte(`{"key":7}`), OccurredAt: time.Now(), Actor: "account-1"})
	e.readLog(bad.Position)

	_, err = m.Rebuild(testContext(t), nil, "counters")
	var failing *FailingError
	if !errors.As(err, &failing) || failing.Stream != "counter-bad" {
		t.Fatalf("rebuild over a malformed event: %v, want a *FailingError at counter-bad", err)
	}
	if after, err := m.Checksum(testContext(t), "counters"); err != nil || after != sum {
		t.Errorf("failed rebuild changed the tables: %s (%v), was %s", after, err, sum)
	}
	var leftovers int
	err = e.pool.QueryRow(testContext(t),
		"SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rm_counters\\_\\_%'").Scan(&leftovers)
	if err != nil || leftovers != 0 {
		t.Errorf("failed rebuild left %d schemas (%v)", leftovers, err)
	}
	if len(e.deadLetters("counters")) != 1 {
		t.Errorf("failed rebuild recorded %d dead letters, want 1", len(e.deadLetters("counters")))
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{})
	ctx := testContext(t)
	if _, err := m.Rebuild(ctx, nil, "counters", "nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("rebuild of an unknown model: %v, want ErrInvalid", err)
	}
	if err := m.WaitFor(ctx, eventstore.Position{Commit: 1}, "nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("wait for an unknown model: %v, want ErrInvalid", err)
	}
	if _, err := m.Checksum(ctx, "nope"); !errors.Is(err, ErrInvalid) {
		t.Errorf("checksum of an unknown model: %v, want ErrInvalid", err)
	}
	if _, err := m.Checksum(ctx, "counters"); !errors.Is(err, ErrInvalid) {
		t.Errorf("checksum of a model never built: %v, want ErrInvalid", err)
	}
	var schemas int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rm\\_%'").Scan(&schemas); err != nil || schemas != 0 {
		t.Errorf("bad requests created %d read-model schemas (%v)", schemas, err)
	}
	if _, err := New(e.pool, e.store, e.reg, e.log, Options{}, &countersModel{}, &countersModel{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("New with a duplicate model: %v, want ErrInvalid", err)
	}
}

func TestStartUpBuildKeepsEverythingBeforeAMalformedEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want, good := e.workload(400, 8, 3)
	bad := e.appendRaw("counter-bad", eventstore.EventData{ID: uuid.New(), Type: typeCounterBumped,
		SchemaVersion: 1, Data: []byte(`{"key":"k","by":1.5}`), OccurredAt: time.Now(), Actor: "account-1"})
	e.workload(50, 8, 4)
	e.readLog(bad.Position) // the start-up build must meet it

	m := e.manager(fastOptions(), &countersModel{}, seenModel{})
	e.run(m)
	waitUntil(t, m, "counters failing", func() bool { return statusOf(t, m, "counters").State == StateFailing })
	st := statusOf(t, m, "counters")
	if st.Checkpoint != good || st.StoredVersion != 1 || st.Failure == nil || st.Failure.Position != bad.Position {
		t.Errorf("counters: %+v, want failing at %v with checkpoint %v", st, bad.Position, good)
	}
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters before the bad event: %v", err)
	}
	if letters := e.deadLetters("counters"); len(letters) != 1 || letters[0].pos != bad.Position {
		t.Errorf("dead letters %+v, want one at %v", letters, bad.Position)
	}
}
