package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cometa-es/cometa/eventstore/esdb/esdbtest"
)

// These tests build the binary and run it as a user would: `cometa serve`
// with a private PostgreSQL in a temporary data dir.

const e2eVersion = "9.9.9-es.e2e"

// hangGuard bounds every wait on the child process so that a hung binary
// fails the test instead of blocking it; it is not a performance assertion.
const hangGuard = 2 * time.Minute

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// cometaBinary builds the binary once per test run.
func cometaBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cometa-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cometa")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(goBin, "build", "-ldflags", "-X main.version="+e2eVersion,
			"-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// dataDir makes a data dir that the postgres user can enter (t.TempDir is
// 0700 and root's) with a short path for the server's unix socket.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cometa-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// childEnv is the test's environment without COMETA_* variables, plus vars.
func childEnv(vars ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMETA_") {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}

// server is a running `cometa serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	err    error // Wait's result, set before exited closes

	mu  sync.Mutex
	log strings.Builder
}

// startServe starts `cometa serve` on a free port with dir as data dir and
// returns once it logs that it serves.
func startServe(t *testing.T, dir string, env ...string) *server {
	t.Helper()
	return startServeUntil(t, dir, "cometa started", env...)
}

// startServeUntil starts `cometa serve` with env added to its environment
// and returns once it logs msg.
func startServeUntil(t *testing.T, dir, msg string, env ...string) *server {
	t.Helper()
	return startCommandUntil(t, "serve", dir, msg, env...)
}

// startCommandUntil starts `cometa <command>` (serve, runner, ...) on data
// directory dir with env added to its environment, and returns once it
// logs msg.
func startCommandUntil(t *testing.T, command, dir, msg string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(cometaBinary(t), command)
	cmd.Env = append(childEnv(
		"COMETA_LISTEN=127.0.0.1:0",
		"COMETA_DATA_DIR="+dir,
		"COMETA_LOG_FORMAT=json",
		"COMETA_LOG_LEVEL=debug",
	), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	started := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			var rec struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg {
				started <- rec.Listen
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		// A test that failed half-way must not leave the server running.
		select {
		case <-s.exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-s.exited
		}
	})

	select {
	case s.addr = <-started:
	case <-s.exited:
		t.Fatalf("cometa %s exited before logging %q: %v\n%s", command, msg, s.err, s.logs())
	case <-time.After(hangGuard):
		t.Fatalf("cometa %s did not log %q:\n%s", command, msg, s.logs())
	}
	return s
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop sends sig and waits for the exit.
func (s *server) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(hangGuard):
		t.Fatalf("cometa did not exit after %v:\n%s", sig, s.logs())
	}
	return s.err
}

func getJSON(t *testing.T, url string, into any) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q, want JSON; body %q", url, ct, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Errorf("GET %s: body %q is not JSON: %v", url, body, err)
	}
	return resp
}

// postgresProcesses returns the private cluster's postmaster and all its
// descendants, read from the data dir's postmaster.pid and /proc.
func postgresProcesses(t *testing.T, dir string) []int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "pgdata", "postmaster.pid"))
	if err != nil {
		t.Fatalf("the private cluster's postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %q", first)
	}
	children := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procState(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	pids := []int{postmaster}
	for i := 0; i < len(pids); i++ {
		pids = append(pids, children[pids[i]]...)
	}
	return pids
}

// procState returns a process's state letter and parent from /proc.
func procState(pid int) (state byte, ppid int, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
	i := strings.LastIndexByte(string(raw), ')')
	fields := strings.Fields(string(raw[i+1:]))
	if len(fields) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return fields[0][0], ppid, true
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)

	s := startServe(t, dir)
	base := "http://" + s.addr

	var info map[string]string
	if resp := getJSON(t, base+"/backend/info/", &info); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /backend/info/: status %d", resp.StatusCode)
	}
	if len(info) != 1 || info["version"] != e2eVersion {
		t.Errorf("GET /backend/info/ = %v, want {\"version\": %q}", info, e2eVersion)
	}

	var health map[string]string
	if resp := getJSON(t, base+"/healthz", &health); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: status %d", resp.StatusCode)
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if resp := getJSON(t, base+"/readyz", &ready); resp.StatusCode != http.StatusOK ||
		ready.Status != "ready" || ready.Checks["database"] != "ok" || ready.Checks["eventstore"] != "ok" {
		t.Errorf("GET /readyz: status %d, %+v", resp.StatusCode, ready)
	}
	var notFound map[string]any
	if resp := getJSON(t, base+"/backend/nope/", &notFound); resp.StatusCode != http.StatusNotFound ||
		notFound["success"] != false {
		t.Errorf("GET /backend/nope/: status %d, %v; want a JSON 404", resp.StatusCode, notFound)
	}

	pids := postgresProcesses(t, dir)
	if len(pids) < 2 {
		t.Errorf("postgres processes = %v, want the postmaster and its workers", pids)
	}
	passphrase, err := os.ReadFile(filepath.Join(dir, passphraseFile))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, passphraseFile)); err != nil ||
		info.Mode().Perm() != 0o600 {
		t.Errorf("generated passphrase file: %v, %v; want mode 0600", info.Mode(), err)
	}
	pgVersion, err := os.Stat(filepath.Join(dir, "pgdata", "PG_VERSION"))
	if err != nil {
		t.Fatal(err)
	}

	if err := s.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("cometa serve after SIGINT: %v, want exit 0\n%s", err, s.logs())
	}
	// On the first start the runner and the scheduler wait for the read
	// models they read instead of querying tables not created yet.
	for _, line := range strings.Split(s.logs(), "\n") {
		if strings.Contains(line, "does not exist") {
			t.Errorf("first start: %s", line)
		}
	}
	for _, pid := range pids {
		if state, _, ok := procState(pid); ok && state != 'Z' {
			t.Errorf("postgres process %d still runs (state %c) after cometa exited", pid, state)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pgdata", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after a clean stop: %v, want it removed", err)
	}

	// A second start reuses the data dir: the same cluster, the same
	// passphrase. SIGTERM stops it as cleanly as SIGINT.
	s2 := startServe(t, dir)
	var info2 map[string]string
	getJSON(t, "http://"+s2.addr+"/backend/info/", &info2)
	if info2["version"] != e2eVersion {
		t.Errorf("second start: /backend/info/ = %v", info2)
	}
	pgVersion2, err := os.Stat(filepath.Join(dir, "pgdata", "PG_VERSION"))
	if err != nil || !os.SameFile(pgVersion, pgVersion2) {
		t.Errorf("second start did not reuse the cluster: %v", err)
	}
	passphrase2, err := os.ReadFile(filepath.Join(dir, passphraseFile))
	if err != nil || string(passphrase2) != string(passphrase) {
		t.Errorf("second start changed the passphrase file (%v)", err)
	}
	if err := s2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("cometa serve after SIGTERM: %v, want exit 0\n%s", err, s2.logs())
	}
}

