package worker_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/runner/worker"
	"github.com/cometa-es/cometa/scheduler"
)

// TestTwoWorkersTwentyRuns queues 20 runs for two workers on one store:
// every result is claimed, started and executed exactly once.
func TestTwoWorkersTwentyRuns(t *testing.T) {
	w := newWorld(t)
	var (
		mu   sync.Mutex
		hits = map[string]int{}
	)
	w.mux.HandleFunc("/count/", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		rw.Header().Set("Content-Type", "text/html")
		_, _ = rw.Write([]byte("<p>counted</p>"))
	})
	ids := make([]int64, 20)
	for i := range ids {
		ids[i] = w.feature("Count "+itoa(int64(i)),
			step(`StartBrowser and call URL "`+w.url+`/count/`+itoa(int64(i))+`"`),
			step(`I can see "counted"`))
	}
	runs := make([]commands.RunRequestResult, len(ids))
	for i, id := range ids {
		runs[i] = w.request(id)
	}
	start := time.Now()
	w.startWorker("runner-a", nil)
	w.startWorker("runner-b", nil)

	claims := map[string]int{}
	for i, out := range runs {
		result := out.ResultIDs[0]
		if status := w.wait(out.RunID)[result]; status != eventschemas.StatusSuccess {
			t.Errorf("run %d: %s (%+v)", out.RunID, status, w.finished(result))
		}
		counts := map[string]int{}
		for _, p := range w.events(result) {
			counts[p.EventType()]++
			if c, ok := p.(*eventschemas.ResultClaimed); ok {
				claims[c.Runner]++
			}
		}
		if counts[eventschemas.TypeResultClaimed] != 1 || counts[eventschemas.TypeResultStarted] != 1 ||
			counts[eventschemas.TypeStepRecorded] != 2 || counts[eventschemas.TypeResultFinished] != 1 {
			t.Errorf("result %d: events %v", result, counts)
		}
		mu.Lock()
		if n := hits["/count/"+itoa(int64(i))]; n != 1 {
			t.Errorf("page of run %d loaded %d times", i, n)
		}
		mu.Unlock()
	}
	t.Logf("20 runs on two workers in %v; claims %v", time.Since(start), claims)
}

// TestLeaseExpiry: a result claimed by a runner that vanished is ended
// Failed once its lease expired, by another worker or by the same runner
// when it starts again.
func TestLeaseExpiry(t *testing.T) {
	w := newWorld(t)
	for _, ender := range []string{"runner-b", "runner-vanished"} {
		id := w.feature("Abandoned before "+ender, step(`Goto URL "`+w.url+`/"`))
		out := w.request(id)
		past := time.Now().Add(-time.Hour)
		meta := commands.Meta{Actor: "service:runner", Now: past}
		if _, err := w.runs.Claim(context.Background(), meta, out.ResultIDs[0], out.RunID, "runner-vanished",
			past.Add(time.Minute), func() time.Time { return past }); err != nil {
			t.Fatal(err)
		}
		stop := w.startWorker(ender, nil)
		if status := w.wait(out.RunID)[out.ResultIDs[0]]; status != eventschemas.StatusFailed {
			t.Fatalf("ended by %s: status %s", ender, status)
		}
		stop()
		f := w.finished(out.ResultIDs[0])
		if !strings.Contains(f.Reason, "runner-vanished stopped renewing its lease") ||
			!strings.Contains(f.Reason, "ended by "+ender) {
			t.Errorf("ended by %s: reason %q", ender, f.Reason)
		}
	}
}

// TestLeaseRenewed: a worker whose lease is shorter than the run renews it
// and finishes the result itself.
func TestLeaseRenewed(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.startWorker("runner-a", func(c *worker.Config) { c.Lease = 600 * time.Millisecond })
	w.startWorker("runner-b", func(c *worker.Config) { c.Lease = 600 * time.Millisecond })
	id := w.feature("Longer than the lease", step(`StartBrowser and call URL "`+w.url+`/hello"`),
		step(`I sleep "2" seconds`))
	result, status := w.runOnce(id)
	if status != eventschemas.StatusSuccess {
		t.Fatalf("status %s: %+v", status, w.finished(result))
	}
	renewals := 0
	for _, p := range w.events(result) {
		switch p.(type) {
		case *eventschemas.LeaseRenewed:
			renewals++
		case *eventschemas.LeaseExpired:
			t.Error("the lease expired though its runner renewed it")
		}
	}
	if renewals == 0 {
		t.Error("no lease renewal")
	}
}

