package pgserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// childDirEnv makes the test binary act as a process that starts a server
// and waits to be killed (see TestServerDiesWithItsParent).
const childDirEnv = "PGSERVER_TEST_CHILD_DIR"

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dataDir returns a fresh directory under /tmp that the postgres user can
// reach (t.TempDir lives under a 0700 directory).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgserver-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// startServer starts a fast (fsync off) server on dir, stopped at cleanup.
func startServer(t *testing.T, dir string) *Server {
	t.Helper()
	return startWith(t, Options{DataDir: dir, Fast: true})
}

func startWith(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Logger = testLogger(t)
	s, err := Start(testContext(t), opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func query(t *testing.T, s *Server, database, sql string) string {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, s.URL(database))
	if err != nil {
		t.Fatalf("connect to %s: %v", database, err)
	}
	defer conn.Close(ctx)
	var out string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func exec1(t *testing.T, s *Server, database string, sqls ...string) {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, s.URL(database))
	if err != nil {
		t.Fatalf("connect to %s: %v", database, err)
	}
	defer conn.Close(ctx)
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func TestStartReuseStop(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	ctx := testContext(t)

	s := startServer(t, dir)
	if got := query(t, s, "postgres", "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want none", got)
	}
	if got := query(t, s, "postgres", "SHOW fsync"); got != "off" {
		t.Errorf("fast server has fsync = %s", got)
	}
	for range 2 {
		if err := s.EnsureDatabase(ctx, "cometa"); err != nil {
			t.Fatalf("ensure database: %v", err)
		}
	}
	exec1(t, s, "cometa", "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('first run')")
	const clusterID = "SELECT system_identifier::text FROM pg_control_system()"
	id := query(t, s, "postgres", clusterID)
	if !Running(dir) {
		t.Error("Running = false for a running server")
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if Running(dir) {
		t.Error("Running = true after Stop")
	}
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after a clean stop: %v", err)
	}

	// A second start on the same dir reuses the cluster and its data.
	again := startWith(t, Options{DataDir: dir})
	if got := query(t, again, "postgres", clusterID); got != id {
		t.Errorf("restart runs cluster %s, want the first one, %s", got, id)
	}
	if got := query(t, again, "cometa", "SELECT v FROM kept"); got != "first run" {
		t.Errorf("after restart kept = %q", got)
	}
	if got := query(t, again, "postgres", "SHOW fsync"); got != "on" {
		t.Errorf("durable server has fsync = %s", got)
	}
}

func TestLongDataDirUsesShortSocketDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(dataDir(t), strings.Repeat("d", 60), strings.Repeat("e", 60))
	s := startServer(t, dir)

	if strings.HasPrefix(s.socketDir, dir) || len(s.socketDir) > 60 {
		t.Errorf("socket dir %q for data dir of %d bytes", s.socketDir, len(dir))
	}
	if got := query(t, s, "postgres", "SELECT current_setting('unix_socket_directories')"); got != s.socketDir {
		t.Errorf("server socket dir %q, want %q", got, s.socketDir)
	}
	if err := s.Stop(testContext(t)); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(s.socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket dir under /tmp left after stop: %v", err)
	}
}

func TestStaleLockFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// leave makes the data dir look like a server died without cleaning up.
		leave func(t *testing.T, s *Server)
	}{
		{"server group killed", func(t *testing.T, s *Server) {
			if err := syscall.Kill(-s.proc.pid(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-s.proc.done
		}},
		{"pid reused by another process", func(t *testing.T, s *Server) {
			if err := s.Stop(testContext(t)); err != nil {
				t.Fatal(err)
			}
			other := exec.Command("sleep", "600")
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
			content := fmt.Sprintf("%d\n%s\n", other.Process.Pid, filepath.Join(s.dataDir, "pgdata"))
			pidFile := filepath.Join(s.dataDir, "pgdata", "postmaster.pid")
			if err := os.WriteFile(pidFile, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := dataDir(t)
			// Durable, so that what committed survives the kill.
			s := startWith(t, Options{DataDir: dir})
			exec1(t, s, "postgres", "CREATE TABLE survived (v int)")
			tc.leave(t, s)
			if _, err := os.Stat(filepath.Join(dir, "pgdata", "postmaster.pid")); err != nil {
				t.Fatalf("no lock file left to test with: %v", err)
			}

			again := startServer(t, dir)
			if got := query(t, again, "postgres", "SELECT count(*)::text FROM survived"); got != "0" {
				t.Errorf("table after restart: %s", got)
			}
		})
	}
}

func TestRefusesSecondServerOnSameDir(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	s := startServer(t, dir)

	_, err := Start(testContext(t), Options{DataDir: dir, Fast: true})
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start on a live data dir: %v", err)
	}
	if got := query(t, s, "postgres", "SELECT 'still up'"); got != "still up" {
		t.Errorf("first server after the refused start: %q", got)
	}
}

func TestServerDiesWithItsParent(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		runChild(dir)
		return
	}
	t.Parallel()
	dir := dataDir(t)
	child := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithItsParent$")
	child.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	pid := readChildPID(t, out)
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd of postmaster %d: %v", pid, err)
	}
	defer unix.Close(pidfd)

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	// A pidfd becomes readable when its process exits.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int((30 * time.Second).Milliseconds()))
	if err != nil || n != 1 {
		t.Fatalf("postmaster %d still running 30 s after its parent was killed (poll %d, %v)", pid, n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the orphaned server did not shut down cleanly: postmaster.pid %v", err)
	}
	again := startServer(t, dir)
	if got := query(t, again, "postgres", "SELECT 'back'"); got != "back" {
		t.Errorf("restart after the parent died: %q", got)
	}
}

// runChild starts a server, prints its postmaster's pid and blocks until
// the test kills the process.
func runChild(dir string) {
	s, err := Start(context.Background(), Options{DataDir: dir, Fast: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Printf("pid %d\n", s.proc.pid())
	select {}
}

func readChildPID(t *testing.T, out interface{ Read([]byte) (int, error) }) int {
	t.Helper()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			return pid
		}
	}
	t.Fatalf("child ended without starting a server: %v", sc.Err())
	return 0
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	noBins := dataDir(t)
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"missing binaries", Options{DataDir: dataDir(t), BinDir: noBins}, "postgresql-15"},
		{"no data dir", Options{}, "empty data dir"},
	}
	for _, tc := range cases {
		_, err := Start(testContext(t), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Start = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckTraverse(t *testing.T) {
	t.Parallel()
	base := dataDir(t)
	closed := filepath.Join(base, "home")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(closed, "cometa"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An account that owns nothing here and is in none of its groups.
	stranger := &syscall.Credential{Uid: 54321, Gid: 54321}

	cases := []struct {
		dir     string
		wantErr bool
	}{
		{base, false},
		{filepath.Join(closed, "cometa"), true},
	}
	for _, tc := range cases {
		err := checkTraverse(tc.dir, stranger)
		if (err != nil) != tc.wantErr {
			t.Errorf("checkTraverse(%s) = %v, want error %v", tc.dir, err, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "chmod o+x "+closed) {
			t.Errorf("error gives no advice: %v", err)
		}
	}

	// Start refuses before it creates anything.
	unreachable := filepath.Join(closed, "new", "data")
	l := &layout{dataDir: unreachable, pgdata: filepath.Join(unreachable, "pgdata"),
		socketDir: filepath.Join(unreachable, "socket"), owner: stranger}
	if err := l.prepare(); err == nil || !strings.Contains(err.Error(), "cannot enter "+closed) {
		t.Errorf("prepare under %s: %v", closed, err)
	}
	if _, err := os.Stat(filepath.Join(closed, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start created directories: %v", err)
	}
}

func TestStartFailureReportsServerLog(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	s := startServer(t, dir)
	if err := s.Stop(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// A setting the server rejects at start-up.
	conf := filepath.Join(dir, "pgdata", "postgresql.auto.conf")
	if err := os.WriteFile(conf, []byte("shared_buffers = 'lots'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Dir(conf), &st); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(conf, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}

	_, err := Start(testContext(t), Options{DataDir: dir, Fast: true})
	if err == nil || !strings.Contains(err.Error(), "shared_buffers") {
		t.Fatalf("start with a broken config: %v, want postgres's own complaint", err)
	}
}
