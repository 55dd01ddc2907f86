package pgserver

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// tailLines is how many of the server's last log lines an error carries.
const tailLines = 40

// logTail forwards a server's output lines to a logger and keeps the last
// few for error reports.
type logTail struct {
	logger *slog.Logger

	mu    sync.Mutex
	lines []string
}

func newLogTail(logger *slog.Logger) *logTail {
	return &logTail{logger: logger}
}

// consume reads r to its end.
func (t *logTail) consume(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		t.logger.Log(context.Background(), levelOf(line), "postgres", "line", line)
		t.mu.Lock()
		if len(t.lines) == tailLines {
			t.lines = append(t.lines[:0], t.lines[1:]...)
		}
		t.lines = append(t.lines, line)
		t.mu.Unlock()
	}
}

// routineFatal are FATAL messages that a healthy server gives: to clients
// polling it during start-up, and to sessions ended by a shutdown or by
// pg_terminate_backend.
var routineFatal = []string{
	"the database system is starting up",
	"the database system is shutting down",
	"terminating connection due to administrator command",
}

// levelOf maps a server log line to a log level: crashes are errors,
// other FATALs (a session or the server ending abnormally) warnings, the
// rest (including client errors such as constraint violations) debug.
func levelOf(line string) slog.Level {
	switch {
	case strings.Contains(line, "PANIC:"):
		return slog.LevelError
	case strings.Contains(line, "FATAL:") && !containsAny(line, routineFatal):
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}

// report returns the kept lines as an error suffix, or "" when there are
// none.
func (t *logTail) report() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return "\npostgres output:\n  " + strings.Join(t.lines, "\n  ")
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
