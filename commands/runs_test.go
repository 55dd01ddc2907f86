package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
	"github.com/cometa-es/cometa/runner/steps"
)

// runWorld is a store with the feature, variable and run queue read models
// running, and the feature, variable and run commands on it.
type runWorld struct {
	t         *testing.T
	h         *projectiontest.Harness
	log       *commands.Log
	features  *commands.Features
	variables *commands.Variables
	runs      *commands.Runs
	queue     *projections.RunQueueReader
}

func newRunWorld(t *testing.T) *runWorld {
	t.Helper()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.NewFeatures(), projections.NewVariables(), projections.NewRunQueue(), projections.NewRuns())
	log := commands.NewLog(h.Store, reg)
	fr, vr, qr := projections.NewFeatureReader(h.Pool), projections.NewVariableReader(h.Pool),
		projections.NewRunQueueReader(h.Pool)
	ids := commands.NewIDs(log, func(ctx context.Context, kind string) (int64, error) {
		switch kind {
		case commands.FeatureKind:
			return fr.MaxID(ctx)
		case commands.VariableKind:
			return vr.MaxID(ctx)
		default:
			return qr.MaxID(ctx, kind)
		}
	})
	w := &runWorld{t: t, h: h, log: log, queue: qr,
		features:  commands.NewFeatures(log, ids, steps.NewCatalogue(), fr),
		variables: commands.NewVariables(log, ids, vr, passphrase),
		runs:      commands.NewRuns(log, ids, commands.RunsConfig{Library: fr, Variables: qr, Running: qr}),
	}
	for _, d := range []int64{3, 4} {
		h.Append("department-"+itoa(d), &eventschemas.DepartmentCreated{DepartmentID: d, Name: "Dep " + itoa(d)})
	}
	h.Append("application-1", &eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop"})
	h.Append("environment-2", &eventschemas.EnvironmentCreated{EnvironmentID: 2, Name: "ENV-3"})
	h.Sync()
	return w
}

func (w *runWorld) sync(pos eventstore.Position) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.h.Manager.WaitFor(ctx, pos); err != nil {
		w.t.Fatal(err)
	}
}

func (w *runWorld) create(a access.Actor, d feature.Definition) int64 {
	w.t.Helper()
	id, res, err := w.features.Create(context.Background(), meta(), a, d)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sync(res.Position)
	return id
}

func (w *runWorld) request(a access.Actor, featureID int64) commands.RunRequestResult {
	w.t.Helper()
	out, err := w.runs.Request(context.Background(), meta(), a, commands.RunInput{FeatureID: featureID})
	if err != nil {
		w.t.Fatal(err)
	}
	w.sync(out.Position)
	return out
}

