package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/projections"
)

// The crash test's load: appends sent at once, and the acknowledgement
// after which the server is killed. Early, so that the kill finds appends
// at every stage: answered, committed but waiting for the read models
// (read-your-writes), and not yet committed.
const (
	crashAppends   = 1000
	crashKillAfter = 50
	crashToken     = "crash-test-bootstrap-token-0123456789"
)

// appendOutcome is what the client saw of one POST.
type appendOutcome struct {
	name   string
	status int   // 0 when no response arrived
	id     int64 // the environment_id answered, 0 when none
	err    error
}

func (o appendOutcome) acked() bool { return o.status >= 200 && o.status < 300 }

// TestServeCrash kills `cometa serve` with SIGKILL while 1,000 appends
// are in flight and starts it again on the same data dir: every append
// the API acknowledged is in the event store and in the read models, the
// read models equal a full rebuild, no process of the killed server's
// PostgreSQL outlives its shutdown, and the restart waits for that
// shutdown instead of failing.
//
// To make "the old postmaster is still shutting down" certain rather than
// a race, the old cluster's checkpointer is stopped (SIGSTOP) just before
// the kill: the postmaster then cannot finish its shutdown checkpoint
// until the test lets the checkpointer go on, which it does once the new
// server says it is waiting.
func TestServeCrash(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	pgdata := filepath.Join(dir, "pgdata")
	tokenEnv := "COMETA_BOOTSTRAP_TOKEN=" + crashToken

	first := launchServe(t, dir, tokenEnv)
	base := first.started(t)
	checkpointer := findTitled(t, clusterProcesses(t, pgdata), "postgres: checkpointer")

	outcomes, pending := fireAppends(t, base, func() {
		signalProcess(t, checkpointer, syscall.SIGSTOP)
		t.Cleanup(func() { _ = syscall.Kill(checkpointer, syscall.SIGCONT) })
		first.kill(t)
	})
	acked, cut := 0, 0
	statuses := map[int]int{}
	for _, o := range outcomes {
		statuses[o.status]++
		if o.acked() {
			acked++
		}
		if o.err != nil {
			cut++
		}
	}
	t.Logf("killed with %d of %d appends unanswered; afterwards %d acknowledged, %d cut off, statuses %v",
		pending, crashAppends, acked, cut, statuses)
	if acked < crashKillAfter || cut == 0 {
		t.Fatalf("the kill did not come while appends were in flight: %d acknowledged, %d cut off", acked, cut)
	}

	// The killed server's cluster is still shutting down (its checkpointer
	// is stopped); the new server must wait for it, not fail.
	old := clusterProcesses(t, pgdata)
	if len(old) == 0 {
		t.Fatal("the killed server's postgres is gone already: the checkpointer stop did not hold it")
	}
	second := launchServe(t, dir, tokenEnv)
	second.waitLog(t, "waiting for the previous postgres server of the data dir to shut down")
	signalProcess(t, checkpointer, syscall.SIGCONT)
	for _, pid := range old {
		if !waitExit(t, pid) {
			t.Errorf("process %d (%s) of the killed server's postgres outlived its shutdown",
				pid, processTitle(pid))
		}
	}
	base = second.started(t)

	store, pool := openStore(t, dir)
	logged := environmentsInLog(t, store)
	listed := environmentsInAPI(t, base)
	lost, extra := 0, 0
	for _, o := range outcomes {
		ids := logged[o.name]
		if len(ids) > 1 {
			t.Errorf("environment %q is in the log %d times: %v", o.name, len(ids), ids)
		}
		if !o.acked() {
			if len(ids) > 0 {
				extra++ // committed, but the answer was cut off: allowed
			}
			continue
		}
		if o.id == 0 {
			t.Errorf("environment %q acknowledged (%d) without its id", o.name, o.status)
		}
		if len(ids) == 0 || ids[0] != o.id {
			lost++
			t.Errorf("acknowledged environment %q (id %d) is not in the log (found %v)", o.name, o.id, ids)
		}
		if got, ok := listed[o.name]; !ok || got != o.id {
			t.Errorf("acknowledged environment %q (id %d): API lists id %d (%v)", o.name, o.id, got, ok)
		}
	}
	t.Logf("after the restart: %d acknowledged appends lost, %d unacknowledged ones committed, %d never",
		lost, extra, crashAppends-acked-extra)

	checkRebuildEqual(t, dir, store, pool)
	checkFreshID(t, base, logged)

	// A plain SIGKILL (nothing held) and an immediate restart: whether or
	// not the postmaster is still stopping, the third start succeeds, and
	// the killed cluster's processes end.
	old = clusterProcesses(t, pgdata)
	_ = store.Close()
	pool.Close()
	second.kill(t)
	killed := time.Now()
	third := launchServe(t, dir, tokenEnv)
	for _, pid := range old {
		if !waitExit(t, pid) {
			t.Errorf("process %d (%s) of the killed server's postgres outlived it", pid, processTitle(pid))
		}
	}
	gone := time.Since(killed)
	base = third.started(t)
	t.Logf("second kill: the %d postgres processes ended %v after it; the restart waited for them: %v",
		len(old), gone.Round(time.Millisecond),
		third.logged("waiting for the previous postgres server of the data dir to shut down"))
	before := environmentsInAPI(t, base)
	if len(before) != len(listed)+1 {
		t.Errorf("after the second crash the API lists %d environments, want %d", len(before), len(listed)+1)
	}

	// Everything killed at once, PostgreSQL included (as when the machine
	// dies, short of the kernel's buffers): the next start recovers the
	// cluster and keeps what was committed.
	old = clusterProcesses(t, pgdata)
	for _, pid := range old {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	third.kill(t)
	for _, pid := range clusterProcesses(t, pgdata) { // forked in between
		_ = syscall.Kill(pid, syscall.SIGKILL)
		old = append(old, pid)
	}
	for _, pid := range old {
		if !waitExit(t, pid) {
			t.Errorf("process %d survived SIGKILL", pid)
		}
	}
	fourth := launchServe(t, dir, tokenEnv)
	base = fourth.started(t)
	if after := environmentsInAPI(t, base); !maps.Equal(after, before) {
		t.Errorf("after killing cometa and postgres the API lists %d environments, want the %d before",
			len(after), len(before))
	}
	if err := fourth.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-fourth.exited
	if fourth.err != nil {
		t.Errorf("cometa serve after SIGTERM: %v\n%s", fourth.err, fourth.logs())
	}
	if left := clusterProcesses(t, pgdata); len(left) > 0 {
		t.Errorf("postgres processes %v remain after a clean stop", left)
	}
}

// fireAppends sends crashAppends concurrent POSTs creating environments
// named crash-NNNN and calls kill once crashKillAfter of them are
// acknowledged. It returns every outcome and how many requests were
// unanswered when kill was called.
func fireAppends(t *testing.T, base string, kill func()) (outcomes []appendOutcome, pending int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	outcomes = make([]appendOutcome, crashAppends)
	var ackedN, answered atomic.Int64
	killNow := make(chan struct{})
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range outcomes {
		outcomes[i].name = fmt.Sprintf("crash-%04d", i)
		wg.Go(func() {
			<-start
			outcomes[i] = postEnvironment(ctx, client, base, outcomes[i].name)
			if outcomes[i].status != 0 {
				answered.Add(1)
			}
			if outcomes[i].acked() && ackedN.Add(1) == crashKillAfter {
				close(killNow)
			}
		})
	}
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()

	close(start)
	select {
	case <-killNow:
	case <-allDone:
		t.Fatalf("all %d appends ended with fewer than %d acknowledged: %v",
			crashAppends, crashKillAfter, outcomes[0])
	}
	pending = crashAppends - int(answered.Load())
	kill()
	<-allDone
	return outcomes, pending
}

// postEnvironment creates one environment with the bootstrap token.
func postEnvironment(ctx context.Context, client *http.Client, base, name string) appendOutcome {
	out := appendOutcome{name: name}
	body := fmt.Sprintf(`{"environment_name": %q}`, name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/backend/api/environments/",
		strings.NewReader(body))
	if err != nil {
		out.err = err
		return out
	}
	req.Header.Set("Authorization", "Bearer "+crashToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		out.err = err
		return out
	}
	defer resp.Body.Close()
	out.status = resp.StatusCode
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		out.err = err
		return out
	}
	var env struct {
		ID   int64  `json:"environment_id"`
		Name string `json:"environment_name"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Name == name {
		out.id = env.ID
	}
	return out
}

// openStore connects to the database the running server published in
// dir and opens its event store.
func openStore(t *testing.T, dir string) (eventstore.Store, *pgxpool.Pool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, databaseURLFile))
	if err != nil {
		t.Fatalf("the running server's %s: %v", databaseURLFile, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	pool, err := pgxpool.New(ctx, strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := postgres.New(ctx, pool, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store, pool
}

// environmentsInLog reads the whole log and returns the ids of every
// EnvironmentCreated by name.
func environmentsInLog(t *testing.T, store eventstore.Store) map[string][]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	out := map[string][]int64{}
	var after eventstore.Position
	for {
		page, err := store.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatalf("read the log after %s: %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			if e.Type != eventschemas.TypeEnvironmentCreated {
				continue
			}
			var p eventschemas.EnvironmentCreated
			if err := json.Unmarshal(e.Data, &p); err != nil {
				t.Fatalf("%s@%d: %v", e.Stream, e.Revision, err)
			}
			if want := fmt.Sprintf("environment-%d", p.EnvironmentID); e.Stream != want {
				t.Errorf("EnvironmentCreated %d on stream %s", p.EnvironmentID, e.Stream)
			}
			out[p.Name] = append(out[p.Name], p.EnvironmentID)
		}
		after = page[len(page)-1].Position
	}
}

// environmentsInAPI lists the environments through the API, id by name.
func environmentsInAPI(t *testing.T, base string) map[string]int64 {
	t.Helper()
	code, body := apiCall(t, http.MethodGet, base+"/backend/api/environments/", crashToken, "")
	if code != http.StatusOK {
		t.Fatalf("GET /backend/api/environments/: %d %s", code, body)
	}
	var list struct {
		Results []struct {
			ID   int64  `json:"environment_id"`
			Name string `json:"environment_name"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("GET /backend/api/environments/: %v", err)
	}
	out := map[string]int64{}
	for _, e := range list.Results {
		out[e.Name] = e.ID
	}
	return out
}

