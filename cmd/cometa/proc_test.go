package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// watched is a running `cometa serve` whose JSON log lines a test can wait
// for, one after the other (startServe in e2e_test.go waits for one only).
type watched struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, set before exited closes

	mu      sync.Mutex
	records []map[string]any
	raw     strings.Builder
	grew    chan struct{} // closed and replaced when a line arrives
}

// launchServe starts `cometa serve` on a free port with dir as data dir
// and env added to its environment; it does not wait for anything.
func launchServe(t *testing.T, dir string, env ...string) *watched {
	t.Helper()
	cmd := exec.Command(cometaBinary(t), "serve")
	cmd.Env = append(childEnv(
		"COMETA_LISTEN=127.0.0.1:0",
		"COMETA_DATA_DIR="+dir,
		"COMETA_LOG_FORMAT=json",
		"COMETA_LOG_LEVEL=info",
	), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watched{cmd: cmd, exited: make(chan struct{}), grew: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			var rec map[string]any
			_ = json.Unmarshal(sc.Bytes(), &rec)
			w.mu.Lock()
			w.raw.WriteString(sc.Text() + "\n")
			if rec != nil {
				w.records = append(w.records, rec)
			}
			close(w.grew)
			w.grew = make(chan struct{})
			w.mu.Unlock()
		}
	}()
	go func() {
		<-scanned
		w.err = cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-w.exited:
		default:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-w.exited
		}
	})
	return w
}

// waitLog returns the first log record whose msg is msg, waiting for it
// until the process exits or hangGuard passes.
func (w *watched) waitLog(t *testing.T, msg string) map[string]any {
	t.Helper()
	guard := time.After(hangGuard)
	for seen := 0; ; {
		w.mu.Lock()
		for ; seen < len(w.records); seen++ {
			if w.records[seen]["msg"] == msg {
				rec := w.records[seen]
				w.mu.Unlock()
				return rec
			}
		}
		grew := w.grew
		w.mu.Unlock()
		select {
		case <-grew:
		case <-w.exited:
			// The last lines may have arrived with the exit.
			if w.logged(msg) {
				continue
			}
			t.Fatalf("cometa serve exited (%v) before logging %q:\n%s", w.err, msg, w.logs())
		case <-guard:
			t.Fatalf("cometa serve did not log %q:\n%s", msg, w.logs())
		}
	}
}

// logged reports whether a record with msg has arrived.
func (w *watched) logged(msg string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rec := range w.records {
		if rec["msg"] == msg {
			return true
		}
	}
	return false
}

// started waits for the start-up log line and returns the API's base URL.
func (w *watched) started(t *testing.T) string {
	t.Helper()
	rec := w.waitLog(t, "cometa started")
	listen, _ := rec["listen"].(string)
	if listen == "" {
		t.Fatalf("start-up line without listen address: %v", rec)
	}
	return "http://" + listen
}

func (w *watched) logs() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.raw.String()
}

// kill sends SIGKILL and waits for the exit.
func (w *watched) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.exited:
	case <-time.After(hangGuard):
		t.Fatalf("cometa serve did not die of SIGKILL")
	}
}

// clusterProcesses lists the live processes working in pgdata: the
// postmaster changes into its data directory and its children (backends,
// checkpointer, ...) inherit that, so this finds the whole cluster, also
// when the postmaster is gone and some child is not. Zombies have no cwd
// and are left out.
func clusterProcesses(t *testing.T, pgdata string) []int {
	t.Helper()
	want, err := filepath.EvalSymlinks(pgdata)
	if err != nil {
		t.Fatal(err)
	}
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
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && cwd == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processTitle returns a process's command line with spaces for NULs
// ("postgres: checkpointer " for PostgreSQL's checkpointer).
func processTitle(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
}

// findTitled returns the one process of pids whose title starts with
// prefix.
func findTitled(t *testing.T, pids []int, prefix string) int {
	t.Helper()
	for _, pid := range pids {
		if strings.HasPrefix(processTitle(pid), prefix) {
			return pid
		}
	}
	t.Fatalf("no process titled %q among %v", prefix, pids)
	return 0
}

// waitExit waits for pid to exit (a zombie counts as exited), woken by a
// pidfd, and reports whether it did before hangGuard passed.
func waitExit(t *testing.T, pid int) bool {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return true
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(hangGuard.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd of %d: %v", pid, err)
		}
		return n == 1
	}
}

// signalProcess sends sig to pid.
func signalProcess(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("signal %v to %d: %v", sig, pid, err)
	}
}
