package projections

import (
	"errors"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/eventstore"
)

func TestIncrementalBuildEqualsRebuild(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{}, notesModel{}, seenModel{})
	r := e.run(m)

	want := make(map[string]int64)
	var last eventstore.Position
	for phase := range 3 {
		w, pos := e.workload(1000, 40, phase)
		for k, v := range w {
			want[k] += v
		}
		last = pos
		waitFor(t, m, last)
	}
	r.stop(t)
	if n := e.countAll(); n != 3000 {
		t.Fatalf("log holds %d events, want 3000", n)
	}
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Fatalf("incremental counters: %v", err)
	}

	incremental := make(map[string]string)
	for _, name := range m.Names() {
		sum, err := m.Checksum(testContext(t), name)
		if err != nil {
			t.Fatalf("checksum %s: %v", name, err)
		}
		incremental[name] = sum
	}

	var reports []Progress
	results, err := m.Rebuild(testContext(t), func(p Progress) { reports = append(reports, p) })
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if len(results) != 3 {
		t.Fatalf("rebuild returned %d results, want 3", len(results))
	}
	for _, res := range results {
		if res.Checksum != incremental[res.Name] {
			t.Errorf("%s: rebuild checksum %s, incremental %s", res.Name, res.Checksum, incremental[res.Name])
		}
		if res.Events != 3000 || res.Position != last {
			t.Errorf("%s: rebuilt %d events up to %v, want 3000 up to %v", res.Name, res.Events, res.Position, last)
		}
		sum, err := m.Checksum(testContext(t), res.Name)
		if err != nil || sum != res.Checksum {
			t.Errorf("%s: checksum after the swap %s (%v), rebuild reported %s", res.Name, sum, err, res.Checksum)
		}
	}
	if events, twice := e.seenCounts(); events != 3000 || twice != 0 {
		t.Errorf("seen holds %d events, %d applied more than once; want 3000 and 0", events, twice)
	}
	checkProgress(t, reports, m.Names())
}

// checkProgress checks the reports of a rebuild: per model, rising counts
// and a final Done.
func checkProgress(t *testing.T, reports []Progress, names []string) {
	t.Helper()
	for _, name := range names {
		var mine []Progress
		for _, p := range reports {
			if p.Name == name {
				mine = append(mine, p)
			}
		}
		if len(mine) < 2 || !mine[len(mine)-1].Done {
			t.Errorf("%s: %d progress reports, last done=%v", name, len(mine), len(mine) > 0 && mine[len(mine)-1].Done)
			continue
		}
		for i := 1; i < len(mine); i++ {
			if mine[i].Events < mine[i-1].Events {
				t.Errorf("%s: progress went from %d to %d events", name, mine[i-1].Events, mine[i].Events)
			}
		}
	}
}

// built migrates and builds the models of m over the current log, as a
// start-up would, without running the projectors.
func built(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Migrate(testContext(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, h := range m.handlers {
		if err := m.ensureCurrent(testContext(t), h); err != nil {
			t.Fatalf("build %s: %v", h.name, err)
		}
	}
}

// readLog returns the log up to last. It subscribes rather than reading
// once: the store shows an event only when no older transaction of the
// cluster is still running, and other tests share the cluster.
func (e *env) readLog(last eventstore.Position) []eventstore.Event {
	e.t.Helper()
	sub, err := e.store.SubscribeAll(testContext(e.t), eventstore.Position{})
	if err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	defer func() { _ = sub.Close() }()
	var events []eventstore.Event
	for len(events) == 0 || events[len(events)-1].Position.Less(last) {
		ev, err := sub.Recv()
		if err != nil {
			e.t.Fatalf("read log: %v", err)
		}
		events = append(events, ev)
	}
	return events
}

func (e *env) checkpointOf(name string) checkpoint {
	e.t.Helper()
	cp, ok, err := loadCheckpoint(testContext(e.t), e.pool, name)
	if err != nil || !ok {
		e.t.Fatalf("checkpoint of %s: ok=%v err=%v", name, ok, err)
	}
	return cp
}

func TestApplyingABatchTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{}, notesModel{})
	built(t, m)
	want, last := e.workload(300, 12, 1)
	events := e.readLog(last)

	for _, h := range m.handlers {
		ctx := testContext(t)
		start := e.checkpointOf(h.name)
		next, err := m.commit(ctx, h, start, events, stateLive)
		if err != nil || next.pos != last {
			t.Fatalf("%s: first commit to %v: %v, want %v", h.name, next.pos, err, last)
		}
		sum, err := m.Checksum(ctx, h.name)
		if err != nil {
			t.Fatalf("checksum: %v", err)
		}

		again, err := m.commit(ctx, h, next, events, stateLive)
		if err != nil || again.pos != next.pos {
			t.Errorf("%s: same batch again: %v at %v", h.name, err, again.pos)
		}
		if _, err := m.applyBatch(ctx, h, start, events, stateLive); !errors.Is(err, errMoved) {
			t.Errorf("%s: batch from a stale checkpoint: %v, want errMoved", h.name, err)
		}
		if _, err := m.commit(ctx, h, start, events[len(events)/2:], stateLive); !errors.Is(err, errMoved) {
			t.Errorf("%s: half batch from a stale checkpoint: %v, want errMoved", h.name, err)
		}
		if after, _ := m.Checksum(ctx, h.name); after != sum {
			t.Errorf("%s: checksum changed from %s to %s", h.name, sum, after)
		}
		if cp := e.checkpointOf(h.name); cp.pos != last {
			t.Errorf("%s: checkpoint %v, want %v", h.name, cp.pos, last)
		}
	}
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters: %v", err)
	}
}