// checkRebuildEqual waits for every read model to reach the head of the
// log, takes their checksums, runs `cometa projections rebuild` against
// the running server and compares.
func checkRebuildEqual(t *testing.T, dir string, store eventstore.Store, pool *pgxpool.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := projections.New(pool, store, reg, slog.New(slog.DiscardHandler), projections.Options{},
		projections.ReadModels()...)
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.WaitFor(ctx, head); err != nil {
		t.Fatalf("read models after the restart: %v", err)
	}
	incremental := map[string]string{}
	for _, name := range mgr.Names() {
		if incremental[name], err = mgr.Checksum(ctx, name); err != nil {
			t.Fatal(err)
		}
	}

	out, errOut, code := runCLI(t, []string{"COMETA_DATA_DIR=" + dir}, "projections", "rebuild")
	if code != 0 {
		t.Fatalf("projections rebuild: exit %d\n%s%s", code, out, errOut)
	}
	for _, name := range mgr.Names() {
		if got := checksumOf(t, out, name); got != incremental[name] {
			t.Errorf("read model %s: rebuild checksum %s, incremental %s", name, got, incremental[name])
		}
	}
	t.Logf("checksums of %d read models compared with their rebuild at %s", len(incremental), head)
	if after, _, err := store.Head(ctx); err != nil || after != head {
		t.Errorf("the log moved during the comparison (%s to %s, %v): checksums are not comparable",
			head, after, err)
	}
}

// checkFreshID creates one more environment: its id is new, although
// the crash cut off claims whose answers never arrived.
func checkFreshID(t *testing.T, base string, logged map[string][]int64) {
	t.Helper()
	code, body := apiCall(t, http.MethodPost, base+"/backend/api/environments/", crashToken,
		`{"environment_name": "after-the-crash"}`)
	if code != http.StatusCreated {
		t.Fatalf("create an environment after the restart: %d %s", code, body)
	}
	var env struct {
		ID int64 `json:"environment_id"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	for name, ids := range logged {
		for _, id := range ids {
			if id >= env.ID {
				t.Errorf("new environment got id %d, but %q already has %d", env.ID, name, id)
			}
		}
	}
}
