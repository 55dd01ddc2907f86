package pgserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

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
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, fmt.Errorf("%s: empty lock file", path)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad pid %q", path, sc.Text())
	}
	return pid, nil
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
