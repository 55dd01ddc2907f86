package pgserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The status PostgreSQL keeps on the eighth line of postmaster.pid; it
// writes "stopping" there as soon as it gets a shutdown request.
const (
	lockStatusLine = 8
	statusStopping = "stopping"
)

// previousServerGrace is how long Start gives a live server of the data
// dir to start shutting down before calling it a running one: a server
// whose parent was just killed has its shutdown signal (Pdeathsig)
// pending, and marks itself stopping a moment later.
const previousServerGrace = 2 * time.Second

// previousServerShutdown bounds the wait for such a server to finish its
// shutdown (ending its backends, then a checkpoint).
const previousServerShutdown = 2 * time.Minute

// awaitPreviousServer returns once no server shuts down in pgdata any
// more. A cometa that was killed leaves its postmaster running through a
// fast shutdown for a while; a restart right away must wait for it rather
// than fail as if the data dir were in use. A server that is not stopping
// is left for clearStaleLock to refuse.
func awaitPreviousServer(ctx context.Context, pgdata string, logger *slog.Logger) error {
	pidFile := filepath.Join(pgdata, "postmaster.pid")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	started := time.Now()
	var stopping time.Time
	for {
		pid, status, err := lockState(pidFile)
		if err != nil || !serverAlive(pid, pgdata) {
			return nil
		}
		switch {
		case status == statusStopping && stopping.IsZero():
			stopping = time.Now()
			logger.InfoContext(ctx, "waiting for the previous postgres server of the data dir to shut down",
				"pid", pid, "data_dir", pgdata)
		case status == statusStopping && time.Since(stopping) > previousServerShutdown:
			return fmt.Errorf("start postgres: the previous server (pid %d) on %s is still shutting "+
				"down after %v", pid, pgdata, previousServerShutdown)
		case status != statusStopping && time.Since(started) > previousServerGrace:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start postgres: wait for the previous server (pid %d) on %s to shut down: %w",
				pid, pgdata, ctx.Err())
		case <-tick.C:
		}
	}
}

// clearStaleLock removes the lock files a killed server left behind.
//
// PostgreSQL itself ignores a postmaster.pid whose process is gone, but it
// refuses to start while any process holds that pid, and after a reboot or
// in a container the pid is often reused by something else. So a lock file
// is stale unless its pid is a live postgres working in this pgdata.
func clearStaleLock(pgdata, socketDir string) error {
	pidFile := filepath.Join(pgdata, "postmaster.pid")
	pid, err := lockPID(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil && serverAlive(pid, pgdata) {
		return fmt.Errorf("start postgres: a server (pid %d) is already running on %s; "+
			"stop it first or use another data dir", pid, pgdata)
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("start postgres: remove stale %s: %w", pidFile, err)
	}
	sockLock := filepath.Join(socketDir, ".s.PGSQL."+strconv.Itoa(port)+".lock")
	if err := os.Remove(sockLock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("start postgres: remove stale %s: %w", sockLock, err)
	}
	return nil
}

// lockPID reads the pid on the first line of a PostgreSQL lock file.
func lockPID(path string) (int, error) {
	pid, _, err := lockState(path)
	return pid, err
}

// lockState reads the pid (first line) and, for postmaster.pid, the
// server's status (eighth line, "" when absent) of a PostgreSQL lock file.
func lockState(path string) (pid int, status string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, "", fmt.Errorf("%s: empty lock file", path)
	}
	pid, err = strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil || pid <= 0 {
		return 0, "", fmt.Errorf("%s: bad pid %q", path, sc.Text())
	}
	for line := 2; sc.Scan(); line++ {
		if line == lockStatusLine {
			status = strings.TrimSpace(sc.Text())
			break
		}
	}
	return pid, status, nil
}

// serverAlive reports whether pid is a running postgres whose working
// directory is pgdata (the postmaster changes into its data directory).
// When the process can be signalled but not inspected, it counts as alive.
func serverAlive(pid int, pgdata string) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if name := filepath.Base(string(argv0)); name != "postgres" && name != "postmaster" {
		return false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return true
	}
	want, err := filepath.EvalSymlinks(pgdata)
	if err != nil {
		want = pgdata
	}
	return cwd == want
}

// Running reports whether a server is running on the cluster in dataDir,
// as its lock file says.
func Running(dataDir string) bool {
	pgdata := filepath.Join(dataDir, "pgdata")
	pid, err := lockPID(filepath.Join(pgdata, "postmaster.pid"))
	return err == nil && serverAlive(pid, pgdata)
}
