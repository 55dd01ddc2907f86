package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
)

const (
	scheduleToken      = "schedule-e2e-bootstrap-token-0123456789"
	schedulePassphrase = "schedule-e2e-passphrase-0123456789"
	// scheduleTicks is how many ticks of "* * * * *" the test lets fire.
	scheduleTicks = 3
	// scheduleGuard bounds the whole test: up to a minute until the
	// first tick, two more minutes for the others, and the runs. It only
	// turns a hang into a failure.
	scheduleGuard = 8 * time.Minute
)

// TestServeScheduleTwoReplicas runs two `cometa serve` processes (the
// built binary) on ONE database, the first with its private cluster and
// the second with COMETA_DATABASE_URL pointing at it, so that two
// schedulers, two projectors and two runners share the log. A feature that
// opens a page served by this test on 127.0.0.1 gets the schedule
// "* * * * *"; after its third tick has fired the schedule is removed.
// Then: exactly three fired ticks, each claimed once (one process logs
// "tick fired", the other, when it tried, "tick claimed elsewhere"),
// exactly three runs, keyed by their ticks and run as the schedule's
// owner, each executed once in Chromium and successful, nothing missed,
// and no Warn or Error from either scheduler.
//
// The schedule fires on the wall clock, so this test takes three to four
// minutes however fast the machine is; it is one test so that the wait is
// paid once. It is not flaky by construction: no assertion depends on
// timing, the schedule is removed long before a fourth tick can come, and
// every wait is for an event from the log (a subscription), bounded only
// by scheduleGuard.
func TestServeScheduleTwoReplicas(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), scheduleGuard)
	defer cancel()

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>scheduled</title><p>ok</p>")
	}))
	defer page.Close()

	env := []string{"COMETA_BOOTSTRAP_TOKEN=" + scheduleToken, "COMETA_ENCRYPTION_PASSPHRASE=" + schedulePassphrase,
		"COMETA_SCHEDULER_POLL_INTERVAL=1s", "COMETA_BROWSER_LOOPBACK_ONLY=true", "COMETA_MAX_PARALLEL_RUNS=1"}
	dir := dataDir(t)
	first := startServe(t, dir, env...)
	raw, err := os.ReadFile(filepath.Join(dir, databaseURLFile))
	if err != nil {
		t.Fatalf("the first server's %s: %v", databaseURLFile, err)
	}
	dbURL := strings.TrimSpace(string(raw))
	second := startServe(t, dataDir(t), append(env, "COMETA_DATABASE_URL="+dbURL)...)

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
	head, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := store.SubscribeAll(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

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
	owner := api(first, "POST", "/backend/api/accounts/", scheduleToken, map[string]any{
		"name": "Scheduler Owner", "email": "owner@example.test", "permission_name": "DEVOPS", "departments": []int{1},
	})
	ownerToken, _ := owner["token"].(string)
	ownerID := int64(owner["user_id"].(float64))
	feature := api(first, "POST", "/backend/api/features/", ownerToken, map[string]any{
		"feature_name": "Scheduled page", "app_id": 1, "environment_id": 1, "department_id": 1,
		"steps_content": []map[string]any{{"step_keyword": "Given",
			"step_content": fmt.Sprintf("Goto URL \"%s/\"", page.URL), "enabled": true}},
	})
	featureID := int64(feature["feature_id"].(float64))
	schedulePath := "/backend/schedule/" + strconv.FormatInt(featureID, 10) + "/"
	// Set through the second server: both share one log.
	api(second, "PATCH", schedulePath, ownerToken, map[string]any{"schedule": "* * * * *"})

	// Follow the log until the third tick fires, remove the schedule (the
	// fourth tick is a minute away), then until the three runs finished.
	fired := map[string]bool{}          // tick streams with ScheduleTickFired
	requested := map[string]int{}       // tick stream -> RunRequested count
	runOf := map[int64]string{}         // run id -> tick stream
	finished := map[int64][]string{}    // run id -> result statuses
	runActors := map[string]bool{}      // envelope actors of RunRequested
	tickEvents := map[string][]string{} // tick stream -> event types
	var removed bool
	for !removed || len(finishedRuns(finished, runOf)) < scheduleTicks {
		ev, err := sub.Recv()
		if err != nil {
			t.Fatalf("following the log: %v (fired %v, runs %v, finished %v)\nfirst:\n%s\nsecond:\n%s",
				err, fired, runOf, finished, first.logs(), second.logs())
		}
		if strings.HasPrefix(ev.Stream, "tick-") {
			tickEvents[ev.Stream] = append(tickEvents[ev.Stream], ev.Type)
		}
		switch ev.Type {
		case eventschemas.TypeScheduleTickFired:
			fired[ev.Stream] = true
			if len(fired) == scheduleTicks && !removed {
				api(first, "PATCH", schedulePath, ownerToken, map[string]any{"schedule": ""})
				removed = true
			}
		case eventschemas.TypeRunRequested:
			var e eventschemas.RunRequested
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				t.Fatal(err)
			}
			requested[ev.CorrelationID]++
			runOf[e.RunID] = ev.CorrelationID
			runActors[ev.Actor] = true
		case eventschemas.TypeResultFinished:
			var e eventschemas.ResultFinished
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				t.Fatal(err)
			}
			finished[e.RunID] = append(finished[e.RunID], e.Status)
		}
	}

	// The two schedulers' tick counters (/metrics) agree with the log: three
	// ticks fired between them, and each tick after the first was lost by
	// the other (its OnTick may come a moment after the log shows the tick).
	var fires, losses float64
	for deadline := time.Now().Add(time.Minute); ; {
		fires = tickMetric(t, first, "fired") + tickMetric(t, second, "fired")
		losses = tickMetric(t, first, "claimed_elsewhere") + tickMetric(t, second, "claimed_elsewhere")
		if (fires == scheduleTicks && losses >= scheduleTicks-1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if fires != scheduleTicks || losses < scheduleTicks-1 {
		t.Errorf("tick metrics: %v fired, %v claimed elsewhere; want %d and at least %d",
			fires, losses, scheduleTicks, scheduleTicks-1)
	}
	for _, outcome := range []string{"missed", "refused", "failed"} {
		if n := tickMetric(t, first, outcome) + tickMetric(t, second, outcome); n != 0 {
			t.Errorf("tick metrics: %v %s, want 0", n, outcome)
		}
	}

	if err := second.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("second server after SIGINT: %v", err)
	}

	// Everything the log holds now, not only what the subscription saw.
	counts := map[string]int{}
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
			counts[ev.Type]++
			after = ev.Position
		}
	}
	if err := first.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("first server after SIGINT: %v", err)
	}

	if counts[eventschemas.TypeScheduleTickFired] != scheduleTicks ||
		counts[eventschemas.TypeScheduleTickRunRequested] != scheduleTicks ||
		counts[eventschemas.TypeScheduleTickMissed] != 0 || counts[eventschemas.TypeRunRequested] != scheduleTicks {
		t.Errorf("in the log: %d fired, %d run requests recorded, %d missed, %d runs; want %d, %d, 0, %d",
			counts[eventschemas.TypeScheduleTickFired], counts[eventschemas.TypeScheduleTickRunRequested],
			counts[eventschemas.TypeScheduleTickMissed], counts[eventschemas.TypeRunRequested],
			scheduleTicks, scheduleTicks, scheduleTicks)
	}
	for stream, types := range tickEvents {
		if strings.Join(types, ",") != eventschemas.TypeScheduleTickFired+","+eventschemas.TypeScheduleTickRunRequested ||
			requested[stream] != 1 {
			t.Errorf("tick %s: events %v, %d runs; want fired, run requested and one run", stream, types, requested[stream])
		}
	}
	for run, statuses := range finished {
		if len(statuses) != 1 || statuses[0] != eventschemas.StatusSuccess {
			t.Errorf("run %d (tick %s): results %v, want one Success", run, runOf[run], statuses)
		}
	}
	if want := "account-" + strconv.FormatInt(ownerID, 10); len(runActors) != 1 || !runActors[want] {
		t.Errorf("runs requested by %v, want only the owner %s", runActors, want)
	}

	// Each tick fired in exactly one process; the other lost the race
	// (for the first tick it may have loaded the schedule after the
	// winner's claim was already visible, and not tried at all).
	ticks := sortedKeys(fired)
	firstLog, secondLog := schedulerLines(t, first.logs()), schedulerLines(t, second.logs())
	for i, stream := range ticks {
		tick := strings.TrimPrefix(stream, "tick-"+strconv.FormatInt(featureID, 10)+"-")
		wins := firstLog.count("tick fired", tick) + secondLog.count("tick fired", tick)
		losses := firstLog.count("tick claimed elsewhere", tick) + secondLog.count("tick claimed elsewhere", tick)
		if wins != 1 || losses > 1 || (i > 0 && losses != 1) {
			t.Errorf("tick %s: fired in %d processes, lost in %d; want 1 and 1", tick, wins, losses)
		}
		t.Logf("tick %s: fired by the first server %d time(s), by the second %d; lost by the first %d, the second %d",
			tick, firstLog.count("tick fired", tick), secondLog.count("tick fired", tick),
			firstLog.count("tick claimed elsewhere", tick), secondLog.count("tick claimed elsewhere", tick))
	}
	for name, lines := range map[string]schedulerLog{"first": firstLog, "second": secondLog} {
		for _, l := range lines {
			if l.Level == "WARN" || l.Level == "ERROR" {
				t.Errorf("%s server's scheduler logged %s %q (tick %s): %s", name, l.Level, l.Msg, l.Tick, l.Err)
			}
		}
	}
	if t.Failed() {
		t.Logf("first server:\n%s\nsecond server:\n%s", first.logs(), second.logs())
	}
}

