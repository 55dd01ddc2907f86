package scheduler_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/scheduler"
)

var t0 = time.Date(2026, 5, 4, 12, 0, 30, 0, time.UTC)

func minute(n int) time.Time { return time.Date(2026, 5, 4, 12, n, 0, 0, time.UTC) }

// setSchedule sets a schedule and waits until a LogSource can see it.
func setSchedule(t *testing.T, ctx context.Context, log *commands.Log, now time.Time, cmd schedule.Set) {
	t.Helper()
	cmd.Now = now
	res, _, err := scheduler.Set(ctx, log, commands.Meta{Actor: "account-2", Now: now}, cmd)
	if err != nil {
		t.Fatal(err)
	}
	waitVisible(t, ctx, log.Store(), res.Position)
}

func tickStream(featureID int64, at time.Time) string {
	return schedule.TickStream(featureID, schedule.Fire{At: at})
}

// TestExactlyOncePerTickAcrossReplicas runs two schedulers on one store
// with "* * * * *" over three simulated minutes: each tick fires once,
// one run is requested per tick, and the replica that loses a tick only
// notes it.
func TestExactlyOncePerTickAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "* * * * *", Zone: "Europe/Berlin", OwnerID: 2})

	clock := newFakeClock(t0)
	runs := newRunLedger()
	results := make(outcomes, 16)
	warn := newWarnings()
	for range 2 {
		s := scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runs, scheduler.Config{
			Clock: clock, Logger: warn.logger(), OnTick: results.onTick, Grace: 20 * time.Second,
		})
		start(t, s)
	}
	clock.WaitForSleepers(ctx, 2) // both have loaded the schedule

	for m := 1; m <= 3; m++ {
		clock.Set(minute(m))
		got := results.next(t, ctx, 2)
		var outs []scheduler.Outcome
		for _, r := range got {
			outs = append(outs, r.Outcome)
			if !r.Fire.At.Equal(minute(m)) {
				t.Errorf("minute %d: outcome for tick %v", m, r.Fire.At)
			}
		}
		slices.Sort(outs)
		if diff := cmp.Diff([]scheduler.Outcome{scheduler.Fired, scheduler.ClaimedElsewhere}, outs); diff != "" {
			t.Errorf("minute %d outcomes (-want +got):\n%s", m, diff)
		}
		want := []string{eventschemas.TypeScheduleTickFired, eventschemas.TypeScheduleTickRunRequested}
		if diff := cmp.Diff(want, tickEvents(t, ctx, log, tickStream(12, minute(m)))); diff != "" {
			t.Errorf("minute %d tick stream (-want +got):\n%s", m, diff)
		}
	}

	calls, distinct := runs.counts()
	if calls != 3 || distinct != 3 {
		t.Errorf("run requests: %d calls for %d runs, want 3 and 3", calls, distinct)
	}
	for i, req := range runs.requests() {
		stream := tickStream(12, minute(i+1))
		want := scheduler.RunRequest{Key: scheduler.RunKey(stream), FeatureID: 12, OwnerID: 2,
			CorrelationID: stream, CausationID: req.CausationID}
		if diff := cmp.Diff(want, req); diff != "" || req.CausationID == "" {
			t.Errorf("run request %d (-want +got):\n%s", i, diff)
		}
	}
	waitVisible(t, ctx, log.Store(), lastPosition(t, ctx, log.Store(), tickStream(12, minute(3))))
	counts := countTypes(t, ctx, log.Store())
	if counts[eventschemas.TypeScheduleTickFired] != 3 || counts[eventschemas.TypeScheduleTickMissed] != 0 {
		t.Errorf("event counts %v", counts)
	}
	if w := warn.all(); len(w) != 0 {
		t.Errorf("warnings or errors logged: %q", w)
	}
}

// TestMissedTicksAreRecordedNotRun stops the only scheduler over two ticks:
// the next one to start records both as missed, runs neither, and goes on
// firing.
func TestMissedTicksAreRecordedNotRun(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "* * * * *", OwnerID: 2})
	clock := newFakeClock(t0)
	runs := newRunLedger()
	results := make(outcomes, 16)
	warn := newWarnings()
	cfg := scheduler.Config{Clock: clock, Logger: warn.logger(), OnTick: results.onTick, Grace: 20 * time.Second}

	stop := start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runs, cfg))
	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(1))
	if r := results.next(t, ctx, 1)[0]; r.Outcome != scheduler.Fired {
		t.Fatalf("first tick: %v", r.Outcome)
	}
	stop()
	waitVisible(t, ctx, log.Store(), lastPosition(t, ctx, log.Store(), tickStream(12, minute(1))))

	clock.Set(minute(3).Add(30 * time.Second)) // 12:02 and 12:03 pass with no scheduler
	start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runs, cfg))
	got := results.next(t, ctx, 2)
	for i, r := range got {
		if r.Outcome != scheduler.Missed || !r.Fire.At.Equal(minute(i+2)) {
			t.Errorf("after restart, outcome %d: %v for %v, want missed for %v", i, r.Outcome, r.Fire.At, minute(i+2))
		}
		want := []string{eventschemas.TypeScheduleTickMissed}
		if diff := cmp.Diff(want, tickEvents(t, ctx, log, tickStream(12, minute(i+2)))); diff != "" {
			t.Errorf("tick %v stream (-want +got):\n%s", minute(i+2), diff)
		}
	}
	if calls, _ := runs.counts(); calls != 1 {
		t.Errorf("%d run requests, want only the one before the stop", calls)
	}

	clock.WaitForSleepers(ctx, 1)
	clock.Set(minute(4))
	if r := results.next(t, ctx, 1)[0]; r.Outcome != scheduler.Fired || !r.Fire.At.Equal(minute(4)) {
		t.Errorf("tick after the restart: %v for %v", r.Outcome, r.Fire.At)
	}
	waitVisible(t, ctx, log.Store(), lastPosition(t, ctx, log.Store(), tickStream(12, minute(4))))
	counts := countTypes(t, ctx, log.Store())
	if counts[eventschemas.TypeScheduleTickMissed] != 2 || counts[eventschemas.TypeScheduleTickFired] != 2 {
		t.Errorf("event counts %v", counts)
	}
	if w := warn.all(); len(w) != 0 {
		t.Errorf("warnings or errors logged: %q", w)
	}
}