func TestCheckpointAndRowsCommitTogether(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	killer := &killerModel{killAt: 5}
	m := e.manager(fastOptions(), killer)
	built(t, m)
	_, last := e.workload(60, 4, 1) // streams 1 and 2 count, 0 and 3 take notes
	events := e.readLog(last)
	h := m.handlers[0]
	start := e.checkpointOf(h.name)

	killer.armed.Store(true)
	_, err := m.applyBatch(testContext(t), h, start, events, stateLive)
	var bad *applyError
	if err == nil || !isTransient(err) || errors.As(err, &bad) {
		t.Fatalf("batch whose session died: %v, want a transient error", err)
	}
	var rows int64
	if err := e.pool.QueryRow(testContext(t), "SELECT count(*) FROM rm_killer.seen").Scan(&rows); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	if cp := e.checkpointOf(h.name); rows != 0 || cp.pos != start.pos {
		t.Fatalf("after the kill: %d rows, checkpoint %v; want 0 rows at %v", rows, cp.pos, start.pos)
	}

	next, err := m.commit(testContext(t), h, start, events, stateLive)
	if err != nil || next.pos != last {
		t.Fatalf("retry: %v at %v, want %v", err, next.pos, last)
	}
	var counted int64
	for _, ev := range events {
		if ev.Type == typeCounterBumped {
			counted++
		}
	}
	if err := e.pool.QueryRow(testContext(t), "SELECT count(*) FROM rm_killer.seen").Scan(&rows); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	if rows != counted || counted == 0 {
		t.Errorf("after the retry: %d rows, want %d", rows, counted)
	}
	var letters int64
	if err := e.pool.QueryRow(testContext(t), "SELECT count(*) FROM projections.dead_letters").Scan(&letters); err != nil {
		t.Fatalf("count dead letters: %v", err)
	}
	if letters != 0 {
		t.Errorf("a lost session left %d dead letters", letters)
	}
}

func TestVersionBumpRebuildsAtStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m1 := e.manager(fastOptions(), &countersModel{version: 1})
	r1 := e.run(m1)
	want, last := e.workload(500, 10, 2)
	waitFor(t, m1, last)
	r1.stop(t)

	m2 := e.manager(fastOptions(), &countersModel{version: 2})
	e.run(m2)
	waitFor(t, m2, last)
	st, err := m2.Status(testContext(t))
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if st[0].StoredVersion != 2 || st[0].Checkpoint != last {
		t.Errorf("after start: stored version %d at %v, want 2 at %v", st[0].StoredVersion, st[0].Checkpoint, last)
	}
	var hasColumn bool
	err = e.pool.QueryRow(testContext(t), `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'rm_counters' AND table_name = 'counters' AND column_name = 'first_at')`).Scan(&hasColumn)
	if err != nil || !hasColumn {
		t.Errorf("version 2 column present = %v (%v)", hasColumn, err)
	}
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters after the rebuild: %v", err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "rebuilding read model before it serves") ||
		!strings.Contains(logs, "version 1 stored, code is version 2") {
		t.Errorf("start-up rebuild not logged:\n%s", logs)
	}
}
