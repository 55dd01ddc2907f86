package projections

import (
	"errors"
	"testing"
)

func addCounts(into map[string]int64, more map[string]int64) {
	for k, v := range more {
		into[k] += v
	}
}

func TestRebuildWhileLiveProjectorRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	models := func() []ReadModel { return []ReadModel{&countersModel{}, seenModel{}} }
	serve := e.manager(fastOptions(), models()...)
	r := e.run(serve)
	want, _ := e.workload(2000, 30, 0)
	total := int64(2000)

	// The CLI process: appends land while each model is being rebuilt.
	cli := e.manager(fastOptions(), models()...)
	appended := make(map[string]bool)
	var reports []Progress
	results, err := cli.Rebuild(testContext(t), func(p Progress) {
		reports = append(reports, p)
		if !p.Done && !appended[p.Name] {
			appended[p.Name] = true
			w, _ := e.workload(300, 30, len(appended))
			addCounts(want, w)
			total += 300
		}
	})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if len(appended) != 2 {
		t.Fatalf("appended during %d rebuilds, want 2", len(appended))
	}
	checkProgress(t, reports, cli.Names())

	w, last := e.workload(200, 30, 9)
	addCounts(want, w)
	total += 200
	waitFor(t, serve, last)
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters after rebuild and more appends: %v", err)
	}
	if events, twice := e.seenCounts(); events != total || twice != 0 {
		t.Errorf("seen holds %d events, %d applied more than once; want %d and 0", events, twice, total)
	}
	for _, res := range results {
		if st := e.checkpointOf(res.Name); st.pos.Less(res.Position) {
			t.Errorf("%s: checkpoint %v went back behind the swap at %v", res.Name, st.pos, res.Position)
		}
	}

	// The tables the live projector continued equal a fresh rebuild.
	sums := make(map[string]string)
	r.stop(t)
	for _, name := range serve.Names() {
		sum, err := serve.Checksum(testContext(t), name)
		if err != nil {
			t.Fatalf("checksum: %v", err)
		}
		sums[name] = sum
	}
	again, err := cli.Rebuild(testContext(t), nil)
	if err != nil {
		t.Fatalf("second rebuild: %v", err)
	}
	for _, res := range again {
		if res.Checksum != sums[res.Name] || res.Events != total {
			t.Errorf("%s: fresh rebuild %s over %d events, live tables %s over %d", res.Name,
				res.Checksum, res.Events, sums[res.Name], total)
		}
	}
}

func TestRebuildIsExclusive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{})
	built(t, m)
	unlock, err := m.lockRebuild(testContext(t), "counters")
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	if st := statusOf(t, m, "counters"); st.State != StateRebuilding {
		t.Errorf("status while the rebuild lock is held: %s, want rebuilding", st.State)
	}
	if _, err := m.Rebuild(testContext(t), nil); !errors.Is(err, ErrBusy) {
		t.Errorf("second rebuild: %v, want ErrBusy", err)
	}
	unlock()
	if _, err := m.Rebuild(testContext(t), nil); err != nil {
		t.Errorf("rebuild after unlock: %v", err)
	}
}

func TestTwoManagersApplyEachEventOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	models := func() []ReadModel { return []ReadModel{seenModel{}, &countersModel{}} }
	a := e.manager(fastOptions(), models()...)
	b := e.manager(fastOptions(), models()...)
	ra := e.run(a)
	e.run(b)

	want, last := e.workload(1000, 20, 0)
	waitFor(t, b, last)
	ra.stop(t) // whichever was active, b carries on alone
	w, last := e.workload(1000, 20, 1)
	addCounts(want, w)
	waitFor(t, b, last)

	if events, twice := e.seenCounts(); events != 2000 || twice != 0 {
		t.Errorf("seen holds %d events, %d applied more than once; want 2000 and 0", events, twice)
	}
	if err := equalCounts(e.counters("rm_counters"), want); err != nil {
		t.Errorf("counters: %v", err)
	}
	for _, st := range mustStatus(t, b) {
		if st.State == StateStopped || st.Checkpoint.Less(last) {
			t.Errorf("%s: %s at %v, want projected to %v", st.Name, st.State, st.Checkpoint, last)
		}
	}
}

func mustStatus(t *testing.T, m *Manager) []Status {
	t.Helper()
	all, err := m.Status(testContext(t))
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return all
}

func TestProjectorSurvivesLosingItsLockSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), seenModel{})
	e.run(m)
	_, first := e.workload(100, 5, 0)
	waitFor(t, m, first)

	var killed int
	err := e.pool.QueryRow(testContext(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, lockAppName).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d lock sessions (%v), want 1", killed, err)
	}
	_, last := e.workload(100, 5, 1)
	waitFor(t, m, last)
	if events, twice := e.seenCounts(); events != 200 || twice != 0 {
		t.Errorf("seen holds %d events, %d applied more than once; want 200 and 0", events, twice)
	}
	waitUntil(t, m, "the lock held again", func() bool { return statusOf(t, m, "seen").State != StateStopped })
}