// TestRunOnceCatchesUp: under run_once, of the ticks missed while no
// scheduler ran, the latest runs late and the others are recorded missed.
func TestRunOnceCatchesUp(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 7, Expression: "*/1 * * * *", Zone: "Asia/Kolkata",
		OwnerID: 3, CatchUp: schedule.CatchUpRunOnce})
	clock := newFakeClock(minute(3).Add(40 * time.Second)) // 12:01 to 12:03 passed, nobody ran
	runs := newRunLedger()
	results := make(outcomes, 16)
	warn := newWarnings()
	start(t, scheduler.New(log, scheduler.NewLogSource(log.Store(), log.Registry()), runs, scheduler.Config{
		Clock: clock, OnTick: results.onTick, Grace: 20 * time.Second, Logger: warn.logger(),
	}))

	var got []string
	for _, r := range results.next(t, ctx, 3) {
		got = append(got, r.Fire.At.Format("15:04")+" "+r.Outcome.String())
		if r.Outcome == scheduler.Fired && !r.CatchUp {
			t.Errorf("late tick %v fired without catch_up", r.Fire.At)
		}
	}
	want := []string{"12:01 missed", "12:02 missed", "12:03 fired"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	reqs := runs.requests()
	if len(reqs) != 1 || reqs[0].OwnerID != 3 || reqs[0].CorrelationID != tickStream(7, minute(3)) {
		t.Errorf("run requests %+v", reqs)
	}
	events, _, err := log.Load(ctx, tickStream(7, minute(3)))
	if err != nil {
		t.Fatal(err)
	}
	fired, ok := events[0].Payload.(*eventschemas.ScheduleTickFired)
	if !ok || !fired.CatchUp || events[0].Actor != "account-3" || fired.NominalLocal != "2026-05-04T17:33" {
		t.Errorf("catch-up claim: %+v by %s", events[0].Payload, events[0].Actor)
	}
	if w := warn.all(); len(w) != 0 {
		t.Errorf("warnings or errors logged: %q", w)
	}
}

// lagging is a Source that keeps answering with one snapshot, as a read
// model that has not caught up yet would.
type lagging scheduler.Snapshot

func (l lagging) Snapshot(context.Context) (scheduler.Snapshot, error) {
	return scheduler.Snapshot(l), nil
}

// TestMissedTicksAreRecordedOnceByReplicas starts two schedulers after an
// outage, both reading the schedules before either recorded anything: each
// missed tick is recorded by one of them.
func TestMissedTicksAreRecordedOnceByReplicas(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "*/1 12 * * *", OwnerID: 2})
	snap, err := scheduler.NewLogSource(log.Store(), log.Registry()).Snapshot(ctx)
	if err != nil || len(snap.Schedules) != 1 {
		t.Fatalf("snapshot %+v, %v", snap, err)
	}
	clock := newFakeClock(minute(2).Add(30 * time.Second))
	runs := newRunLedger()
	results := make(outcomes, 16)
	warn := newWarnings()
	for range 2 {
		start(t, scheduler.New(log, lagging(snap), runs, scheduler.Config{
			Clock: clock, OnTick: results.onTick, Grace: 20 * time.Second, Logger: warn.logger(),
		}))
	}
	got := map[string]int{}
	for _, r := range results.next(t, ctx, 4) {
		got[r.Fire.At.Format("15:04")+" "+r.Outcome.String()]++
	}
	want := map[string]int{"12:01 missed": 1, "12:01 claimed_elsewhere": 1, "12:02 missed": 1, "12:02 claimed_elsewhere": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if calls, _ := runs.counts(); calls != 0 {
		t.Errorf("%d run requests for missed ticks", calls)
	}
	if w := warn.all(); len(w) != 0 {
		t.Errorf("warnings or errors logged: %q", w)
	}
}
