package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/scheduler"
)

// stalledRunner takes a run request and never answers it until its
// scheduler stops: the scheduler is killed between claiming a tick and
// requesting its run.
type stalledRunner struct{ entered chan scheduler.RunRequest }

func (r stalledRunner) RequestRun(ctx context.Context, req scheduler.RunRequest) (int64, error) {
	r.entered <- req
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestClaimedTickIsFinishedOnce: a scheduler that claimed a tick and
// stopped before the run was requested leaves a fired tick without a run;
// the next scheduler requests it, with the key derived from the tick, and
// records that it did.
func TestClaimedTickIsFinishedOnce(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "1 12 * * *", OwnerID: 2})
	clock := newFakeClock(t0)
	stalled := stalledRunner{entered: make(chan scheduler.RunRequest, 1)}
	cfg := scheduler.Config{Clock: clock, Grace: 20 * time.Second, Logger: newWarnings().logger()}

	stop := start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), stalled, cfg))
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(1))
	var first scheduler.RunRequest
	select {
	case first = <-stalled.entered:
	case <-ctx.Done():
		t.Fatal("no run requested")
	}
	stop() // killed while requesting
	stream := tickStream(12, minute(1))
	if diff := cmp.Diff([]string{eventschemas.TypeScheduleTickFired}, tickEvents(t, ctx, log, stream)); diff != "" {
		t.Fatalf("claimed tick (-want +got):\n%s", diff)
	}

	clock.Set(minute(2))
	runs := newRunLedger()
	warn := newWarnings()
	cfg.Logger = warn.logger()
	start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runs, cfg))
	pollUntilFinished(t, ctx, clock, log, stream)
	want := []string{eventschemas.TypeScheduleTickFired, eventschemas.TypeScheduleTickRunRequested}
	if diff := cmp.Diff(want, tickEvents(t, ctx, log, stream)); diff != "" {
		t.Errorf("finished tick (-want +got):\n%s", diff)
	}
	reqs := runs.requests()
	if len(reqs) != 1 || reqs[0] != first {
		t.Errorf("finishing requests %+v, want exactly the stalled one %+v", reqs, first)
	}
	if calls, _ := runs.counts(); calls != 1 {
		t.Errorf("%d run requests", calls)
	}
	if w := warn.all(); len(w) != 0 {
		t.Errorf("warnings or errors logged: %q", w)
	}
}

// TestScheduleChangesAreFollowed sets a schedule while the scheduler runs
// and clears it again: it fires between the two and not after.
func TestScheduleChangesAreFollowed(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	// A second schedule is the witness that the scheduler handled 12:03.
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 13, Expression: "* * * * *", OwnerID: 2})
	clock := newFakeClock(t0)
	results := make(outcomes, 16)
	warn := newWarnings()
	start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), newRunLedger(),
		scheduler.Config{Clock: clock, OnTick: results.onTick, Grace: 20 * time.Second,
			PollInterval: 10 * time.Second, Logger: warn.logger()}))
	clock.WaitForSleepers(ctx, 1)

	setSchedule(t, ctx, log, minute(1).Add(5*time.Second),
		schedule.Set{FeatureID: 12, Expression: "@hourly", Zone: "America/New_York", OwnerID: 2})
	setSchedule(t, ctx, log, minute(1).Add(5*time.Second),
		schedule.Set{FeatureID: 12, Expression: "*/2 * * * *", Zone: "America/New_York", OwnerID: 2})
	clock.Set(minute(1))
	results.next(t, ctx, 1)
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(1).Add(10 * time.Second)) // poll: feature 12 appears
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(2))
	got := map[int64]scheduler.Outcome{}
	for _, r := range results.next(t, ctx, 2) {
		got[r.FeatureID] = r.Outcome
	}
	if got[12] != scheduler.Fired || got[13] != scheduler.Fired {
		t.Errorf("12:02 outcomes %v", got)
	}

	setSchedule(t, ctx, log, minute(2).Add(20*time.Second), schedule.Set{FeatureID: 12, Expression: ""})
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(2).Add(30 * time.Second)) // poll: feature 12 is gone
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(4))
	for _, r := range results.next(t, ctx, 2) {
		if r.FeatureID != 13 {
			t.Errorf("cleared schedule ticked: %+v", r)
		}
	}
	if ev := tickEvents(t, ctx, log, tickStream(12, minute(4))); ev != nil {
		t.Errorf("cleared schedule's 12:04 tick: %v", ev)
	}
	if w := warn.all(); len(w) != 0 {
		t.Errorf("warnings or errors logged: %q", w)
	}
}

