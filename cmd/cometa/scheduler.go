package main

import (
	"context"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/runner/worker"
	"github.com/cometa-es/cometa/scheduler"
)

// schedulerCmd runs the scheduler alone: it fires the schedules' ticks and
// requests their runs; a projector elsewhere keeps the schedules read
// model current and runners elsewhere execute the runs. Several may run
// against one store: every tick still fires once.
type schedulerCmd struct{}

// Run schedules until SIGINT or SIGTERM.
func (schedulerCmd) Run(p *process) error { return runParts(p, parts{scheduler: true}) }

// startScheduler starts the scheduler until ctx ends. It learns the
// schedules from the schedules read model and requests each tick's run
// through the run commands as the schedule's owner, keyed by the tick, so
// that a tick requested twice (a replica finishing a claim) runs once.
func (c *core) startScheduler(ctx context.Context, g *errgroup.Group, cfg Config, in *infra, logger *slog.Logger) {
	s := scheduler.New(c.log,
		scheduler.NewModelSource(projections.NewScheduleReader(in.pool)),
		worker.NewScheduledRuns(c.runCommands(in), nil),
		scheduler.Config{
			Grace:        cfg.SchedulerGrace,
			PollInterval: cfg.SchedulerPollInterval,
			Logger:       logger.With("component", "scheduler"),
		})
	// TODO(scheduler): export the tick outcomes (Config.OnTick) as
	// metrics beside the API's; today they are only logged.
	g.Go(func() error {
		if err := c.waitModels(ctx, logger, "scheduler", "schedules", "features", "runqueue"); err != nil ||
			ctx.Err() != nil {
			return err
		}
		return stopped(ctx, s.Run(ctx))
	})
}
