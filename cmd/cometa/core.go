package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/readapi"
	"github.com/cometa-es/cometa/runner/screenshots"
	"github.com/cometa-es/cometa/runner/steps"
)

// prepareTimeout bounds the start-up seeding (bootstrap account, local
// browser), which waits for the read models to show it.
const prepareTimeout = 2 * time.Minute

// core is the event-sourced heart every part shares: the schema registry,
// the command log with its id allocator, and the projections Manager over
// every read model.
type core struct {
	reg      *eventschemas.Registry
	log      *commands.Log
	ids      *commands.IDs
	projects *projections.Manager
	// shots is the screenshot file store in the data dir, written by the
	// runner and served by the API.
	shots *screenshots.Store
	// metrics is the registry the API serves at /metrics; the scheduler
	// adds its tick counts to it.
	metrics *prometheus.Registry
}

// newCore builds the core on the infrastructure. Its only I/O is
// creating the screenshot store's directory.
func newCore(in *infra, logger *slog.Logger) (*core, error) {
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		return nil, fmt.Errorf("event registry: %w", err)
	}
	log := commands.NewLog(in.store, reg)
	mgr, err := projections.New(in.pool, in.store, reg, logger.With("component", "projections"),
		projections.Options{}, projections.ReadModels()...)
	if err != nil {
		return nil, err
	}
	shots, err := screenshots.New(filepath.Join(in.dataDir, screenshots.Dir))
	if err != nil {
		return nil, err
	}
	return &core{reg: reg, log: log, ids: commands.NewIDs(log, projections.IDSeed(in.pool)),
		projects: mgr, shots: shots, metrics: prometheus.NewRegistry()}, nil
}

// apiDeps returns what the API's handlers need.
func (c *core) apiDeps(cfg Config, in *infra, logger *slog.Logger) readapi.Deps {
	return readapi.Deps{
		Log: c.log, IDs: c.ids, Projections: c.projects, Pool: in.pool,
		Steps: steps.NewCatalogue(), Logger: logger.With("component", "api"), Now: time.Now,
		WriteWait: cfg.ReadYourWritesTimeout, Passphrase: in.passphrase, Version: version,
		Screenshots: c.shots, Metrics: c.metrics,
		BrowserStack: readapi.BrowserStack{
			Username: cfg.BrowserStackUsername, AccessKey: cfg.BrowserStackAccessKey, URL: cfg.BrowserStackURL,
		},
	}
}

// mountAPI mounts the API on app and returns the start-up seeding
// (bootstrap account, the installed Chromium) to run. Seeding waits for the
// read models to show it; a failure is logged, not fatal: the API serves
// what there is, and the next start tries again.
func (c *core) mountAPI(ctx context.Context, app *fiber.App, cfg Config, in *infra, logger *slog.Logger) (prepare func(), err error) {
	deps := c.apiDeps(cfg, in, logger)
	if err := readapi.Mount(app, deps); err != nil {
		return nil, err
	}
	return func() {
		seed := readapi.Seed{BootstrapToken: cfg.BootstrapToken}
		browser, err := readapi.LocalBrowser(ctx, cfg.BrowserBin)
		if err != nil {
			logger.WarnContext(ctx, "local browser not added to the catalogue", "err", err)
		}
		seed.LocalBrowser = browser
		pctx, cancel := context.WithTimeout(ctx, prepareTimeout)
		defer cancel()
		if err := readapi.Prepare(pctx, deps, seed); err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "start-up seeding incomplete", "err", err)
		}
	}, nil
}
