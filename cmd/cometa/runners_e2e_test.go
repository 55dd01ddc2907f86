package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/runner/browser"
)

const (
	runnersToken      = "runners-e2e-bootstrap-token-0123456789"
	runnersPassphrase = "runners-e2e-passphrase-0123456789"
	// runnersQueued is how many runs wait in the queue before the two
	// runner processes share it.
	runnersQueued = 20
	// runnersGuard bounds the whole test; it only turns a hang into a
	// failure.
	runnersGuard = 8 * time.Minute
)

// TestServeTwoRunnerProcesses runs two `cometa serve` processes (the built
// binary) and one `cometa runner` alone on ONE database, so that three
// runners share one log, queues 20 runs of 20 features, and checks that
// every result was claimed, started and finished exactly once, by one of
// the runners, each page loaded exactly once, every runner took part, and
// no Chromium of any process is alive after they stopped.
func TestServeTwoRunnerProcesses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), runnersGuard)
	defer cancel()

	var (
		mu   sync.Mutex
		hits = map[string]int{}
	)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>counted</title><p>counted</p>")
	}))
	defer page.Close()

	// One run at a time per process, so that neither can take the whole
	// queue while the other starts.
	env := []string{"COMETA_BOOTSTRAP_TOKEN=" + runnersToken, "COMETA_ENCRYPTION_PASSPHRASE=" + runnersPassphrase,
		"COMETA_BROWSER_LOOPBACK_ONLY=true", "COMETA_MAX_PARALLEL_RUNS=1"}
	firstDir, secondDir := dataDir(t), dataDir(t)
	first := startServe(t, firstDir, env...)
	raw, err := os.ReadFile(filepath.Join(firstDir, databaseURLFile))
	if err != nil {
		t.Fatalf("the first server's %s: %v", databaseURLFile, err)
	}
	dbURL := strings.TrimSpace(string(raw))
	second := startServe(t, secondDir, append(env, "COMETA_DATABASE_URL="+dbURL)...)
	// A runner without API or projector: it reads the run queue the
	// servers' projectors keep and appends what it does to the same log.
	runnerDir := dataDir(t)
	alone := startCommandUntil(t, "runner", runnerDir, "cometa started", append(env, "COMETA_DATABASE_URL="+dbURL)...)

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := postgres.New(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	api := func(s *server, method, path, token string, body any) map[string]any {
		t.Helper()
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		status, out := apiCall(t, method, "http://"+s.addr+path, token, string(raw))
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil || status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, status, out)
		}
		return m
	}
	account := api(first, "POST", "/backend/api/accounts/", runnersToken, map[string]any{
		"name": "Runner User", "email": "runner@example.test", "permission_name": "DEVOPS", "departments": []int{1},
	})
	token, _ := account["token"].(string)
	features := make([]int64, runnersQueued)
	for i := range features {
		f := api(first, "POST", "/backend/api/features/", token, map[string]any{
			"feature_name": "Counted " + strconv.Itoa(i), "app_id": 1, "environment_id": 1, "department_id": 1,
			"steps_content": []map[string]any{
				{"step_keyword": "Given", "step_content": fmt.Sprintf(`Goto URL "%s/count/%d"`, page.URL, i),
					"enabled": true, "timeout": 30},
				{"step_keyword": "Then", "step_content": `I can see "counted"`, "enabled": true, "timeout": 30},
			},
		})
		features[i] = int64(f["feature_id"].(float64))
	}

	head, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := store.SubscribeAll(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	results := map[string]int{} // result stream -> index of its feature
	for i, id := range features {
		// Requested through either server: both share one queue.
		s := []*server{first, second}[i%2]
		out := api(s, "POST", "/backend/exectest/", token, map[string]any{"feature_id": id})
		ids, _ := out["feature_result_ids"].([]any)
		if len(ids) != 1 {
			t.Fatalf("exectest of feature %d: %v", id, out)
		}
		results["result-"+strconv.FormatInt(int64(ids[0].(float64)), 10)] = i
	}

	finished := map[string]bool{}
	for len(finished) < runnersQueued {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("following the log: %v (%d of %d finished)\nfirst:\n%s\nsecond:\n%s\nrunner:\n%s", err,
				len(finished), runnersQueued, first.logs(), second.logs(), alone.logs())
		}
		if _, ok := results[ev.Stream]; ok && ev.Type == eventschemas.TypeResultFinished {
			finished[ev.Stream] = true
		}
	}

	// Everything the log holds for the results, not only what the
	// subscription saw, once the second process has stopped (the first
	// holds the database).
	if err := second.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("second server after SIGINT: %v", err)
	}
	if err := alone.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("cometa runner after SIGINT: %v", err)
	}
	counts := map[string]map[string]int{}
	claims := map[string]int{} // runner -> results claimed
	var after eventstore.Position
	for {
		batch, err := store.ReadAll(ctx, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, ev := range batch {
			after = ev.Position
			if _, ok := results[ev.Stream]; !ok {
				continue
			}
			if counts[ev.Stream] == nil {
				counts[ev.Stream] = map[string]int{}
			}
			counts[ev.Stream][ev.Type]++
			switch ev.Type {
			case eventschemas.TypeResultClaimed:
				var e eventschemas.ResultClaimed
				if err := json.Unmarshal(ev.Data, &e); err != nil {
					t.Fatal(err)
				}
				claims[e.Runner]++
			case eventschemas.TypeResultFinished:
				var e eventschemas.ResultFinished
				if err := json.Unmarshal(ev.Data, &e); err != nil {
					t.Fatal(err)
				}
				if e.Status != eventschemas.StatusSuccess {
					t.Errorf("%s: %s (%s)", ev.Stream, e.Status, e.Reason)
				}
			}
		}
	}
	for stream, i := range results {
		c := counts[stream]
		if c[eventschemas.TypeResultClaimed] != 1 || c[eventschemas.TypeResultStarted] != 1 ||
			c[eventschemas.TypeStepRecorded] != 2 || c[eventschemas.TypeResultFinished] != 1 {
			t.Errorf("%s: events %v, want one claim, one start, two steps, one finish", stream, c)
		}
		mu.Lock()
		if n := hits["/count/"+strconv.Itoa(i)]; n != 1 {
			t.Errorf("page of feature %d loaded %d times", i, n)
		}
		mu.Unlock()
	}
	total := 0
	for _, n := range claims {
		total += n
	}
	if len(claims) != 3 || total != runnersQueued {
		t.Errorf("claims by runner %v, want %d results shared by three runners", claims, runnersQueued)
	}
	t.Logf("%d runs on three runner processes; claims %v", runnersQueued, claims)

	if err := first.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("first server after SIGINT: %v", err)
	}

	for _, dir := range []string{firstDir, secondDir, runnerDir} {
		if live, err := browser.LiveProcesses(-1, filepath.Join(dir, "browsers")); err != nil || len(live) > 0 {
			t.Errorf("browser processes of %s alive after the servers stopped: %v (%v)", dir, live, err)
		}
	}
	if t.Failed() {
		t.Logf("first server:\n%s\nsecond server:\n%s\nrunner:\n%s", first.logs(), second.logs(), alone.logs())
	}
}
