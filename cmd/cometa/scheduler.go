package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
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
			OnTick:       c.tickCounter(logger),
		})
	g.Go(func() error {
		if err := c.waitModels(ctx, logger, "scheduler", "schedules", "features", "runqueue"); err != nil ||
			ctx.Err() != nil {
			return err
		}
		return stopped(ctx, s.Run(ctx))
	})
}

// tickCounter returns the scheduler's OnTick: it counts the outcomes of the
// ticks this process handled in cometa_scheduler_ticks_total, served with
// the API's metrics. A claimed tick whose run was refused counts as
// "refused", not "failed". Without the counter (it could not be
// registered) the ticks are only logged.
func (c *core) tickCounter(logger *slog.Logger) func(scheduler.TickResult) {
	ticks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cometa_scheduler_ticks_total",
		Help: "Schedule ticks handled by this process's scheduler, by outcome " +
			"(fired, missed, claimed_elsewhere, refused, failed).",
	}, []string{"outcome"})
	if err := c.metrics.Register(ticks); err != nil {
		logger.Warn("scheduler tick metrics not registered", "err", err)
		return nil
	}
	for _, o := range []string{"fired", "missed", "claimed_elsewhere", "refused", "failed"} {
		ticks.WithLabelValues(o)
	}
	return func(r scheduler.TickResult) {
		outcome := r.Outcome.String()
		if r.RunRefused() {
			outcome = "refused"
		}
		ticks.WithLabelValues(outcome).Inc()
	}
}