// TestSetRefusesBadInput: each refusal names the problem and appends
// nothing; the empty expression clears.
func TestSetRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	meta := commands.Meta{Actor: "account-2", Now: t0}
	tests := []struct {
		name  string
		cmd   schedule.Set
		field string
		says  string
	}{
		{"invalid cron", schedule.Set{FeatureID: 12, Expression: "0 9 * * MON-XYZ", OwnerID: 2},
			"schedule", `day of week field "MON-XYZ"`},
		{"unknown zone", schedule.Set{FeatureID: 12, Expression: "0 9 * * *", Zone: "Europe/Atlantis", OwnerID: 2},
			"original_timezone", `unknown time zone "Europe/Atlantis"`},
		{"seconds", schedule.Set{FeatureID: 12, Expression: "0 0 9 * * *", OwnerID: 2},
			"schedule", "seconds field is not supported"},
	}
	for _, tt := range tests {
		_, _, err := scheduler.Set(ctx, log, meta, tt.cmd)
		var fe *domain.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: got %v, want a %s error saying %s", tt.name, err, tt.field, tt.says)
		}
	}
	head, _, err := log.Store().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !head.IsZero() {
		t.Errorf("refused commands appended up to %v", head)
	}

	if _, ok, err := scheduler.Set(ctx, log, meta, schedule.Set{FeatureID: 12}); err != nil || ok {
		t.Errorf("clearing no schedule: ok %v, err %v", ok, err)
	}
	if _, ok, err := scheduler.Set(ctx, log, meta,
		schedule.Set{FeatureID: 12, Expression: "30 0 * * 1", Zone: "Europe/Berlin", OwnerID: 2, Now: t0}); err != nil || !ok {
		t.Fatalf("set: ok %v, err %v", ok, err)
	}
	if _, ok, err := scheduler.Set(ctx, log, meta, schedule.Set{FeatureID: 12, Now: t0}); err != nil || !ok {
		t.Fatalf("clear: ok %v, err %v", ok, err)
	}
	events, _, err := log.Load(ctx, schedule.Stream(12))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type)
	}
	want := []string{eventschemas.TypeFeatureScheduled, eventschemas.TypeScheduleCleared}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("schedule stream (-want +got):\n%s", diff)
	}
	if set := events[0].Payload.(*eventschemas.FeatureScheduled); set.Expression != "30 0 * * 1" ||
		set.Zone != "Europe/Berlin" {
		t.Errorf("stored %+v, want the expression and zone as given", set)
	}
	_, err = log.Store().ReadStream(ctx, tickStream(12, t0), eventstore.StreamQuery{})
	if !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("a tick stream exists: %v", err)
	}
}

// panickyRunner panics on its first request, then behaves like runs.
type panickyRunner struct {
	runs     *runLedger
	panicked chan struct{}
}

func (r panickyRunner) RequestRun(ctx context.Context, req scheduler.RunRequest) (int64, error) {
	select {
	case <-r.panicked:
		return r.runs.RequestRun(ctx, req)
	default:
		close(r.panicked)
		panic("runner bug")
	}
}

// TestPanicInAJobIsRecovered: a job that panics is logged through slog by
// cron.Recover; the scheduler goes on, and the tick whose run request
// panicked is finished like any claimed tick without a run.
func TestPanicInAJobIsRecovered(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "* * * * *", OwnerID: 2})
	clock := newFakeClock(t0)
	runs := newRunLedger()
	runner := panickyRunner{runs: runs, panicked: make(chan struct{})}
	results := make(outcomes, 16)
	warn := newWarnings()
	start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runner, scheduler.Config{
		Clock: clock, OnTick: results.onTick, Grace: 20 * time.Second, Logger: warn.logger(),
	}))
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(1))
	<-runner.panicked
	clock.WaitForSleepers(ctx, 1)

	clock.Set(minute(2))
	got := map[string]scheduler.Outcome{}
	for _, r := range results.next(t, ctx, 2) {
		got[r.Fire.At.Format("15:04")] = r.Outcome
	}
	want := map[string]scheduler.Outcome{"12:01": scheduler.ClaimedElsewhere, "12:02": scheduler.Fired}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes after the panic (-want +got):\n%s", diff)
	}
	stream := tickStream(12, minute(1))
	pollUntilFinished(t, ctx, clock, log, stream)
	if _, n := runs.counts(); n != 2 {
		t.Errorf("%d runs, want one per tick", n)
	}
	w := warn.all()
	if len(w) != 1 || !strings.Contains(w[0], "cron: panic") || !strings.Contains(w[0], "runner bug") {
		t.Errorf("logged %q, want the recovered panic once", w)
	}
}