// readyz returns the status code and the checks of GET /readyz.
func readyz(t *testing.T, s *server) (int, map[string]string) {
	t.Helper()
	var ready struct {
		Checks map[string]string `json:"checks"`
	}
	resp := getJSON(t, "http://"+s.addr+"/readyz", &ready)
	return resp.StatusCode, ready.Checks
}

// TestServeWithESDB runs cometa with its events in EventStoreDB (the
// in-repo test server) and the read models in the private PostgreSQL:
// /readyz follows the event store going away and coming back.
func TestServeWithESDB(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	s := startServe(t, dataDir(t), "COMETA_EVENTSTORE="+srv.URL())

	if !strings.Contains(s.logs(), `"event_store":"esdb"`) {
		t.Errorf("start-up log does not name the esdb store:\n%s", s.logs())
	}
	if code, checks := readyz(t, s); code != http.StatusOK || checks["eventstore"] != "ok" {
		t.Errorf("/readyz with EventStoreDB up = %d %v, want 200", code, checks)
	}

	srv.Stop()
	code, checks := readyz(t, s)
	if code != http.StatusServiceUnavailable || checks["eventstore"] != "unavailable" ||
		checks["database"] != "ok" {
		t.Errorf("/readyz with EventStoreDB down = %d %v, want 503 naming the event store", code, checks)
	}

	srv.Restart()
	if code, checks := readyz(t, s); code != http.StatusOK {
		t.Errorf("/readyz after EventStoreDB came back = %d %v, want 200", code, checks)
	}
	if err := s.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("cometa serve after SIGINT: %v, want exit 0\n%s", err, s.logs())
	}
}

// TestServeInterruptedDuringStartup stops cometa while it is still starting
// (right after initdb): it must exit 0 and leave no postgres behind.
func TestServeInterruptedDuringStartup(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)

	s := startServeUntil(t, dir, "postgres cluster created")
	if err := s.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("cometa serve after SIGINT during start-up: %v, want exit 0\n%s", err, s.logs())
	}
	if pids := processesMentioning(t, dir); len(pids) > 0 {
		t.Errorf("processes of data dir %s remain after cometa exited: %v", dir, pids)
	}
}

// processesMentioning lists the running (not zombie) processes whose
// command line contains s.
func processesMentioning(t *testing.T, s string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		if state, _, ok := procState(pid); ok && state != 'Z' {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestServeInvalidConfiguration(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(dataDir(t), "never-created")

	cmd := exec.Command(cometaBinary(t), "serve")
	cmd.Env = childEnv(
		"COMETA_DATA_DIR="+dir,
		"COMETA_LISTEN=localhost",
		"COMETA_LOG_LEVEL=chatty",
		"COMETA_RUN_LEASE=a while",
		"COMETA_EVENTSTORE=esdb//missing-colon",
		"COMETA_BODY_LIMIT=huge",
	)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitConfig {
		t.Fatalf("cometa serve with invalid configuration: %v, want exit %d\n%s", err, exitConfig, out)
	}
	for _, key := range []string{"COMETA_LISTEN:", "COMETA_LOG_LEVEL:", "COMETA_RUN_LEASE:",
		"COMETA_EVENTSTORE:", "COMETA_BODY_LIMIT:", "invalid configuration (5 problems)"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("output does not report %s:\n%s", key, out)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("invalid configuration created the data dir (%v)", err)
	}
}

func TestServeBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(dataDir(t), "data")

	cmd := exec.Command(cometaBinary(t), "serve")
	cmd.Env = childEnv("COMETA_DATA_DIR="+dir, "COMETA_LISTEN="+ln.Addr().String())
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitFailure {
		t.Fatalf("cometa serve on a busy port: %v, want exit %d\n%s", err, exitFailure, out)
	}
	if !strings.Contains(string(out), "listen on "+ln.Addr().String()) {
		t.Errorf("output does not name the busy address:\n%s", out)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a busy port still started the data dir (%v)", err)
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(cometaBinary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != e2eVersion {
		t.Errorf("cometa version = %q, want %q", got, e2eVersion)
	}
}