func (w *runWorld) loadRun(id int64) eventschemas.RunRequested {
	w.t.Helper()
	r, err := w.runs.LoadRun(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r.Requested
}

func runnerMeta() commands.Meta { return commands.Meta{Actor: "service:runner", Now: time.Now()} }

func TestRunRequestPinsVersionStepsAndVariables(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)

	sub := w.create(author, def("Login", 3, stepOf(`Goto URL "http://127.0.0.1/login"`),
		feature.Step{Keyword: "Then", Content: `I sleep "1" seconds`, Enabled: false}))
	d := def("Shop", 3, stepOf(`Goto URL "http://127.0.0.1/"`),
		stepOf(`Run feature with id "`+itoa(sub)+`" before continuing`),
		feature.Step{Keyword: "Then", Content: `I can see "Welcome $USER"`, Enabled: true, Screenshot: true,
			Compare: true, Timeout: 9},
		feature.Step{Keyword: "and", Content: `I sleep "1" seconds`, Enabled: false})
	d.Browsers = json.RawMessage(`[{"browser":"chrome","browser_version":"1"},{"browser":"chrome","browser_version":"2"}]`)
	d.ContinueOnFailure = true
	id := w.create(author, d)

	for _, v := range []commands.VariableInput{
		{DepartmentID: 3, EnvironmentID: 2, Based: eventschemas.BasedDepartment, Name: "USER", Value: "department"},
		{DepartmentID: 3, EnvironmentID: 2, Based: eventschemas.BasedEnvironment, Name: "USER", Value: "environment"},
		{DepartmentID: 3, EnvironmentID: 2, FeatureID: id, Name: "USER", Value: "feature"},
		{DepartmentID: 3, EnvironmentID: 2, Based: eventschemas.BasedDepartment, Name: "HOST", Value: "h"},
		{DepartmentID: 3, EnvironmentID: 2, FeatureID: id, Name: "PASSWORD", Encrypted: true, Value: "s3cret"},
		{DepartmentID: 4, EnvironmentID: 2, Based: eventschemas.BasedDepartment, Name: "OTHER", Value: "x"},
	} {
		_, res, err := w.variables.Create(ctx, meta(), actor(t, 1, role.Superuser), v)
		if err != nil {
			t.Fatal(err)
		}
		w.sync(res.Position)
	}

	out := w.request(author, id)
	if len(out.ResultIDs) != 2 {
		t.Fatalf("result ids %v, want one per browser", out.ResultIDs)
	}
	req := w.loadRun(out.RunID)
	if req.FeatureVersion != 1 || req.FeatureID != id || req.RequestedBy != 5 || req.DepartmentID != 3 {
		t.Errorf("run header: %+v", req)
	}
	var got []string
	for _, st := range req.Steps {
		got = append(got, st.Content+"|"+itoa(st.BelongsTo)+"|"+st.Type)
		if !st.ContinueOnFailure {
			t.Errorf("step %q does not continue on failure though the feature does", st.Content)
		}
		if st.StepID == "" {
			t.Errorf("step %q has no step id", st.Content)
		}
	}
	want := []string{`Goto URL "http://127.0.0.1/"|` + itoa(id) + "|normal",
		`Goto URL "http://127.0.0.1/login"|` + itoa(sub) + "|substep",
		`I can see "Welcome $USER"|` + itoa(id) + "|normal"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("executed steps (-want +got):\n%s", diff)
	}
	if st := req.Steps[2]; !st.Screenshot || !st.Compare || st.Timeout != 9 || st.Position != 3 {
		t.Errorf("compare step: %+v", st)
	}

	vars := map[string]eventschemas.RunVariable{}
	for _, v := range req.Variables {
		vars[v.Name] = v
	}
	if len(vars) != 3 || vars["USER"].Value.Text() != "feature" || vars["HOST"].Value.Text() != "h" {
		t.Errorf("variables: %+v", req.Variables)
	}
	if p := vars["PASSWORD"].Value; !p.Encrypted() || !strings.HasPrefix(p.Text(), eventschemas.CiphertextPrefix) {
		t.Errorf("the encrypted variable is not kept as ciphertext: %v", p)
	}
	raw, _ := w.h.Store.ReadStream(ctx, run.Stream(out.RunID), eventstore.StreamQuery{})
	if strings.Contains(string(raw[0].Data), "s3cret") {
		t.Error("RunRequested holds the plain text of an encrypted variable")
	}

	queued, err := w.queue.Queued(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]run.Ref{{FeatureResultID: out.ResultIDs[0], RunID: out.RunID},
		{FeatureResultID: out.ResultIDs[1], RunID: out.RunID}}, queued); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
	w.h.CheckRebuild()
}

func TestRunRequestRefused(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Idle", 3, feature.Step{Keyword: "Given", Content: `I sleep "1" seconds`}))
	viewerRole, err := role.New("VIEWER", 5, role.ViewFeature)
	if err != nil {
		t.Fatal(err)
	}
	viewer := access.Actor{AccountID: 8, Role: viewerRole, Departments: []int64{3}}
	deleted := w.create(author, def("Gone", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	res, err := w.features.Delete(ctx, meta(), author, deleted)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res.Position)

	head, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		actor   access.Actor
		feature int64
		want    error
		message string
	}{
		{"unknown feature", author, 999, domain.ErrNotFound, "feature 999"},
		{"deleted feature", author, deleted, domain.ErrNotFound, "not found"},
		{"feature of another department", actor(t, 6, role.Devops, 4), id, domain.ErrNotFound, "not found"},
		{"no run_feature", viewer, id, domain.ErrForbidden, "run_feature"},
		{"no enabled steps", author, id, domain.ErrInvalid, run.NoStepsMessage},
	} {
		_, err := w.runs.Request(ctx, meta(), tc.actor, commands.RunInput{FeatureID: tc.feature})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: error %v, want %v saying %q", tc.name, err, tc.want, tc.message)
		}
	}
	after, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != head {
		t.Errorf("refused requests appended events: head %v, then %v", head, after)
	}
}

