// Package pgtest is the harness for integration tests against a real
// PostgreSQL. A package's TestMain calls Main, which starts one private
// cluster (internal/pgserver, fsync off) for the test binary; each test
// then takes a fresh, empty database of its own with NewDatabase or
// NewPool.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// With COMETA_TEST_DATABASE_URL set to an admin connection URL of an
// existing server, the databases are made there instead. When PostgreSQL
// cannot be started or reached the tests fail with the reason; they never
// skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/internal/pgserver"
)

// URLEnv names the environment variable that points the harness at an
// existing server (an admin URL, e.g. postgres://postgres@localhost/postgres).
const URLEnv = "COMETA_TEST_DATABASE_URL"

// harness is the state of one test binary, set by Main. It is package state
// because tests reach it with nothing but their *testing.T.
var harness struct {
	mu sync.Mutex
	// fast is where NewDatabase creates databases; durable where
	// NewDurableDatabase does (the same server when URLEnv is set).
	fast, durable *cluster
	// dirs are removed when Main ends.
	dirs []string
}

// cluster is a server that the harness makes databases on.
type cluster struct {
	adminURL string
	admin    *pgxpool.Pool
	server   *pgserver.Server // nil for a server given by URLEnv
}

// Main starts the binary's PostgreSQL (or connects to the one URLEnv
// names), runs the tests and stops it again. It returns the exit code for
// os.Exit.
func Main(m *testing.M) int {
	sweep()
	harness.mu.Lock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := startCluster(ctx, true)
	cancel()
	if err != nil {
		harness.mu.Unlock()
		fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL for the tests: %v\n", err)
		return 1
	}
	harness.fast = c
	if c.server == nil {
		harness.durable = c
	}
	harness.mu.Unlock()

	code := m.Run()

	harness.mu.Lock()
	defer harness.mu.Unlock()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	harness.fast.close(ctx)
	if harness.durable != nil && harness.durable != harness.fast {
		harness.durable.close(ctx)
	}
	for _, dir := range harness.dirs {
		_ = os.RemoveAll(dir)
	}
	return code
}

func (c *cluster) close(ctx context.Context) {
	c.admin.Close()
	if c.server == nil {
		return
	}
	if err := c.server.Stop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
}

// dirPrefix names the harness's directories under the system temp dir.
const dirPrefix = "cometa-pgtest-"

// sweep removes the directories of test binaries that died without
// cleaning up (a test timeout ends the process at once; the server follows
// it): no server runs there and they are older than any start-up.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil || time.Since(st.ModTime()) < 10*time.Minute || pgserver.Running(dir) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// startCluster connects to URLEnv's server, or starts a private one in a
// fresh directory under /tmp (reachable by the postgres user, which a
// t.TempDir under a 0700 directory is not). harness.mu is held.
func startCluster(ctx context.Context, fast bool) (*cluster, error) {
	if adminURL := os.Getenv(URLEnv); adminURL != "" {
		return connectCluster(ctx, adminURL, nil)
	}
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	harness.dirs = append(harness.dirs, dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir, Fast: fast, Logger: logger})
	if err != nil {
		return nil, err
	}
	c, err := connectCluster(ctx, srv.URL("postgres"), srv)
	if err != nil {
		_ = srv.Stop(ctx)
		return nil, err
	}
	return c, nil
}

func connectCluster(ctx context.Context, adminURL string, srv *pgserver.Server) (*cluster, error) {
	admin, err := pgxpool.New(ctx, adminURL)
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	return &cluster{adminURL: adminURL, admin: admin, server: srv}, nil
}

// NewDatabase creates a fresh, empty database for the test and returns its
// connection URL. The database is dropped at cleanup.
func NewDatabase(t testing.TB) string {
	t.Helper()
	harness.mu.Lock()
	c := harness.fast
	harness.mu.Unlock()
	if c == nil {
		t.Fatal("pgtest: no PostgreSQL: call pgtest.Main from the package's TestMain")
	}
	return c.newDatabase(t)
}

// NewPool returns a pool on a fresh database (see NewDatabase), closed at
// cleanup.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Pool(t, NewDatabase(t))
}

// NewDurableDatabase is NewDatabase on a server with fsync on, started on
// first use, for benchmarks whose figures should be the product's.
func NewDurableDatabase(t testing.TB) string {
	t.Helper()
	harness.mu.Lock()
	if harness.fast == nil {
		harness.mu.Unlock()
		t.Fatal("pgtest: no PostgreSQL: call pgtest.Main from the package's TestMain")
	}
	if harness.durable == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		c, err := startCluster(ctx, false)
		cancel()
		if err != nil {
			harness.mu.Unlock()
			t.Fatalf("pgtest: durable PostgreSQL: %v", err)
		}
		harness.durable = c
	}
	c := harness.durable
	harness.mu.Unlock()
	return c.newDatabase(t)
}

// Pool opens a pool on databaseURL, closed at cleanup.
func Pool(t testing.TB, databaseURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(databaseURL), err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newDatabase creates a database from template0 (which nobody can connect
// to, so concurrent creations never collide on it) named after the test.
// FILE_COPY: with fsync off its checkpoints cost nothing, and it is about
// 4x faster than the default WAL_LOG for template0 (40 ms against 160 ms).
func (c *cluster) newDatabase(t testing.TB) string {
	t.Helper()
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0 STRATEGY FILE_COPY"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(c.adminURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// databaseName is the test's name made a valid identifier, shortened, with
// a random suffix.
func databaseName(testName string) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	return b.String() + "_" + hex.EncodeToString(suffix)
}

// withDatabase returns connection string s pointing at database name. It
// takes both URL and keyword/value forms.
func withDatabase(s, name string) (string, error) {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", URLEnv, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return s + " dbname=" + name, nil
}

// redact hides a password in a connection URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
