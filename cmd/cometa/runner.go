package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/worker"
)

// runCommands returns the run commands over the read models they consult
// (features for the pinned definition, the run queue for variables and
// running results). The API and the runner build the same.
func (c *core) runCommands(in *infra) *commands.Runs {
	queue := projections.NewRunQueueReader(in.pool)
	return commands.NewRuns(c.log, c.ids, commands.RunsConfig{
		Library: projections.NewFeatureReader(in.pool), Variables: queue, Running: queue,
	})
}

// startRunner starts the worker that claims and executes feature results
// in Chromium, until ctx ends. Its browsers' temporary folders and the
// uploads live in the data dir; screenshots in its screenshot store.
func (c *core) startRunner(ctx context.Context, g *errgroup.Group, cfg Config, in *infra, logger *slog.Logger) error {
	tmp := filepath.Join(in.dataDir, "browsers")
	uploads := filepath.Join(in.dataDir, "uploads")
	for _, dir := range []string{tmp, uploads} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
	}
	w := worker.New(worker.Deps{
		Log:         c.log,
		Runs:        c.runCommands(in),
		Queue:       projections.NewRunQueueReader(in.pool),
		Screenshots: c.shots,
		Catalogue:   steps.NewCatalogue(),
		Variables:   commands.NewVariables(c.log, c.ids, projections.NewVariableReader(in.pool), in.passphrase),
		Config: worker.Config{
			MaxParallel:     cfg.MaxParallelRuns,
			Lease:           cfg.RunLease,
			BrowserBin:      cfg.BrowserBin,
			RemoteBrowser:   cfg.BrowserURL,
			ResolveAllHosts: !cfg.BrowserLoopbackOnly,
			TempDir:         tmp,
			Passphrase:      in.passphrase,
			UploadsDir:      uploads,
			Logger:          logger.With("component", "runner"),
		},
	})
	g.Go(func() error {
		if err := c.waitModels(ctx, logger, "runner", runnerModels...); err != nil || ctx.Err() != nil {
			return err
		}
		return stopped(ctx, w.Run(ctx))
	})
	return nil
}

// runnerModels are the read models the runner reads: the run queue, the
// features (pinned definitions of sub-features) and the variables.
var runnerModels = []string{"runqueue", "features", "variables"}

// stopped returns err of a part's Run unless ctx has ended: a part that
// starts just as the process stops may fail its first call with ctx's
// error (the runner's first subscription), which is the stop, not a fault.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// waitModels waits until the read models part reads have been built, so
// that on a first start it does not query tables the projectors have not
// created yet. A ctx that ends first is no error: the process stops.
func (c *core) waitModels(ctx context.Context, logger *slog.Logger, part string, models ...string) error {
	logger.DebugContext(ctx, "waiting for read models", "part", part, "read_models", models)
	if err := c.projects.WaitBuilt(ctx, models...); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", part, err)
	}
	return nil
}
