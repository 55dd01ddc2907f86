package readapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/runner/worker"
	"github.com/cometa-es/cometa/scheduler"
	"github.com/cometa-es/cometa/scheduler/schedulertest"
)

// warnCounter is a slog handler that keeps what was logged at Warn and
// above.
type warnCounter struct{ records chan string }

func (w warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w warnCounter) Handle(_ context.Context, r slog.Record) error {
	select {
	case w.records <- r.Level.String() + " " + r.Message:
	default:
	}
	return nil
}
func (w warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w warnCounter) WithGroup(string) slog.Handler      { return w }

// TestScheduleMissedTicksInHistory runs the scheduler (read-model Source,
// the runner's RunRequester, a clock the test moves) over a "* * * * *"
// schedule set through the API: one tick fires, the scheduler stops over
// the next two, and the scheduler that starts after them records both as
// missed and fires the one that is on time. The history endpoint shows
// exactly that, with the runs.
func TestScheduleMissedTicksInHistory(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFeatureFixture(t)
	srv := f.Srv
	history := "/backend/api/features/" + f.Vars["{featA}"] + "/schedule/history/"

	srv.Do(t, http.MethodPatch, "/backend/schedule/"+f.Vars["{featA}"]+"/", f.Tokens["devops"],
		map[string]any{"schedule": "* * * * *"}).Want(t, 200)
	var set struct {
		Schedule struct {
			Since time.Time `json:"since"`
		} `json:"schedule"`
	}
	srv.Do(t, http.MethodGet, history, f.Tokens["devops"], nil).Want(t, 200).JSON(t, &set)
	since := set.Schedule.Since
	first := since.Truncate(time.Minute).Add(time.Minute)
	tick := func(n int) time.Time { return first.Add(time.Duration(n-1) * time.Minute) }

	runs := worker.NewScheduledRuns(commands.NewRuns(srv.Log, srv.IDs, commands.RunsConfig{
		Library: projections.NewFeatureReader(srv.Pool), Variables: projections.NewRunQueueReader(srv.Pool),
	}), nil)
	source := scheduler.NewModelSource(projections.NewScheduleReader(srv.Pool))
	clock := schedulertest.NewClock(since)
	results := make(chan scheduler.TickResult, 8)
	warn := warnCounter{records: make(chan string, 16)}
	run := func() (stop func()) {
		s := scheduler.New(srv.Log, source, runs, scheduler.Config{Clock: clock, Grace: 20 * time.Second,
			Logger: slog.New(warn), OnTick: func(r scheduler.TickResult) { results <- r }})
		runCtx, cancelRun := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx) }()
		return func() {
			cancelRun()
			if err := <-done; err != nil {
				t.Errorf("scheduler: %v", err)
			}
		}
	}
	next := func(n int) []scheduler.TickResult {
		t.Helper()
		var out []scheduler.TickResult
		for len(out) < n {
			select {
			case r := <-results:
				out = append(out, r)
			case <-ctx.Done():
				t.Fatalf("waiting for %d tick outcomes, got %v", n, out)
			}
		}
		return out
	}
	caughtUp := func() {
		t.Helper()
		head, _, err := srv.Store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Manager.WaitFor(ctx, head, "schedules"); err != nil {
			t.Fatal(err)
		}
	}

	stop := run()
	clock.WaitForSleepers(ctx, 1)
	clock.Set(tick(1).Add(time.Second))
	if got := next(1); got[0].Outcome != scheduler.Fired || !got[0].Fire.At.Equal(tick(1)) {
		t.Fatalf("first tick: %+v, want fired", got)
	}
	stop()
	caughtUp()

	// Every scheduler is down over ticks 2 and 3; the next one starts just
	// after tick 4.
	clock.Set(tick(4).Add(time.Second))
	stop = run()
	got := next(3)
	stop()
	for i, want := range []scheduler.Outcome{scheduler.Missed, scheduler.Missed, scheduler.Fired} {
		if got[i].Outcome != want || !got[i].Fire.At.Equal(tick(i+2)) {
			t.Errorf("after the restart, outcome %d = %v for %v, want %v for %v", i, got[i].Outcome, got[i].Fire.At,
				want, tick(i+2))
		}
	}
	caughtUp()

	var h struct {
		Ticks []struct {
			Tick       string    `json:"tick"`
			Outcome    string    `json:"outcome"`
			NominalUTC time.Time `json:"nominal_utc"`
			RunID      *int64    `json:"run_id"`
			Actor      string    `json:"actor"`
		} `json:"ticks"`
	}
	srv.Do(t, http.MethodGet, history, f.Tokens["devops"], nil).Want(t, 200).JSON(t, &h)
	if len(h.Ticks) != 4 {
		t.Fatalf("history has %d ticks, want 4: %+v", len(h.Ticks), h.Ticks)
	}
	missed := 0
	for i, tk := range h.Ticks { // newest first
		want := tick(4 - i)
		if !tk.NominalUTC.Equal(want) {
			t.Errorf("tick %d is %v, want %v", i, tk.NominalUTC, want)
		}
		switch tk.Outcome {
		case "missed":
			missed++
			if tk.RunID != nil || tk.Actor != "service:scheduler" {
				t.Errorf("missed tick %s: run %v, actor %q", tk.Tick, tk.RunID, tk.Actor)
			}
		case "fired":
			if tk.RunID == nil || tk.Actor != "account-"+f.Vars["{devops}"] {
				t.Errorf("fired tick %s: run %v, actor %q; want a run as the owner", tk.Tick, tk.RunID, tk.Actor)
			}
		}
	}
	if missed != 2 || h.Ticks[0].Outcome != "fired" || h.Ticks[3].Outcome != "fired" {
		t.Errorf("history outcomes %+v, want fired, missed, missed, fired (newest first)", h.Ticks)
	}
	var requested int
	if err := srv.Pool.QueryRow(ctx, `SELECT count(*) FROM eventlog.events WHERE type = 'RunRequested'`).
		Scan(&requested); err != nil {
		t.Fatal(err)
	}
	if requested != 2 {
		t.Errorf("%d runs requested, want 2 (the fired ticks)", requested)
	}
	select {
	case w := <-warn.records:
		t.Errorf("the scheduler logged %q", w)
	default:
	}
}

