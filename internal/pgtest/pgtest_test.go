package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewPoolIsFreshAndDropped(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		pool := NewPool(t)
		if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		var tables int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables
			WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables)
		if err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("fresh database has %d tables", tables)
		}
		if _, err := pool.Exec(ctx, "CREATE TABLE mine (v int)"); err != nil {
			t.Fatal(err)
		}
	})

	var left bool
	err := harness.fast.admin.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&left)
	if err != nil {
		t.Fatal(err)
	}
	if name == "" || left {
		t.Errorf("database %q still exists after its test", name)
	}
}

func TestDatabasesAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share the URL %s", a)
	}
	connA, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close(ctx)
	if _, err := connA.Exec(ctx, "CREATE TABLE only_in_a (v int)"); err != nil {
		t.Fatal(err)
	}
	poolB := Pool(t, b)
	var found bool
	if err := poolB.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Error("a table made in one database is visible in the other")
	}
}

func TestDurableDatabase(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	pool := Pool(t, NewDurableDatabase(t))
	var fsync string
	if err := pool.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if os.Getenv(URLEnv) == "" && fsync != "on" {
		t.Errorf("durable server has fsync = %s", fsync)
	}
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	cases := []string{"TestX", "TestContract/Append And Read-Back", strings.Repeat("Long", 40)}
	for _, tc := range cases {
		got := databaseName(tc)
		if len(got) > 63 {
			t.Errorf("databaseName(%q) = %q: longer than an identifier may be", tc, got)
		}
		if strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("databaseName(%q) = %q: not a plain identifier", tc, got)
		}
	}
	if databaseName("TestX") == databaseName("TestX") {
		t.Error("two databases of one test get the same name")
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{
			"postgres://u:p@localhost:5432/postgres?sslmode=disable",
			"postgres://u:p@localhost:5432/t_1?sslmode=disable",
		},
		{"postgresql://u@/admin?host=/run/pg", "postgresql://u@/t_1?host=/run/pg"},
		{"host=/run/pg user=postgres", "host=/run/pg user=postgres dbname=t_1"},
	}
	for _, tc := range cases {
		got, err := withDatabase(tc.in, "t_1")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSweepRemovesOnlyDeadDirs(t *testing.T) {
	t.Parallel()
	dead, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dead) })
	dirs := []string{dead}
	harness.mu.Lock()
	dirs = append(dirs, harness.dirs...) // this binary's running clusters
	harness.mu.Unlock()
	old := time.Now().Add(-time.Hour)
	for _, dir := range dirs {
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
	}

	sweep()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead dir %s kept: %v", dead, err)
	}
	for _, live := range dirs[1:] {
		if _, err := os.Stat(live); err != nil {
			t.Errorf("a running cluster's dir is gone: %v", err)
		}
	}
}