// pollUntilFinished moves the clock on from poll to poll until the
// claimed tick of stream has its run request recorded.
func pollUntilFinished(t *testing.T, ctx context.Context, clock *fakeClock, log *commands.Log, stream string) {
	t.Helper()
	for len(tickEvents(t, ctx, log, stream)) < 2 {
		clock.WaitForSleepers(ctx, 1)
		clock.Set(clock.Now().Add(10 * time.Second))
		if ctx.Err() != nil {
			t.Fatalf("claimed tick %s never finished", stream)
		}
	}
}

// slowRunner holds its first request until release is closed.
type slowRunner struct {
	runs             *runLedger
	entered, release chan struct{}
}

func (r slowRunner) RequestRun(ctx context.Context, req scheduler.RunRequest) (int64, error) {
	select {
	case r.entered <- struct{}{}:
		<-r.release
	default:
	}
	return r.runs.RequestRun(ctx, req)
}

// skips tells when robfig's SkipIfStillRunning skipped a job.
type skips chan struct{}

func (s skips) Enabled(context.Context, slog.Level) bool { return true }
func (s skips) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "cron: skip" {
		select {
		case s <- struct{}{}:
		default:
		}
	}
	return nil
}
func (s skips) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s skips) WithGroup(string) slog.Handler      { return s }