// TestPinnedVersion edits the feature while its run executes: the run
// executes the version it pinned.
func TestPinnedVersion(t *testing.T) {
	w := newWorld(t)
	arrived, edited := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.mux.HandleFunc("/gate", func(rw http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-edited
		_, _ = rw.Write([]byte("<p>gate open</p>"))
	})
	var (
		mu      sync.Mutex
		visited []string
	)
	for _, path := range []string{"/v1", "/v2"} {
		w.mux.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
			mu.Lock()
			visited = append(visited, r.URL.Path)
			mu.Unlock()
			_, _ = rw.Write([]byte("<p>" + r.URL.Path + "</p>"))
		})
	}
	w.startWorker("runner-a", nil)
	id := w.feature("Edited mid-run", step(`StartBrowser and call URL "`+w.url+`/gate"`),
		step(`Goto URL "`+w.url+`/v1"`))
	out := w.request(id)

	<-arrived
	saved, err := w.features.Save(context.Background(), w.meta(), w.author, id, 0,
		func(_ context.Context, d feature.Definition) (feature.Definition, error) {
			d.Steps = slices.Clone(d.Steps)
			d.Steps[1].Content = `Goto URL "` + w.url + `/v2"`
			return d, nil
		})
	close(edited)
	if err != nil || !saved.Changed {
		t.Fatalf("edit: %v, %v", saved.Changed, err)
	}

	result := out.ResultIDs[0]
	if status := w.wait(out.RunID)[result]; status != eventschemas.StatusSuccess {
		t.Fatalf("status %s", status)
	}
	if steps := w.stepsOf(result); len(steps) != 2 || !strings.HasSuffix(steps[1].StepName, `/v1"`) {
		t.Errorf("steps: %+v", steps)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(visited) != 1 || visited[0] != "/v1" {
		t.Errorf("visited %v, want the pinned version's /v1 only", visited)
	}
	loaded, err := w.runs.LoadRun(context.Background(), out.RunID)
	if err != nil || loaded.Requested.FeatureVersion != 1 {
		t.Errorf("pinned version %d, %v", loaded.Requested.FeatureVersion, err)
	}
}