// TestScheduleRefusedRunInHistory: the owner of a schedule is deleted, so
// the run commands refuse the run of its next tick. The tick is fired, its
// history shows the refusal with its kind, no run is requested, and the
// tick is not among the claims a scheduler finishes later.
func TestScheduleRefusedRunInHistory(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFeatureFixture(t)
	srv := f.Srv
	history := "/backend/api/features/" + f.Vars["{featA}"] + "/schedule/history/"
	srv.Do(t, http.MethodPatch, "/backend/schedule/"+f.Vars["{featA}"]+"/", f.Tokens["devops"],
		map[string]any{"schedule": "* * * * *"}).Want(t, 200)
	var set struct {
		Schedule struct {
			Since time.Time `json:"since"`
		} `json:"schedule"`
	}
	srv.Do(t, http.MethodGet, history, srv.AdminToken, nil).Want(t, 200).JSON(t, &set)
	srv.Do(t, http.MethodDelete, "/backend/api/accounts/"+f.Vars["{devops}"]+"/", srv.AdminToken, nil).Want(t, 200)
	head, _, err := srv.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Manager.WaitFor(ctx, head, "runqueue", "accounts"); err != nil {
		t.Fatal(err)
	}

	runs := worker.NewScheduledRuns(commands.NewRuns(srv.Log, srv.IDs, commands.RunsConfig{
		Library: projections.NewFeatureReader(srv.Pool), Variables: projections.NewRunQueueReader(srv.Pool),
	}), nil)
	source := scheduler.NewModelSource(projections.NewScheduleReader(srv.Pool))
	first := set.Schedule.Since.Truncate(time.Minute).Add(time.Minute)
	clock := schedulertest.NewClock(set.Schedule.Since)
	results := make(chan scheduler.TickResult, 8)
	s := scheduler.New(srv.Log, source, runs, scheduler.Config{Clock: clock, Grace: 20 * time.Second,
		Logger: slog.New(slog.DiscardHandler), OnTick: func(r scheduler.TickResult) { results <- r }})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	clock.WaitForSleepers(ctx, 1)
	clock.Set(first.Add(time.Second))
	select {
	case r := <-results:
		if r.Outcome != scheduler.Failed || r.Err == nil {
			t.Fatalf("tick outcome %+v, want the run refused", r)
		}
	case <-ctx.Done():
		t.Fatal("no tick outcome")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("scheduler: %v", err)
	}
	head, _, err = srv.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Manager.WaitFor(ctx, head, "schedules"); err != nil {
		t.Fatal(err)
	}

	var h struct {
		Ticks []struct {
			Outcome  string  `json:"outcome"`
			RunID    *int64  `json:"run_id"`
			Refused  *string `json:"run_refused"`
			Category *string `json:"run_refused_category"`
		} `json:"ticks"`
	}
	srv.Do(t, http.MethodGet, history, srv.AdminToken, nil).Want(t, 200).JSON(t, &h)
	if len(h.Ticks) != 1 || h.Ticks[0].Outcome != "fired" || h.Ticks[0].RunID != nil ||
		h.Ticks[0].Refused == nil || *h.Ticks[0].Refused == "" || h.Ticks[0].Category == nil {
		t.Fatalf("history ticks %+v, want one fired tick without a run, refused with a reason", h.Ticks)
	}
	t.Logf("refused: %s (%s)", *h.Ticks[0].Refused, *h.Ticks[0].Category)
	claims, err := projections.NewScheduleReader(srv.Pool).Unrequested(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 0 {
		t.Errorf("the refused tick is still a claim to finish: %+v", claims)
	}
	var requested int
	if err := srv.Pool.QueryRow(ctx, `SELECT count(*) FROM eventlog.events WHERE type = 'RunRequested'`).
		Scan(&requested); err != nil {
		t.Fatal(err)
	}
	if requested != 0 {
		t.Errorf("%d runs requested, want none", requested)
	}
}
