package pgserver

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestStartWaitsForStoppingServer starts a server on a data dir whose
// previous server is still in its fast shutdown (as after its parent was
// killed): Start waits for it and then succeeds, instead of calling the
// data dir in use. The old server is held in its shutdown by stopping its
// checkpointer, whose shutdown checkpoint the postmaster waits for.
func TestStartWaitsForStoppingServer(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	old := startServer(t, dir)
	checkpointer := childTitled(t, old.proc.pid(), "postgres: checkpointer")
	if err := syscall.Kill(checkpointer, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(checkpointer, syscall.SIGCONT) })
	if err := old.proc.signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}

	waiting := &signalWriter{want: "waiting for the previous postgres server", seen: make(chan struct{})}
	type result struct {
		s   *Server
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Start(testContext(t), Options{DataDir: dir, Fast: true,
			Logger: slog.New(slog.NewTextHandler(waiting, nil))})
		done <- result{s, err}
	}()
	select {
	case <-waiting.seen:
	case r := <-done:
		t.Fatalf("start while the previous server shuts down returned without waiting: %v", r.err)
	}
	if err := syscall.Kill(checkpointer, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	r := <-done
	if r.err != nil {
		t.Fatalf("start after the previous server shut down: %v", r.err)
	}
	t.Cleanup(func() { _ = r.s.Stop(context.Background()) })
	select {
	case <-old.proc.done:
	default:
		t.Error("the new server started before the previous one had exited")
	}
	if got := query(t, r.s, "postgres", "SELECT 'after the wait'"); got != "after the wait" {
		t.Errorf("new server: %q", got)
	}
}

// signalWriter closes seen once a written line contains want.
type signalWriter struct {
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// childTitled returns the child of parent whose process title starts with
// prefix.
func childTitled(t *testing.T, parent int, prefix string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: cut at the last ')', comm may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(cmdline), prefix) {
			return pid
		}
	}
	t.Fatalf("no child of %d titled %q", parent, prefix)
	return 0
}
