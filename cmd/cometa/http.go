package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/cometa-es/cometa/readapi"
)

// readyTimeout bounds each readiness check of GET /readyz.
const readyTimeout = 2 * time.Second

// check is one dependency that GET /readyz probes, e.g. the database.
type check struct {
	name  string
	probe func(ctx context.Context) error
}

// newHTTPApp builds the fiber application with the routes every process
// serves: /backend/info/, /healthz and /readyz. The API's routes (readapi)
// are mounted on the returned app by the serve and api commands.
//
// Every error, including an unknown route and a recovered panic, reaches
// the client as JSON; the cause of a 500 is logged, never sent.
func newHTTPApp(cfg Config, logger *slog.Logger, checks []check) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "cometa",
		DisableStartupMessage: true,
		BodyLimit:             int(cfg.BodyLimit),
		ReadTimeout:           time.Minute,
		IdleTimeout:           2 * time.Minute,
		ErrorHandler:          readapi.ErrorHandler(logger),
	})
	app.Use(recover.New())

	app.Get("/backend/info/", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"version": version})
	})
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		return readiness(c, logger, checks)
	})
	return app
}

// readiness answers 200 when every check passes and 503 naming the failing
// ones otherwise. The errors themselves go to the log only: they may name
// hosts or users.
func readiness(c *fiber.Ctx, logger *slog.Logger, checks []check) error {
	ctx := c.UserContext()
	status := map[string]string{}
	ready := true
	for _, ch := range checks {
		cctx, cancel := context.WithTimeout(ctx, readyTimeout)
		err := ch.probe(cctx)
		cancel()
		if err != nil {
			ready = false
			status[ch.name] = "unavailable"
			logger.WarnContext(ctx, "readiness check failed", "check", ch.name, "err", err)
			continue
		}
		status[ch.name] = "ok"
	}

	if !ready {
		return c.Status(fiber.StatusServiceUnavailable).
			JSON(fiber.Map{"status": "unavailable", "checks": status})
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": status})
}

// serveHTTP serves app on ln until ctx ends, then stops accepting and drains
// open requests for at most drain before closing them. The shutdown closes
// every request context's Done, which ends the long waits (exectest with
// wait, the live stream) with an answer at once; a request still open when
// drain is over is cut, which is logged: it is part of a graceful stop, not
// a failure of it.
func serveHTTP(ctx context.Context, app *fiber.App, ln net.Listener, drain time.Duration,
	logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	start := time.Now()
	err := app.ShutdownWithTimeout(drain)
	// Closing ln again makes Serve return even when the shutdown raced
	// with its start; the error of a second close means nothing.
	_ = ln.Close()
	<-served
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		logger.WarnContext(ctx, "open requests cut at the end of the shutdown timeout", "listen", ln.Addr().String(),
			"shutdown_timeout", drain)
	case err != nil:
		return fmt.Errorf("shut down http on %s: %w", ln.Addr(), err)
	default:
		logger.DebugContext(ctx, "http server stopped", "listen", ln.Addr().String(), "duration", time.Since(start))
	}
	return nil
}