// TestSkippedDispatchIsMadeUp: a tick that comes due while the job is
// still busy with the previous one is skipped by SkipIfStillRunning and
// handled, on time, as soon as the job is free.
func TestSkippedDispatchIsMadeUp(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "* * * * *", OwnerID: 2})
	clock := newFakeClock(t0)
	runs := newRunLedger()
	runner := slowRunner{runs: runs, entered: make(chan struct{}), release: make(chan struct{})}
	results := make(outcomes, 16)
	skipped := make(skips, 1)
	start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runner, scheduler.Config{
		Clock: clock, OnTick: results.onTick, Grace: 20 * time.Second, Logger: slog.New(skipped),
	}))
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(1))
	<-runner.entered
	clock.Set(minute(2))
	<-skipped
	close(runner.release)

	var got []string
	for _, r := range results.next(t, ctx, 2) {
		got = append(got, r.Fire.At.Format("15:04")+" "+r.Outcome.String())
	}
	if diff := cmp.Diff([]string{"12:01 fired", "12:02 fired"}, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// refusingRunner refuses the runs of feature 12, as the run commands
// refuse the run of a deleted feature, and grants the others.
type refusingRunner struct{ calls chan scheduler.RunRequest }

func (r refusingRunner) RequestRun(_ context.Context, req scheduler.RunRequest) (int64, error) {
	r.calls <- req
	if req.FeatureID == 12 {
		return 0, fmt.Errorf("scheduled run: %w", domain.NotFound("feature", req.FeatureID))
	}
	return 99, nil
}

// signalingSource tells the test about every snapshot it hands out.
type signalingSource struct {
	scheduler.Source
	polled chan struct{}
}

func (s signalingSource) Snapshot(ctx context.Context) (scheduler.Snapshot, error) {
	snap, err := s.Source.Snapshot(ctx)
	s.polled <- struct{}{}
	return snap, err
}

// TestRefusedRunIsNotRetried: a tick whose run the run commands refuse
// (the feature is gone) is claimed, logged once as a warning, its refusal
// recorded in the tick stream with the reason, and not asked for again
// when the claims without a run are finished, by this scheduler or by a
// new one reading the log afresh (a restart, another replica). Another
// such claim, of a claimer that stopped, is finished in each pass: that
// request is how the test knows the pass happened.
func TestRefusedRunIsNotRetried(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "1 12 * * *", OwnerID: 2})
	clock := newFakeClock(t0)
	runs := refusingRunner{calls: make(chan scheduler.RunRequest, 8)}
	src := signalingSource{Source: scheduler.NewLogSource(log.Store(), log.Registry()), polled: make(chan struct{}, 8)}
	results := make(outcomes, 8)
	warn := newWarnings()
	stop := start(t, scheduler.New(log, src, runs, scheduler.Config{Clock: clock, Grace: 20 * time.Second,
		Logger: warn.logger(), OnTick: results.onTick}))
	awaitPoll := func() {
		t.Helper()
		select {
		case <-src.polled:
		case <-ctx.Done():
			t.Fatal("no poll")
		}
	}
	awaitPoll()

	clock.Set(minute(1))
	if r := results.next(t, ctx, 1)[0]; r.Outcome != scheduler.Failed || !errors.Is(r.Err, domain.ErrNotFound) {
		t.Fatalf("tick outcome %v (%v), want failed: not found", r.Outcome, r.Err)
	}
	awaitPoll() // the poll at 12:01, before the job
	if req := <-runs.calls; req.FeatureID != 12 {
		t.Fatalf("first request %+v", req)
	}

	// A claim of feature 13 whose claimer stopped; it is listed after
	// feature 12's (same claim time, later stream name).
	fire := schedule.Fire{At: minute(1), Nominal: "2026-05-04T12:01"}
	orphan := schedule.TickStream(13, fire)
	sched13 := schedule.Schedule{FeatureID: 13, Expression: "1 12 * * *", Zone: "UTC", OwnerID: 2}
	res, err := log.Append(ctx, orphan, eventstore.NoStream(), commands.Meta{Actor: "account-2", Now: minute(1)},
		&eventschemas.ScheduleTickFired{TickTime: schedule.TickTime(sched13, fire), OwnerID: 2,
			CorrelationID: orphan, At: minute(1)})
	if err != nil {
		t.Fatal(err)
	}
	waitVisible(t, ctx, log.Store(), res.Position)
	waitVisible(t, ctx, log.Store(), lastPosition(t, ctx, log.Store(), tickStream(12, minute(1))))
	clock.Set(minute(1).Add(30 * time.Second)) // both claims older than the grace period
	select {
	case req := <-runs.calls:
		if req.FeatureID != 13 {
			t.Errorf("the refused run was asked for again: %+v", req)
		}
	case <-ctx.Done():
		t.Fatal("the orphaned claim was not finished")
	}
	stop()

	if n := len(runs.calls); n != 0 {
		t.Errorf("%d more run requests", n)
	}
	refusedStream := tickStream(12, minute(1))
	if diff := cmp.Diff([]string{eventschemas.TypeScheduleTickFired, eventschemas.TypeScheduleTickRunRefused},
		tickEvents(t, ctx, log, refusedStream)); diff != "" {
		t.Errorf("refused tick stream (-want +got):\n%s", diff)
	}
	events, _, err := log.Load(ctx, refusedStream)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := events[len(events)-1].Payload.(*eventschemas.ScheduleTickRunRefused)
	if !ok || got.FeatureID != 12 || got.Category != "not_found" || !strings.Contains(got.Reason, "feature 12") ||
		got.CorrelationID != refusedStream {
		t.Errorf("refusal recorded as %+v, want feature 12, not_found, the reason and the tick's correlation", got)
	}
	w := warn.all()
	if len(w) != 1 || !strings.HasPrefix(w[0], "scheduled run refused") {
		t.Errorf("logged %q, want one warning that the run was refused", w)
	}

	// A scheduler that reads the log afresh, with one more orphaned claim
	// (feature 14) as the sign of its pass.
	orphan14 := schedule.TickStream(14, fire)
	sched14 := schedule.Schedule{FeatureID: 14, Expression: "1 12 * * *", Zone: "UTC", OwnerID: 2}
	res, err = log.Append(ctx, orphan14, eventstore.NoStream(), commands.Meta{Actor: "account-2", Now: minute(1)},
		&eventschemas.ScheduleTickFired{TickTime: schedule.TickTime(sched14, fire), OwnerID: 2,
			CorrelationID: orphan14, At: minute(1)})
	if err != nil {
		t.Fatal(err)
	}
	waitVisible(t, ctx, log.Store(), res.Position)
	fresh := scheduler.NewLogSource(log.Store(), log.Registry())
	stop = start(t, scheduler.New(log, fresh, runs, scheduler.Config{Clock: clock, Grace: 20 * time.Second,
		Logger: warn.logger()}))
	// Feature 13's claim may be asked for again: the first scheduler was
	// stopped as soon as it asked, maybe before it recorded the request.
	for seen14 := false; !seen14; {
		select {
		case req := <-runs.calls:
			if req.FeatureID == 12 {
				t.Errorf("after a restart, the refused run was asked for again: %+v", req)
			}
			seen14 = req.FeatureID == 14
		case <-ctx.Done():
			t.Fatal("the second orphaned claim was not finished")
		}
	}
	stop()
	for len(runs.calls) > 0 {
		if req := <-runs.calls; req.FeatureID == 12 {
			t.Errorf("after a restart, the refused run was asked for again: %+v", req)
		}
	}
}
