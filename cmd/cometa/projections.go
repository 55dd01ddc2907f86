package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"

	"github.com/cometa-es/cometa/internal/pgserver"
	"github.com/cometa-es/cometa/projections"
)

// projectionsCmd groups the read-model maintenance commands: status,
// rebuild, and the skip of a dead-lettered event. They work on the database
// of a running server: the configured COMETA_DATABASE_URL, or the private
// cluster that a server running on COMETA_DATA_DIR published; with
// neither, they start the private cluster of COMETA_DATA_DIR themselves,
// provided that it exists: they never create an installation.
type projectionsCmd struct {
	Status  projectionsStatusCmd  `cmd:"" help:"Show every read model: version, state, checkpoint, lag, last error."`
	Rebuild projectionsRebuildCmd `cmd:"" help:"Replay the log into fresh tables and swap them in; print a checksum per read model."`
	Skip    projectionsSkipCmd    `cmd:"" help:"Ask that a read model stuck at an event it cannot apply skip it and move on."`
}

// projectionsStatusCmd prints the status table.
type projectionsStatusCmd struct{}

// projectionsRebuildCmd rebuilds the named read models, all when none.
type projectionsRebuildCmd struct {
	Names []string `arg:"" optional:"" help:"Read models to rebuild (all when none)."`
}

// projectionsSkipCmd requests the skip of one dead-lettered event.
type projectionsSkipCmd struct {
	Model   string    `arg:"" help:"The read model stuck at the event."`
	EventID uuid.UUID `arg:"" name:"event-id" help:"The id of the event (the event named in the status's LAST ERROR)."`
	By      string    `help:"Who asks, kept on the dead letter (default: cli:<the OS user>)."`
}

// withProjections opens the infrastructure and the core for a maintenance
// command and runs f, closing everything afterwards.
func withProjections(p *process, f func(ctx context.Context, mgr *projections.Manager) error) error {
	cfg, err := p.config()
	if err != nil {
		return err
	}
	logger := p.logger(cfg)
	ctx, stop := signal.NotifyContext(p.ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.DatabaseURL == "" {
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("data dir %q: %w", cfg.DataDir, err)
		}
		if url, ok := runningDatabaseURL(ctx, dir); ok {
			cfg.DatabaseURL = url
		} else if !pgserver.HasCluster(dir) {
			// Starting the private cluster here would create an empty
			// installation (a cluster, a passphrase) and report on it.
			return fmt.Errorf("no Cometa data directory at %s: set COMETA_DATA_DIR to the "+
				"server's data directory or COMETA_DATABASE_URL", dir)
		}
	}
	in, err := openInfra(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), cfg.ShutdownTimeout)
		defer cancel()
		in.close(closeCtx)
	}()
	c, err := newCore(in, logger)
	if err != nil {
		return err
	}
	return f(ctx, c.projects)
}

// Run prints one line per read model.
func (projectionsStatusCmd) Run(p *process) error {
	return withProjections(p, func(ctx context.Context, mgr *projections.Manager) error {
		list, err := mgr.Status(ctx)
		if err != nil {
			return err
		}
		return writeStatus(p.stdout, list)
	})
}

// writeStatus renders the status table.
func writeStatus(w io.Writer, list []projections.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSTATUS\tCHECKPOINT\tLAG EVENTS\tLAG SECONDS\tLAST ERROR")
	for _, st := range list {
		version := strconv.Itoa(st.Version)
		if st.StoredVersion != st.Version {
			version = fmt.Sprintf("%d (tables %d)", st.Version, st.StoredVersion)
		}
		lag := strconv.FormatInt(st.LagEvents, 10)
		if st.LagCapped {
			lag = ">=" + lag
		}
		last := "-"
		if f := st.Failure; f != nil {
			last = fmt.Sprintf("%s@%d (position %d/%d, event %s): %s", f.Stream, f.Revision,
				f.Position.Commit, f.Position.Prepare, f.EventID, oneLine(f.Cause))
		}
		for _, r := range st.PendingSkips {
			last += fmt.Sprintf("; skip of event %s requested by %s", r.EventID, r.RequestedBy)
		}
		state := string(st.State)
		if r := st.Rebuild; r != nil {
			state += fmt.Sprintf(" (%d events)", r.Events)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%.1f\t%s\n", st.Name, version, state,
			st.Checkpoint.Commit, st.Checkpoint.Prepare, lag, st.LagSeconds, last)
	}
	return tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Run rebuilds with a progress bar per read model on stderr and prints
// the result (events, checksum, duration) per read model on stdout.
func (c projectionsRebuildCmd) Run(p *process) error {
	return withProjections(p, func(ctx context.Context, mgr *projections.Manager) error {
		bars := map[string]*progressbar.ProgressBar{}
		progress := func(pr projections.Progress) {
			bar, ok := bars[pr.Name]
			if !ok {
				bar = progressbar.NewOptions64(-1,
					progressbar.OptionSetWriter(p.stderr),
					progressbar.OptionSetDescription("rebuild "+pr.Name),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("events"),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
				bars[pr.Name] = bar
			}
			_ = bar.Set64(pr.Events)
			if pr.Done {
				_ = bar.Finish()
			}
		}
		results, err := mgr.Rebuild(ctx, progress, c.Names...)
		for _, r := range results {
			fmt.Fprintf(p.stdout, "%s\tversion %d\t%d events\tchecksum %s\t%s\n",
				r.Name, r.Version, r.Events, r.Checksum, r.Duration.Round(time.Millisecond))
		}
		return err
	})
}

// Run records the skip request on the event's dead letter and says so. The
// command does not wait for the skip: the projector of the model, in the
// running server, does it at its next retry.
func (c projectionsSkipCmd) Run(p *process) error {
	by := c.By
	if by == "" {
		by = "cli:" + osUser()
	}
	return withProjections(p, func(ctx context.Context, mgr *projections.Manager) error {
		if err := mgr.RequestSkip(ctx, c.Model, c.EventID, by); err != nil {
			return err
		}
		_, err := fmt.Fprintf(p.stdout, "skip of event %s requested for read model %s (by %s); "+
			"the running server skips it at the model's next retry\n", c.EventID, c.Model, by)
		return err
	})
}

// osUser names the user running the command, "unknown" when the system
// cannot tell.
func osUser() string {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "unknown"
	}
	return u.Username
}