// finishedRuns lists the requested runs with a finished result.
func finishedRuns(finished map[int64][]string, runOf map[int64]string) []int64 {
	var out []int64
	for run := range runOf {
		if len(finished[run]) > 0 {
			out = append(out, run)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// schedulerLine is one JSON log record of the scheduler component.
type schedulerLine struct {
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	Component string `json:"component"`
	Tick      string `json:"tick"`
	Err       string `json:"err"`
}

type schedulerLog []schedulerLine

// schedulerLines returns the scheduler's records of a server's log.
func schedulerLines(t *testing.T, log string) schedulerLog {
	t.Helper()
	var out schedulerLog
	for _, line := range strings.Split(log, "\n") {
		var l schedulerLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Component == "scheduler" {
			out = append(out, l)
		}
	}
	return out
}

func (s schedulerLog) count(msg, tick string) int {
	n := 0
	for _, l := range s {
		if l.Msg == msg && l.Tick == tick {
			n++
		}
	}
	return n
}

// tickMetric reads cometa_scheduler_ticks_total for outcome from the
// server's /metrics; a missing sample fails the test.
func tickMetric(t *testing.T, s *server, outcome string) float64 {
	t.Helper()
	status, body := apiCall(t, "GET", "http://"+s.addr+"/metrics", "", "")
	if status != 200 {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	prefix := `cometa_scheduler_ticks_total{outcome="` + outcome + `"} `
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no %s sample in /metrics", strings.TrimSpace(prefix))
	return 0
}
