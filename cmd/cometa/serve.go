package main

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"
	"time"

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
	g, gctx := errgroup.WithContext(ctx)
	// TODO(composition): mount readapi on app when want.api, and start the
	// projector, scheduler and runner with g.Go when want says so, each
	// returning when gctx ends. They do not exist yet.
	_ = want
	g.Go(func() error { return serveHTTP(gctx, app, ln, cfg.ShutdownTimeout) })

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
