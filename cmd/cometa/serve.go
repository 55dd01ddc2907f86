package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
)

// serveCmd runs every part of the product in one process.
type serveCmd struct{}

// Run serves the API and runs the background parts until SIGINT or SIGTERM.
func (serveCmd) Run(p *process) error {
	return runParts(p, parts{api: true, projector: true, scheduler: true, runner: true})
}

// apiCmd runs the HTTP API alone; several can run behind a load balancer.
type apiCmd struct{}

// Run serves the API until SIGINT or SIGTERM.
func (apiCmd) Run(p *process) error { return runParts(p, parts{api: true}) }

// projectorCmd runs the projectors alone: it keeps the read models
// current for API processes that run without them.
type projectorCmd struct{}

// Run projects until SIGINT or SIGTERM.
func (projectorCmd) Run(p *process) error { return runParts(p, parts{projector: true}) }

// runnerCmd runs the test runner alone. It still serves /healthz and
// /readyz on COMETA_LISTEN so that an orchestrator can watch it.
type runnerCmd struct{}

// Run executes runs until SIGINT or SIGTERM.
func (runnerCmd) Run(p *process) error { return runParts(p, parts{runner: true}) }

// parts says which components a process runs.
type parts struct {
	api       bool
	projector bool
	scheduler bool
	runner    bool
}

// runParts is the composition root shared by serve, api and runner: it loads
// the configuration, opens the infrastructure, starts the chosen parts and
// the HTTP server, and on SIGINT or SIGTERM stops them in reverse order.
func runParts(p *process, want parts) error {
	cfg, err := p.config()
	if err != nil {
		return err
	}
	logger := p.logger(cfg)

	ctx, stopSignals := signal.NotifyContext(p.ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	go func() {
		// After the first signal, a second one kills the process at once
		// (the private PostgreSQL dies with it, see pgserver).
		<-ctx.Done()
		stopSignals()
	}()

	// Listen before starting anything, so a busy port fails fast.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()

	infra, err := openInfra(ctx, cfg, logger)
	if err != nil && ctx.Err() != nil {
		// A signal during start-up: openInfra has undone what it started.
		logger.Info("cometa start-up interrupted", "err", err)
		return nil
	}
	if err != nil {
		return err
	}

	app := newHTTPApp(cfg, logger, infra.checks())
	// The stop goes in order: first the HTTP server (it stops accepting,
	// ends long waits and live streams at once, and lets open requests
	// finish, which may wait for the projectors), then the parts (runner,
	// scheduler, projectors), then the store, the pool and the cluster. So
	// the parts run on a context of their own, ended after the server; a
	// part that fails ends it early, and stops the server too.
	partsCtx, stopParts := context.WithCancel(context.WithoutCancel(ctx))
	defer stopParts()
	g, gctx := errgroup.WithContext(partsCtx)
	if err := startParts(gctx, g, app, cfg, infra, logger, want); err != nil {
		stopParts()
		_ = g.Wait()
		closeCtx, done := context.WithTimeout(context.WithoutCancel(p.ctx), cfg.ShutdownTimeout)
		defer done()
		infra.close(closeCtx)
		return err
	}
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopHTTP()
	defer context.AfterFunc(gctx, stopHTTP)()
	g.Go(func() error {
		defer stopParts()
		return serveHTTP(httpCtx, app, ln, cfg.ShutdownTimeout, logger)
	})

	logger.InfoContext(ctx, "cometa started", "version", version, "listen", ln.Addr().String(),
		"event_store", infra.storeKind, "database", infra.databaseKind)
	err = g.Wait()

	stopping := time.Now()
	logger.Info("cometa stopping")
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), cfg.ShutdownTimeout)
	defer cancel()
	infra.close(closeCtx)
	logger.Info("cometa stopped", "duration", time.Since(stopping))
	return err
}

// startParts starts the parts that want names, each in g and returning
// when ctx ends: the projectors (serve, projector) or only the checkpoint
// listener that read-your-writes needs (api), and the API mounted on app.
func startParts(ctx context.Context, g *errgroup.Group, app *fiber.App, cfg Config, in *infra,
	logger *slog.Logger, want parts) error {
	c, err := newCore(in, logger)
	if err != nil {
		return err
	}
	if want.runner {
		if err := c.startRunner(ctx, g, cfg, in, logger); err != nil {
			return err
		}
	}
	if want.scheduler {
		c.startScheduler(ctx, g, cfg, in, logger)
	}
	if !want.api {
		// The API serves the registry itself; a process without it still
		// shows what its parts count (the scheduler's ticks).
		app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(c.metrics, promhttp.HandlerOpts{})))
	}
	if !want.api && !want.projector {
		return nil
	}
	if want.projector {
		g.Go(func() error { return c.projects.Run(ctx) })
	} else {
		g.Go(func() error { return c.projects.Listen(ctx) })
	}
	if !want.api {
		return nil
	}
	prepare, err := c.mountAPI(ctx, app, cfg, in, logger)
	if err != nil {
		return err
	}
	if want.projector {
		// The read models are projected here and catch up at once, so the
		// bootstrap token works from the first request on.
		prepare()
		return nil
	}
	// The projector runs elsewhere, maybe not yet: serve meanwhile.
	g.Go(func() error {
		prepare()
		return nil
	})
	return nil
}
