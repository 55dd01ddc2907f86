package scheduler_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/scheduler"
)

// TestLogSourceFolds follows schedules, their latest ticks and the claims
// without a recorded run request through the log, incrementally.
func TestLogSourceFolds(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	log := newLog(t)
	src := scheduler.NewLogSource(log.Store(), log.Registry())
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 12, Expression: "30 0 * * 1", Zone: "Europe/Berlin", OwnerID: 2})
	setSchedule(t, ctx, log, t0, schedule.Set{FeatureID: 13, Expression: "@hourly", OwnerID: 3})

	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []scheduler.Active{
		{Schedule: schedule.Schedule{FeatureID: 12, Expression: "30 0 * * 1", Zone: "Europe/Berlin", OwnerID: 2,
			CatchUp: schedule.CatchUpSkip, Since: t0}},
		{Schedule: schedule.Schedule{FeatureID: 13, Expression: "@hourly", Zone: "UTC", OwnerID: 3,
			CatchUp: schedule.CatchUpSkip, Since: t0}},
	}
	if diff := cmp.Diff(want, snap.Schedules); diff != "" || len(snap.Unrequested) != 0 {
		t.Errorf("first snapshot (-want +got):\n%s\nunrequested %v", diff, snap.Unrequested)
	}

	meta := commands.Meta{Actor: "account-3", Now: minute(1)}
	fire := schedule.Fire{At: minute(1), Nominal: "2026-05-04T12:01"}
	stream := schedule.TickStream(13, fire)
	sched13 := want[1].Schedule
	if _, err := log.Append(ctx, stream, eventstore.NoStream(), meta, &eventschemas.ScheduleTickFired{
		TickTime: schedule.TickTime(sched13, fire), OwnerID: 3, CorrelationID: stream, At: minute(1),
	}); err != nil {
		t.Fatal(err)
	}
	res, err := log.Append(ctx, "feature-12", eventstore.Any(), meta, &eventschemas.FeatureDeleted{FeatureID: 12})
	if err != nil {
		t.Fatal(err)
	}
	waitVisible(t, ctx, log.Store(), res.Position)

	snap, err = src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want13 := []scheduler.Active{{Schedule: sched13, LastTick: minute(1)}}
	if diff := cmp.Diff(want13, snap.Schedules); diff != "" {
		t.Errorf("after a tick and deleting feature 12 (-want +got):\n%s", diff)
	}
	if len(snap.Unrequested) != 1 || snap.Unrequested[0].Stream != stream || snap.Unrequested[0].OwnerID != 3 ||
		!snap.Unrequested[0].ClaimedAt.Equal(minute(1)) {
		t.Errorf("unrequested %+v", snap.Unrequested)
	}

	res, err = log.Append(ctx, stream, eventstore.Exact(0), meta, &eventschemas.ScheduleTickRunRequested{
		FeatureID: 13, Tick: fire.ID(), RunID: 5, CorrelationID: stream, At: minute(1).Add(time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	waitVisible(t, ctx, log.Store(), res.Position)
	if snap, err = src.Snapshot(ctx); err != nil || len(snap.Unrequested) != 0 {
		t.Errorf("after the run request: unrequested %v, %v", snap.Unrequested, err)
	}
}
