package scheduler_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/scheduler"
)

// BenchmarkStartupSnapshot puts the first snapshot of a starting scheduler
// from the schedules read model (ModelSource) beside the one LogSource
// makes by folding the whole log, for a log of 50 schedules that each
// fired 60 ticks (6,000 tick events).
func BenchmarkStartupSnapshot(b *testing.B) {
	const schedules, ticks = 50, 60
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	store, err := postgres.New(ctx, pool, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		b.Fatal(err)
	}
	log := commands.NewLog(store, reg)
	meta := commands.Meta{Actor: "account-2", Now: t0}
	for f := int64(1); f <= schedules; f++ {
		if _, _, err := commands.SetSchedule(ctx, log, meta, schedule.Set{FeatureID: f,
			Expression: "* * * * *", Zone: "Europe/Berlin", OwnerID: 2, Now: t0}); err != nil {
			b.Fatal(err)
		}
		sched := schedule.Schedule{FeatureID: f, Expression: "* * * * *", Zone: "Europe/Berlin", OwnerID: 2}
		for m := 1; m <= ticks; m++ {
			at := t0.Add(time.Duration(m) * time.Minute).Truncate(time.Minute)
			fire := schedule.Fire{At: at, Nominal: at.Format(schedule.NominalLayout)}
			stream := schedule.TickStream(f, fire)
			if _, err := log.Append(ctx, stream, eventstore.NoStream(), meta,
				&eventschemas.ScheduleTickFired{TickTime: schedule.TickTime(sched, fire), OwnerID: 2,
					CorrelationID: stream, At: at},
				&eventschemas.ScheduleTickRunRequested{FeatureID: f, Tick: fire.ID(), RunID: int64(m),
					CorrelationID: stream, At: at}); err != nil {
				b.Fatal(err)
			}
		}
	}
	mgr, err := projections.New(pool, store, reg, slog.New(slog.DiscardHandler), projections.Options{},
		projections.NewSchedules())
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- mgr.Run(runCtx) }()
	b.Cleanup(func() {
		stop()
		<-ran
	})
	head, _, err := store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := mgr.WaitFor(ctx, head); err != nil {
		b.Fatal(err)
	}
	model := scheduler.NewModelSource(projections.NewScheduleReader(pool))

	start := time.Now()
	for b.Loop() {
		if snap, err := model.Snapshot(ctx); err != nil || len(snap.Schedules) != schedules {
			b.Fatalf("model snapshot: %d schedules, %v", len(snap.Schedules), err)
		}
	}
	ours := time.Since(start)
	n := b.N

	start = time.Now()
	for range n {
		if snap, err := scheduler.NewLogSource(store, reg).Snapshot(ctx); err != nil ||
			len(snap.Schedules) != schedules {
			b.Fatalf("log snapshot: %d schedules, %v", len(snap.Schedules), err)
		}
	}
	base := time.Since(start)
	benchreport.Record(b, float64(ours.Microseconds())/1000/float64(n),
		float64(base.Microseconds())/1000/float64(n), "ms/first-snapshot")
}
