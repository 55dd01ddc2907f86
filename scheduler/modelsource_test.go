package scheduler_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/scheduler"
)

// TestModelSourceAgreesWithLogSource appends schedules, ticks (fired,
// missed, one without its run request), a feature deletion and the
// deletion of a feature's department, and checks after each step that the
// read-model Source gives the snapshot that folding the log gives.
func TestModelSourceAgreesWithLogSource(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pool := pgtest.NewPool(t)
	store, err := postgres.New(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	log := commands.NewLog(store, reg)
	mgr, err := projections.New(pool, store, reg, slog.New(slog.DiscardHandler),
		projections.Options{RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond},
		projections.NewSchedules())
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- mgr.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-ran
	})

	fromLog := scheduler.NewLogSource(store, reg)
	fromModel := scheduler.NewModelSource(projections.NewScheduleReader(pool))
	meta := commands.Meta{Actor: "account-3", Now: t0}
	compare := func(step string, pos eventstore.Position) {
		t.Helper()
		if err := mgr.WaitFor(ctx, pos); err != nil {
			t.Fatal(err)
		}
		waitVisible(t, ctx, store, pos)
		want, err := fromLog.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fromModel.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: model snapshot (-log +model):\n%s", step, diff)
		}
	}
	appendTick := func(stream string, expected eventstore.ExpectedRevision, p eventschemas.Payload) eventstore.Position {
		t.Helper()
		res, err := log.Append(ctx, stream, expected, meta, p)
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}

	for _, cmd := range []schedule.Set{
		{FeatureID: 12, Expression: "30 0 * * 1", Zone: "Europe/Berlin", OwnerID: 2, Now: t0},
		{FeatureID: 13, Expression: "* * * * *", OwnerID: 3, CatchUp: schedule.CatchUpRunOnce, Now: t0},
	} {
		if _, _, err := commands.SetSchedule(ctx, log, meta, cmd); err != nil {
			t.Fatal(err)
		}
	}
	res, err := log.Append(ctx, "feature-12", eventstore.Any(), meta, &eventschemas.FeatureSaved{FeatureID: 12,
		Version: 1, Definition: eventschemas.FeatureDefinition{FeatureName: "Twelve", DepartmentID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	compare("two schedules", res.Position)

	sched13 := schedule.Schedule{FeatureID: 13, Expression: "* * * * *", Zone: "UTC", OwnerID: 3,
		CatchUp: schedule.CatchUpRunOnce, Since: t0}
	fire := func(m int) schedule.Fire {
		return schedule.Fire{At: minute(m), Nominal: minute(m).Format(schedule.NominalLayout)}
	}
	s1, s2, s3 := schedule.TickStream(13, fire(1)), schedule.TickStream(13, fire(2)), schedule.TickStream(13, fire(3))
	appendTick(s1, eventstore.NoStream(), &eventschemas.ScheduleTickFired{TickTime: schedule.TickTime(sched13, fire(1)),
		OwnerID: 3, CorrelationID: s1, At: minute(1)})
	appendTick(s1, eventstore.Exact(0), &eventschemas.ScheduleTickRunRequested{FeatureID: 13, Tick: fire(1).ID(),
		RunID: 7, CorrelationID: s1, At: minute(1)})
	appendTick(s2, eventstore.NoStream(), &eventschemas.ScheduleTickMissed{TickTime: schedule.TickTime(sched13, fire(2)),
		DetectedAt: minute(4)})
	pos := appendTick(s3, eventstore.NoStream(), &eventschemas.ScheduleTickFired{
		TickTime: schedule.TickTime(sched13, fire(3)), OwnerID: 3, CorrelationID: s3, CatchUp: true, At: minute(4)})
	compare("fired, missed and an unrequested claim", pos)

	res, err = log.Append(ctx, "feature-12", eventstore.Any(), meta, &eventschemas.FeatureDeleted{FeatureID: 12})
	if err != nil {
		t.Fatal(err)
	}
	compare("feature 12 deleted", res.Position)

	// Feature 13's department is deleted: its schedule and its claim leave
	// both snapshots, and come back once it is saved into a live one.
	save13 := func(version int, department int64) eventstore.Position {
		t.Helper()
		res, err := log.Append(ctx, "feature-13", eventstore.Any(), meta, &eventschemas.FeatureSaved{FeatureID: 13,
			Version: version, Definition: eventschemas.FeatureDefinition{FeatureName: "Thirteen",
				DepartmentID: department}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	save13(1, 5)
	res, err = log.Append(ctx, "department-5", eventstore.Any(), meta, &eventschemas.DepartmentDeleted{DepartmentID: 5})
	if err != nil {
		t.Fatal(err)
	}
	compare("department 5 of feature 13 deleted", res.Position)
	if snap, err := fromModel.Snapshot(ctx); err != nil || len(snap.Schedules)+len(snap.Unrequested) != 0 {
		t.Errorf("snapshot after department 5 was deleted = %+v, %v; want an empty one", snap, err)
	}
	compare("feature 13 saved into department 1", save13(2, 1))
	if snap, err := fromModel.Snapshot(ctx); err != nil || len(snap.Schedules) != 1 || len(snap.Unrequested) != 1 {
		t.Errorf("snapshot after feature 13 left department 5 = %+v, %v; want its schedule and claim", snap, err)
	}

	res, _, err = commands.SetSchedule(ctx, log, meta, schedule.Set{FeatureID: 13, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	compare("schedule 13 cleared", res.Position)
}

// TestModelSourceBeforeTheModelIsBuilt reads a database no projector has
// built the schedules model in: nothing is scheduled, and that is no error.
func TestModelSourceBeforeTheModelIsBuilt(t *testing.T) {
	t.Parallel()
	src := scheduler.NewModelSource(projections.NewScheduleReader(pgtest.NewPool(t)))
	snap, err := src.Snapshot(testContext(t))
	if err != nil || len(snap.Schedules) != 0 || len(snap.Unrequested) != 0 {
		t.Errorf("snapshot of an unbuilt model = %+v, %v; want an empty one", snap, err)
	}
}
