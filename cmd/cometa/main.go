// Command cometa is the Cometa-ES server: one binary whose subcommands run
// the whole product in one process (serve) or one part of it (api, runner),
// so that the parts can scale apart.
//
// This file is the composition root's entry: it parses the command line
// with kong and hands each command the process's environment and output.
// The configuration comes from the environment only (see Config).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/alecthomas/kong"
)

// version is the version reported by `cometa version` and GET
// /backend/info/. The Makefile sets it with
// -ldflags "-X main.version=...".
var version = "2.5.95-es.dev"

// Exit codes of the binary.
const (
	exitOK      = 0
	exitFailure = 1
	exitConfig  = 2
)

// cli is the command tree. A new command is a field here and a type with a
// Run(*process) error method.
type cli struct {
	Serve     serveCmd     `cmd:"" help:"Run the API, projector, scheduler and runner in one process."`
	API       apiCmd       `cmd:"" name:"api" help:"Run the HTTP API only."`
	Runner    runnerCmd    `cmd:"" help:"Run the test runner only."`
	Scheduler schedulerCmd `cmd:"" help:"Run the scheduler only (fire schedule ticks, request their runs)."`
	Version   versionCmd   `cmd:"" help:"Print the version and exit."`

	Projector   projectorCmd   `cmd:"" help:"Run the projectors only (keep the read models current)."`
	Projections projectionsCmd `cmd:"" help:"Inspect or rebuild the read models of a server's database, or skip an event one cannot apply."`
	DiffImages  diffImagesCmd  `cmd:"" name:"diff-images" help:"Count the differing pixels of two PNG images."`
}

// process is what every command gets from main: the environment it may
// read configuration from and where to write.
type process struct {
	ctx     context.Context
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

// config loads and validates the configuration from the environment.
func (p *process) config() (Config, error) { return LoadConfig(p.environ) }

// logger builds the process's logger from cfg.
func (p *process) logger(cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(p.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(p.stderr, opts))
}

func main() {
	p := &process{
		ctx:     context.Background(),
		environ: os.Environ(),
		stdout:  os.Stdout,
		stderr:  os.Stderr,
	}
	os.Exit(run(p, os.Args[1:], os.Exit))
}

// run parses args, runs the chosen command and returns the exit code. exit
// is called by kong after --help.
func run(p *process, args []string, exit func(int)) int {
	var root cli
	parser, err := kong.New(&root,
		kong.Name("cometa"),
		kong.Description("Cometa-ES: browser test automation on an event log. "+
			"Configuration comes from COMETA_* environment variables (see README.md)."),
		kong.Writers(p.stdout, p.stderr),
		kong.Exit(exit),
	)
	if err != nil {
		fmt.Fprintf(p.stderr, "cometa: %v\n", err)
		return exitFailure
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		var perr *kong.ParseError
		if errors.As(err, &perr) && perr.Context != nil {
			_ = perr.Context.PrintUsage(true)
		}
		fmt.Fprintf(p.stderr, "cometa: %v\n", err)
		return exitConfig
	}

	err = kctx.Run(p)
	var cerr *ConfigError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &cerr):
		fmt.Fprintf(p.stderr, "cometa: %v\n", err)
		return exitConfig
	default:
		fmt.Fprintf(p.stderr, "cometa: %v\n", err)
		return exitFailure
	}
}

// versionCmd prints the version.
type versionCmd struct{}

// Run prints the version on stdout.
func (versionCmd) Run(p *process) error {
	_, err := fmt.Fprintln(p.stdout, version)
	return err
}