// TestScheduledRuns requests a tick's run twice, as a scheduler finishing
// an unrecorded tick would: one run, executed once.
func TestScheduledRuns(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	id := w.feature("Nightly", step(`StartBrowser and call URL "`+w.url+`/hello"`))
	w.h.Append("account-5", &eventschemas.AccountCreated{AccountID: 5, Name: "Owner", Email: "o@example.com",
		Role: "DEVOPS", Departments: []int64{3}})
	w.h.Sync()
	req := worker.NewScheduledRuns(w.runs, nil)
	tick := scheduler.RunRequest{Key: uuid.New(), FeatureID: id, OwnerID: 5, CorrelationID: "tick-1-20260101T000000Z"}
	first, err := req.RequestRun(context.Background(), tick)
	if err != nil {
		t.Fatal(err)
	}
	second, err := req.RequestRun(context.Background(), tick)
	if err != nil || second != first {
		t.Fatalf("second request of the tick: run %d, %v; want %d", second, err, first)
	}
	w.startWorker("runner-a", nil)
	for _, status := range w.wait(first) {
		if status != eventschemas.StatusSuccess {
			t.Errorf("status %s", status)
		}
	}
	loaded, err := w.runs.LoadRun(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Envelope.CorrelationID != tick.CorrelationID || loaded.Envelope.Actor != "account-5" {
		t.Errorf("run envelope: correlation %q, actor %q", loaded.Envelope.CorrelationID, loaded.Envelope.Actor)
	}
	if _, err := req.RequestRun(context.Background(), scheduler.RunRequest{Key: uuid.New(), FeatureID: id,
		OwnerID: 77}); err == nil {
		t.Error("a tick of an unknown owner was run")
	}
	// Owner 0 would be the service actor, a SUPERUSER: refused, no run.
	before, _, err := w.h.Store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.RequestRun(context.Background(), scheduler.RunRequest{Key: uuid.New(), FeatureID: id,
		CorrelationID: "tick-1-20260101T000100Z"}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("a tick without an owner: %v, want it refused as invalid", err)
	}
	if after, _, err := w.h.Store.Head(context.Background()); err != nil || after != before {
		t.Errorf("a tick without an owner moved the log from %v to %v (%v)", before, after, err)
	}

	// The feature's department is deleted: the owner's account stream still
	// lists it, but the tick is refused as for an owner who left it.
	w.h.Append("department-3", &eventschemas.DepartmentDeleted{DepartmentID: 3})
	w.h.Sync()
	if _, err := req.RequestRun(context.Background(), scheduler.RunRequest{Key: uuid.New(), FeatureID: id,
		OwnerID: 5, CorrelationID: "tick-1-20260101T000200Z"}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a tick in a deleted department: %v, want it refused as not found", err)
	}
}

// TestQueueWaits gives one worker with two slots five results that block
// on the page server: never more than two execute at once, and all five
// run (the queue waits, it does not refuse).
func TestQueueWaits(t *testing.T) {
	w := newWorld(t)
	var (
		mu           sync.Mutex
		active, most int
		arrived      = make(chan struct{}, 10)
		release      = make(chan struct{})
	)
	w.mux.HandleFunc("/slot", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		active++
		most = max(most, active)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		active--
		mu.Unlock()
		_, _ = rw.Write([]byte("<p>done</p>"))
	})
	w.startWorker("runner-a", func(c *worker.Config) { c.MaxParallel = 2 })
	id := w.feature("Slot", step(`StartBrowser and call URL "`+w.url+`/slot"`))
	var runs []commands.RunRequestResult
	for range 5 {
		runs = append(runs, w.request(id))
	}
	<-arrived
	<-arrived
	for range 5 {
		release <- struct{}{}
		select {
		case <-arrived:
		default:
		}
	}
	for _, out := range runs {
		if status := w.wait(out.RunID)[out.ResultIDs[0]]; status != eventschemas.StatusSuccess {
			t.Errorf("run %d: %s", out.RunID, status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most > 2 {
		t.Errorf("%d results executed at once with two slots", most)
	}
}

// TestRemovedQueuedRunIsNotExecuted removes a run while it waits for a
// runner: it leaves the queue, and the runner started afterwards executes
// only the run queued after it.
func TestRemovedQueuedRunIsNotExecuted(t *testing.T) {
	w := newWorld(t)
	var mu sync.Mutex
	hits := 0
	w.mux.HandleFunc("/count", func(rw http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		_, _ = rw.Write([]byte("<p>counted</p>"))
	})
	id := w.feature("Counted", step(`StartBrowser and call URL "`+w.url+`/count"`))
	removed := w.request(id)
	admin, err := access.Account(1, role.Superuser, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := commands.NewRunResults(w.log).RemoveRun(context.Background(), w.meta(), admin, removed.RunID)
	if err != nil {
		t.Fatalf("remove run %d: %v", removed.RunID, err)
	}
	w.sync(res.Position)
	queued, err := w.queue.Queued(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 0 {
		t.Fatalf("queue after the removal: %+v, want empty", queued)
	}

	kept := w.request(id)
	w.startWorker("runner-a", nil)
	if status := w.wait(kept.RunID)[kept.ResultIDs[0]]; status != eventschemas.StatusSuccess {
		t.Fatalf("run %d: %s", kept.RunID, status)
	}
	for _, ev := range w.events(removed.ResultIDs[0]) {
		if _, ok := ev.(*eventschemas.ResultClaimed); ok {
			t.Errorf("removed result %d was claimed", removed.ResultIDs[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Errorf("the page was loaded %d times, want once (by the kept run)", hits)
	}
}

// TestDeletedDepartmentQueuedRunIsNotExecuted deletes the department of a
// run while it waits for a runner: the runner started afterwards executes
// only the run queued in another department.
func TestDeletedDepartmentQueuedRunIsNotExecuted(t *testing.T) {
	w := newWorld(t)
	var mu sync.Mutex
	hits := 0
	w.mux.HandleFunc("/count", func(rw http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		_, _ = rw.Write([]byte("<p>counted</p>"))
	})
	counted := step(`StartBrowser and call URL "` + w.url + `/count"`)
	doomed := w.request(w.feature("Counted in a doomed department", counted))

	ctx := context.Background()
	w.h.Append("department-4", &eventschemas.DepartmentCreated{DepartmentID: 4, Name: "Elsewhere"})
	w.h.Append("department-3", &eventschemas.DepartmentDeleted{DepartmentID: 3})
	w.h.Sync()
	elsewhere, err := access.Account(6, role.Devops, []int64{4})
	if err != nil {
		t.Fatal(err)
	}
	d := feature.Definition{FeatureName: "Counted elsewhere", AppID: 1, EnvironmentID: 2, DepartmentID: 4,
		Steps: []feature.Step{counted}}
	id, res, err := w.features.Create(ctx, w.meta(), elsewhere, d)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res.Position)
	kept, err := w.runs.Request(ctx, w.meta(), elsewhere, commands.RunInput{FeatureID: id})
	if err != nil {
		t.Fatal(err)
	}

	w.startWorker("runner-a", nil)
	if status := w.wait(kept.RunID)[kept.ResultIDs[0]]; status != eventschemas.StatusSuccess {
		t.Fatalf("run %d: %s", kept.RunID, status)
	}
	for _, ev := range w.events(doomed.ResultIDs[0]) {
		if _, ok := ev.(*eventschemas.ResultClaimed); ok {
			t.Errorf("result %d of the deleted department was claimed", doomed.ResultIDs[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Errorf("the page was loaded %d times, want once (by the run of the live department)", hits)
	}
}
