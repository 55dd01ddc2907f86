// Package pgserver runs a private PostgreSQL 15 cluster as a child of the Go
// process: `cometa serve` uses it when no database URL is configured, and
// the test harness (internal/pgtest) starts one per test binary.
//
// The cluster listens only on a unix socket, lives in DataDir/pgdata
// (created by initdb on the first start and reused afterwards) and never
// outlives the Go process that started it: the postmaster gets a fast
// shutdown signal when its parent dies.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the server.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// port only names the socket file (.s.PGSQL.<port>): nothing listens on TCP.
const port = 5432

// superuser is the role initdb creates; trust authentication on the socket,
// whose directory only the server's owner (and root) can enter.
const superuser = "postgres"

// Options configures Start.
type Options struct {
	// DataDir holds the cluster in DataDir/pgdata; initdb runs on the first
	// start only. It is created if missing.
	DataDir string
	// BinDir holds initdb and postgres; DefaultBinDir when empty.
	BinDir string
	// Logger receives the server's own log lines (Debug; FATAL as Warn,
	// PANIC as Error). Nil discards them.
	Logger *slog.Logger
	// Fast trades durability for speed, for tests: fsync, synchronous_commit
	// and full_page_writes are off. A crash of the machine can then corrupt
	// the cluster.
	Fast bool
}

// Server is a running private cluster.
type Server struct {
	dataDir   string
	socketDir string
	logger    *slog.Logger
	proc      *process
	logs      *logTail

	stopOnce sync.Once
	stopErr  error
}

// sharedMemoryAttempts bounds the starts tried while a killed server's
// shared memory is still in use (about 10 s in all).
const sharedMemoryAttempts = 40

// Start starts the cluster in opts.DataDir, running initdb first if the
// data dir holds no cluster yet, and returns once a connection succeeds.
// ctx bounds the whole start; on failure the error carries the server's
// last log lines.
func Start(ctx context.Context, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l, err := newLayout(opts)
	if err != nil {
		return nil, err
	}
	if err := l.prepare(); err != nil {
		return nil, err
	}
	if err := l.initdb(ctx, opts.Fast, logger); err != nil {
		return nil, err
	}
	// A server of this data dir that was just killed may still have
	// backends exiting, whose shared memory refuses a new postmaster for a
	// moment ("pre-existing shared memory block ... is still in use"). That
	// clears by itself, so it is retried for a bounded time.
	if err := awaitPreviousServer(ctx, l.pgdata, logger); err != nil {
		return nil, err
	}
	var s *Server
	started := time.Now()
	for attempt := 1; ; attempt++ {
		if err := clearStaleLock(l.pgdata, l.socketDir); err != nil {
			return nil, err
		}
		logs := newLogTail(logger)
		proc, err := startProcess(l.command(l.postgresBin, l.serverArgs(opts.Fast)...), logs)
		if err != nil {
			return nil, fmt.Errorf("start postgres in %q: %w", l.pgdata, err)
		}
		s = &Server{dataDir: l.dataDir, socketDir: l.socketDir, logger: logger, proc: proc, logs: logs}
		err = s.waitReady(ctx)
		if err == nil {
			break
		}
		_ = s.kill()
		proc.waitLogged(time.Second)
		report := logs.report()
		if strings.Contains(report, "shared memory block") && attempt < sharedMemoryAttempts && ctx.Err() == nil {
			logger.WarnContext(ctx, "postgres found the shared memory of a previous server still in use, retrying",
				"attempt", attempt)
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		return nil, fmt.Errorf("start postgres in %q: %w%s", l.pgdata, err, report)
	}
	logger.InfoContext(ctx, "postgres started", "data_dir", l.pgdata,
		"socket_dir", l.socketDir, "pid", s.proc.pid(), "duration", time.Since(started))
	return s, nil
}

// URL returns the pgx connection string of database over the unix socket,
// as the superuser.
func (s *Server) URL(database string) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.User(superuser),
		Path:   "/" + database,
		RawQuery: url.Values{
			"host":    {s.socketDir},
			"port":    {strconv.Itoa(port)},
			"sslmode": {"disable"},
		}.Encode(),
	}
	return u.String()
}

// EnsureDatabase creates database name unless it exists. Concurrent calls
// for the same name are safe.
func (s *Server) EnsureDatabase(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("ensure database: empty name")
	}
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("ensure database %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).
		Scan(&exists)
	if err != nil {
		return fmt.Errorf("ensure database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a racing call won
		return nil
	}
	if err != nil {
		return fmt.Errorf("ensure database %q: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, then a checkpoint) and waits for it to exit. If ctx ends first the
// server is stopped immediately (crash recovery runs on the next start).
// Stop is idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	if err := s.proc.signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	defer s.removeSocketDir()
	select {
	case <-s.proc.done:
		s.logger.DebugContext(ctx, "postgres stopped", "socket_dir", s.socketDir)
		return nil
	case <-ctx.Done():
	}
	_ = s.kill()
	return fmt.Errorf("stop postgres: fast shutdown did not finish: %w", ctx.Err())
}

// removeSocketDir removes a socket dir under /tmp (used when the data dir's
// path is too long) once the server has removed its socket.
func (s *Server) removeSocketDir() {
	if filepath.Dir(s.socketDir) != s.dataDir {
		_ = os.Remove(s.socketDir)
	}
}

// kill stops the server immediately (SIGQUIT, then SIGKILL for the group)
// and waits for the postmaster to exit.
func (s *Server) kill() error {
	_ = s.proc.signal(syscall.SIGQUIT)
	select {
	case <-s.proc.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-s.proc.pid(), syscall.SIGKILL)
	<-s.proc.done
	return nil
}

// waitReady polls until a connection to the server succeeds, the server
// exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	target := s.URL("postgres")
	for {
		err := ping(ctx, target)
		if err == nil {
			return nil
		}
		select {
		case <-s.proc.done:
			return fmt.Errorf("server exited during start-up: %v", s.proc.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("server not ready (last attempt: %v): %w", err, ctx.Err())
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, target)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// binaryError explains a missing server binary.
func binaryError(path string, err error) error {
	return fmt.Errorf("postgresql server binary %s: %w (install the Debian package postgresql-15: "+
		"apt-get install postgresql-15, or set the bin dir to where initdb and postgres live)",
		path, err)
}

// absDir returns dir as a clean absolute path.
func absDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("empty data dir")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return abs, nil
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