// TestDeletedDepartmentRefusesRuns deletes the department of a feature
// whose schedule owner is a member: the owner's actor, built from the
// account stream that DepartmentDeleted leaves alone, is in no department,
// and nobody, a SUPERUSER neither, may request a run of the feature.
func TestDeletedDepartmentRefusesRuns(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	w.h.Append("account-5", &eventschemas.AccountCreated{AccountID: 5, Name: "Eve", Email: "eve@example.com",
		Role: "MANAGER", Departments: []int64{3, 4}})
	w.h.Sync()
	owner, err := w.runs.AccountActor(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	id := w.create(owner, def("Nightly", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	w.request(owner, id)

	w.h.Append("department-3", &eventschemas.DepartmentDeleted{DepartmentID: 3})
	w.h.Sync()
	owner, err = w.runs.AccountActor(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{4}, owner.Departments); diff != "" {
		t.Errorf("owner's departments after the deletion (-want +got):\n%s", diff)
	}
	for _, a := range []access.Actor{owner, actor(t, 1, role.Superuser)} {
		_, err := w.runs.Request(ctx, meta(), a, commands.RunInput{FeatureID: id, Key: uuid.New()})
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("run requested by %s in a deleted department: %v, want not found", a.Role.Name, err)
		}
	}
}

func TestRunDefaultBrowser(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Smoke", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	out := w.request(author, id)
	req := w.loadRun(out.RunID)
	if len(req.Results) != 1 {
		t.Fatalf("results of a feature without browsers: %+v", req.Results)
	}
	var b map[string]any
	if err := json.Unmarshal(req.Results[0].Browser, &b); err != nil || b["cloud"] != "local" {
		t.Errorf("browser of a feature without browsers: %s, %v", req.Results[0].Browser, err)
	}
}

// TestClaimExactlyOnce lets many runners claim the same results at once:
// each result has exactly one holder.
func TestClaimExactlyOnce(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Smoke", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	var results []run.Ref
	for range 5 {
		out := w.request(author, id)
		results = append(results, run.Ref{FeatureResultID: out.ResultIDs[0], RunID: out.RunID})
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		holders = map[int64][]string{}
	)
	for r := range 6 {
		runner := "runner-" + itoa(int64(r))
		wg.Go(func() {
			for _, ref := range results {
				now := time.Now()
				_, err := w.runs.Claim(ctx, runnerMeta(), ref.FeatureResultID, ref.RunID, runner,
					now.Add(time.Minute), time.Now)
				switch {
				case err == nil:
					mu.Lock()
					holders[ref.FeatureResultID] = append(holders[ref.FeatureResultID], runner)
					mu.Unlock()
				case !errors.Is(err, domain.ErrConflict):
					t.Errorf("claim: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for _, ref := range results {
		if len(holders[ref.FeatureResultID]) != 1 {
			t.Errorf("result %d claimed by %v", ref.FeatureResultID, holders[ref.FeatureResultID])
		}
	}
}

// TestKeyedRequestIdempotent sends the same scheduled request from several
// requesters at once, then again: one run has the key, every answer names
// it.
func TestKeyedRequestIdempotent(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Nightly", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	key := uuid.New()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		runs = map[int64]int{}
	)
	for range 6 {
		wg.Go(func() {
			// Other requests race for run ids at the same time.
			if _, err := w.runs.Request(ctx, meta(), author, commands.RunInput{FeatureID: id}); err != nil {
				t.Error(err)
			}
			out, err := w.runs.Request(ctx, meta(), author, commands.RunInput{FeatureID: id, Key: key})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			runs[out.RunID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(runs) != 1 {
		t.Fatalf("requests with one key answered runs %v", runs)
	}
	again, err := w.runs.Request(ctx, meta(), author, commands.RunInput{FeatureID: id, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := runs[again.RunID]; !ok {
		t.Errorf("a later request with the key answered run %d, not %v", again.RunID, runs)
	}

	all, err := w.h.Store.ReadAll(ctx, eventstore.Position{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	keyed := 0
	for _, ev := range all {
		if ev.Type == eventschemas.TypeRunRequested && strings.Contains(string(ev.Data), key.String()) {
			keyed++
		}
	}
	if keyed != 1 {
		t.Errorf("%d runs carry the key, want 1", keyed)
	}
}

func TestKillQueuedAndRunning(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Smoke", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	queued := w.request(author, id)
	running := w.request(author, id)
	held, err := w.runs.Claim(ctx, runnerMeta(), running.ResultIDs[0], running.RunID, "runner-a",
		time.Now().Add(time.Minute), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	killed, last, err := w.runs.KillFeature(ctx, meta(), id, "killed by account 5", 5)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(last.Position)
	if diff := cmp.Diff([]int64{queued.ResultIDs[0], running.ResultIDs[0]}, killed); diff != "" {
		t.Errorf("killed (-want +got):\n%s", diff)
	}

	s, _, err := w.runs.LoadResult(ctx, queued.ResultIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !s.Finished || s.Status != eventschemas.StatusCanceled {
		t.Errorf("queued result after kill: %+v", s)
	}
	// The runner still records the step it was in, then finishes Canceled.
	if err := held.Record(ctx, eventschemas.StepRecorded{Sequence: 1, StepName: "x",
		Status: eventschemas.StatusFailed, Error: "aborted"}); err != nil {
		t.Fatalf("record after kill: %v", err)
	}
	status, err := held.Finish(ctx, eventschemas.StatusFailed, "", "log", 0)
	if err != nil || status != eventschemas.StatusCanceled {
		t.Errorf("finish after kill: %s, %v", status, err)
	}
	if s := held.State(); s.KillReason != "killed by account 5" {
		t.Errorf("kill reason %q", s.KillReason)
	}
	if _, changed, err := w.runs.KillResult(ctx, meta(), running.ResultIDs[0], running.RunID, "again", 5); err != nil || changed {
		t.Errorf("kill of a finished result: changed %v, %v", changed, err)
	}
	head, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(head)
	unfinished, err := w.queue.Unfinished(ctx, id)
	if err != nil || len(unfinished) != 0 {
		t.Errorf("unfinished results after the kills: %v, %v", unfinished, err)
	}
	w.h.CheckRebuild()
}

// TestDeletedDepartmentDropsQueuedResults deletes a department with one
// result running and two queued: the queued ones leave the run queue and
// their claim is refused (not found, nothing appended), the running one
// finishes, and another department's queued result stays. A run the log
// records after the deletion is not queued either.
func TestDeletedDepartmentDropsQueuedResults(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3, 4)
	doomed := w.create(author, def("Doomed", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	other := w.create(author, def("Elsewhere", 4, stepOf(`Goto URL "http://127.0.0.1/"`)))
	running := w.request(author, doomed)
	queued := []commands.RunRequestResult{w.request(author, doomed), w.request(author, doomed)}
	kept := w.request(author, other)
	held, err := w.runs.Claim(ctx, runnerMeta(), running.ResultIDs[0], running.RunID, "runner-a",
		time.Now().Add(time.Minute), time.Now)
	if err != nil {
		t.Fatal(err)
	}

	w.h.Append("department-3", &eventschemas.DepartmentDeleted{DepartmentID: 3})
	// A request that passed the department check just before the deletion
	// lands after it.
	w.h.Append("run-900", &eventschemas.RunRequested{RunID: 900, FeatureID: doomed, DepartmentID: 3,
		Results: []eventschemas.RunResult{{FeatureResultID: 901}}})
	w.h.Sync()

	list, err := w.queue.Queued(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []run.Ref{{FeatureResultID: kept.ResultIDs[0], RunID: kept.RunID}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("queued after the deletion (-want +got):\n%s", diff)
	}
	for _, q := range queued {
		_, rev, err := w.runs.LoadResult(ctx, q.ResultIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.runs.Claim(ctx, runnerMeta(), q.ResultIDs[0], q.RunID, "runner-b",
			time.Now().Add(time.Minute), time.Now)
		if !errors.Is(err, domain.ErrNotFound) || !strings.Contains(err.Error(), "department 3 was deleted") {
			t.Errorf("claim of a queued result of the deleted department: %v", err)
		}
		if _, after, _ := w.runs.LoadResult(ctx, q.ResultIDs[0]); after != rev {
			t.Errorf("the refused claim of result %d appended to its stream", q.ResultIDs[0])
		}
	}
	if status, err := held.Finish(ctx, eventschemas.StatusSuccess, "", "log", 0); err != nil ||
		status != eventschemas.StatusSuccess {
		t.Errorf("the result running at the deletion finishes: %s, %v", status, err)
	}
	head, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(head)
	w.h.CheckRebuild()
}

func TestExpiredLease(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	author := actor(t, 5, role.Anonymous, 3)
	id := w.create(author, def("Smoke", 3, stepOf(`Goto URL "http://127.0.0.1/"`)))
	out := w.request(author, id)
	past := time.Now().Add(-time.Hour)
	claimMeta := runnerMeta()
	claimMeta.Now = past
	held, err := w.runs.Claim(ctx, claimMeta, out.ResultIDs[0], out.RunID, "ghost", past.Add(time.Second),
		func() time.Time { return past })
	if err != nil {
		t.Fatal(err)
	}

	expired, err := w.runs.ExpireLease(ctx, runnerMeta(), out.ResultIDs[0], "runner-b")
	if err != nil || !expired {
		t.Fatalf("expire: %v, %v", expired, err)
	}
	s, _, err := w.runs.LoadResult(ctx, out.ResultIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != eventschemas.StatusFailed {
		t.Errorf("status after expiry %q", s.Status)
	}
	if err := held.Record(ctx, eventschemas.StepRecorded{Sequence: 1, StepName: "x",
		Status: eventschemas.StatusSuccess, Success: true}); !errors.Is(err, run.ErrNotHolder) {
		t.Errorf("the ghost records after its lease was taken over: %v", err)
	}
	statuses, err := w.runs.WaitFinished(ctx, out.RunID)
	if err != nil || statuses[out.ResultIDs[0]] != eventschemas.StatusFailed {
		t.Errorf("wait: %v, %v", statuses, err)
	}
}

func TestWaitFinished(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	author := actor(t, 5, role.Anonymous, 3)
	d := def("Two browsers", 3, stepOf(`Goto URL "http://127.0.0.1/"`))
	d.Browsers = json.RawMessage(`[{"browser":"chrome","browser_version":"a"},
		{"browser":"chrome","browser_version":"b"}]`)
	id := w.create(author, d)
	out := w.request(author, id)

	done := make(chan map[int64]string, 1)
	go func() {
		statuses, err := w.runs.WaitFinished(ctx, out.RunID)
		if err != nil {
			t.Error(err)
		}
		done <- statuses
	}()
	for i, rid := range out.ResultIDs {
		held, err := w.runs.Claim(ctx, runnerMeta(), rid, out.RunID, "runner", time.Now().Add(time.Minute), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		status := []string{eventschemas.StatusSuccess, eventschemas.StatusFailed}[i]
		if _, err := held.Finish(ctx, status, "", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int64]string{out.ResultIDs[0]: eventschemas.StatusSuccess, out.ResultIDs[1]: eventschemas.StatusFailed}
	if diff := cmp.Diff(want, <-done); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	// Once finished, WaitRun answers at once with the last finish's position.
	again, err := w.runs.WaitRun(ctx, out.RunID)
	if err != nil || again.Position.IsZero() || len(again.Statuses) != 2 {
		t.Errorf("wait after the end: %+v, %v", again, err)
	}
	w.sync(again.Position)
	left, err := w.queue.Unfinished(ctx, id)
	if err != nil || len(left) != 0 {
		t.Errorf("unfinished results once the read model reached the position: %v, %v", left, err)
	}
}

func TestRecordBaselineOnce(t *testing.T) {
	t.Parallel()
	w := newRunWorld(t)
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		recorded int
		names    = map[string]bool{}
	)
	for i := range 5 {
		wg.Go(func() {
			b := eventschemas.BaselineRecorded{FeatureID: 12, StepID: "s-1", Occurrence: 1, BrowserKey: "chrome",
				Name: strings.Repeat(string(rune('a'+i)), 64) + ".png", Width: 10, Height: 10}
			got, ok, err := w.runs.RecordBaseline(ctx, runnerMeta(), b)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			names[got.Name] = true
			if ok {
				recorded++
			}
		})
	}
	wg.Wait()
	if recorded != 1 || len(names) != 1 {
		t.Errorf("%d baselines recorded, %d seen as the baseline; want one", recorded, len(names))
	}
}
