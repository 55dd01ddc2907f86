package main

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caarlos0/env/v11"
)

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()

	cfg, err := LoadConfig(nil)
	if err != nil {
		t.Fatalf("LoadConfig(no environment): %v", err)
	}
	want := Config{
		Listen:                "127.0.0.1:8000",
		DataDir:               "./.cometa",
		EventStore:            "postgres",
		LogLevel:              "info",
		LogFormat:             "text",
		PGBinDir:              "/usr/lib/postgresql/15/bin",
		BrowserBin:            "/usr/bin/chromium",
		MaxParallelRuns:       2,
		RunLease:              60 * time.Second,
		SchedulerGrace:        60 * time.Second,
		SchedulerPollInterval: 10 * time.Second,
		StepTimeoutMax:        7200 * time.Second,
		BodyLimit:             4 << 20,
		ReadYourWritesTimeout: 5 * time.Second,
		BrowserStackURL:       "https://api.browserstack.com",
		ShutdownTimeout:       10 * time.Second,
	}
	if cfg != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if cfg.UsesESDB() {
		t.Error("UsesESDB() = true for the default event store")
	}
}

func TestLoadConfigValid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		env   []string
		check func(Config) bool
	}{
		{"listen on all interfaces", []string{"COMETA_LISTEN=:9000"},
			func(c Config) bool { return c.Listen == ":9000" }},
		{"ipv6 listen", []string{"COMETA_LISTEN=[::1]:0"},
			func(c Config) bool { return c.Listen == "[::1]:0" }},
		{"external database", []string{"COMETA_DATABASE_URL=postgres://u:p@db:5432/cometa?sslmode=disable"},
			func(c Config) bool { return strings.HasPrefix(c.DatabaseURL, "postgres://") }},
		{"database on a unix socket", []string{"COMETA_DATABASE_URL=postgresql:///cometa?host=/run/pg"},
			func(c Config) bool { return c.DatabaseURL != "" }},
		{"esdb", []string{"COMETA_EVENTSTORE=esdb://eventstore:2113?tls=false"},
			func(c Config) bool { return c.UsesESDB() }},
		{"esdb cluster", []string{"COMETA_EVENTSTORE=esdb://a:2113,b:2113,c:2113?tls=false"},
			func(c Config) bool { return c.UsesESDB() }},
		{"esdb discover", []string{"COMETA_EVENTSTORE=esdb+discover://admin:changeit@cluster:2113"},
			func(c Config) bool { return c.UsesESDB() }},
		{"json debug logs", []string{"COMETA_LOG_LEVEL=debug", "COMETA_LOG_FORMAT=json"},
			func(c Config) bool { return c.LogFormat == "json" && c.SlogLevel() < 0 }},
		{"body limit in bytes", []string{"COMETA_BODY_LIMIT=65536"},
			func(c Config) bool { return c.BodyLimit == 65536 }},
		{"body limit in MB", []string{"COMETA_BODY_LIMIT=10MB"},
			func(c Config) bool { return c.BodyLimit == 10_000_000 }},
		{"remote browser", []string{"COMETA_BROWSER_URL=ws://chrome:9222/devtools/browser/x"},
			func(c Config) bool { return c.BrowserURL != "" }},
		{"browserstack pair", []string{"COMETA_BROWSERSTACK_USERNAME=u", "COMETA_BROWSERSTACK_ACCESS_KEY=k"},
			func(c Config) bool { return c.BrowserStackAccessKey == "k" }},
		{"durations", []string{"COMETA_RUN_LEASE=2m", "COMETA_SHUTDOWN_TIMEOUT=500ms"},
			func(c Config) bool { return c.RunLease == 2*time.Minute }},
		{"scheduler", []string{"COMETA_SCHEDULER_GRACE=20s", "COMETA_SCHEDULER_POLL_INTERVAL=1s"},
			func(c Config) bool {
				return c.SchedulerGrace == 20*time.Second && c.SchedulerPollInterval == time.Second
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := LoadConfig(tt.env)
			if err != nil {
				t.Fatalf("LoadConfig(%q): %v", tt.env, err)
			}
			if !tt.check(cfg) {
				t.Errorf("LoadConfig(%q) = %+v", tt.env, cfg)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		env  string
		want string // substring of the only problem reported
	}{
		{"COMETA_LISTEN=8000", "COMETA_LISTEN: \"8000\" is not host:port"},
		{"COMETA_LISTEN=127.0.0.1:http", "COMETA_LISTEN: \"127.0.0.1:http\": port must be a number"},
		{"COMETA_LISTEN=127.0.0.1:70000", "port must be a number from 0 to 65535"},
		{"COMETA_LISTEN=example.com:80", "host must be an IP address"},
		{"COMETA_DATA_DIR= ", "COMETA_DATA_DIR: must not be empty"},
		{"COMETA_DATABASE_URL=mysql://db/x", "COMETA_DATABASE_URL: scheme \"mysql\""},
		{"COMETA_DATABASE_URL=postgres://", "COMETA_DATABASE_URL: no host"},
		{"COMETA_DATABASE_URL=postgres://u:secret@db:x/c", "COMETA_DATABASE_URL: not a valid URL"},
		{"COMETA_EVENTSTORE=mongo", "COMETA_EVENTSTORE: want \"postgres\" or an esdb:// URL"},
		{"COMETA_EVENTSTORE=http://es:2113", "scheme \"http\" is not one of esdb, esdb+discover"},
		{"COMETA_BOOTSTRAP_TOKEN=short", "COMETA_BOOTSTRAP_TOKEN: must be at least 16"},
		{"COMETA_LOG_LEVEL=verbose", "COMETA_LOG_LEVEL: \"verbose\" is not one of"},
		{"COMETA_LOG_LEVEL=INFO", "COMETA_LOG_LEVEL: \"INFO\""},
		{"COMETA_LOG_FORMAT=xml", "COMETA_LOG_FORMAT: \"xml\" is not text or json"},
		{"COMETA_PG_BIN_DIR=bin", "COMETA_PG_BIN_DIR: \"bin\" is not an absolute path"},
		{"COMETA_BROWSER_BIN=chromium", "COMETA_BROWSER_BIN: \"chromium\" is not an absolute"},
		{"COMETA_BROWSER_URL=http://chrome:9222", "COMETA_BROWSER_URL: want a CDP websocket URL"},
		{"COMETA_MAX_PARALLEL_RUNS=0", "COMETA_MAX_PARALLEL_RUNS: 0 is not between 1 and 64"},
		{"COMETA_MAX_PARALLEL_RUNS=many", "COMETA_MAX_PARALLEL_RUNS: \"many\" is not a whole number"},
		{"COMETA_RUN_LEASE=1s", "COMETA_RUN_LEASE: 1s is not between 5s and 1h0m0s"},
		{"COMETA_SCHEDULER_GRACE=0s", "COMETA_SCHEDULER_GRACE: 0s is not between 1s and 1h0m0s"},
		{"COMETA_SCHEDULER_POLL_INTERVAL=soon", "COMETA_SCHEDULER_POLL_INTERVAL: \"soon\" is not a duration"},
		{"COMETA_RUN_LEASE=soon", "COMETA_RUN_LEASE: \"soon\" is not a duration"},
		{"COMETA_BROWSER_LOOPBACK_ONLY=perhaps", "COMETA_BROWSER_LOOPBACK_ONLY: \"perhaps\" is not true or false"},
		{"COMETA_STEP_TIMEOUT_MAX=0s", "COMETA_STEP_TIMEOUT_MAX: 0s is not between"},
		{"COMETA_ENCRYPTION_PASSPHRASE=abc", "COMETA_ENCRYPTION_PASSPHRASE: must be at least 16"},
		{"COMETA_BODY_LIMIT=10", "COMETA_BODY_LIMIT: 10 B is not between 1.0 KiB and 1.0 GiB"},
		{"COMETA_BODY_LIMIT=lots", "COMETA_BODY_LIMIT: invalid size \"lots\""},
		{"COMETA_READ_YOUR_WRITES_TIMEOUT=2h", "COMETA_READ_YOUR_WRITES_TIMEOUT: 2h0m0s is not"},
		{"COMETA_BROWSERSTACK_USERNAME=u", "set both COMETA_BROWSERSTACK_USERNAME and"},
		{"COMETA_BROWSERSTACK_ACCESS_KEY=k", "set both COMETA_BROWSERSTACK_USERNAME and"},
		{"COMETA_BROWSERSTACK_URL=ftp://bs", "COMETA_BROWSERSTACK_URL: scheme \"ftp\" is not one of http"},
		{"COMETA_BROWSERSTACK_URL=https://", "COMETA_BROWSERSTACK_URL: no host"},
		{"COMETA_SHUTDOWN_TIMEOUT=-1s", "COMETA_SHUTDOWN_TIMEOUT: -1s is not between"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig([]string{tt.env})
			var cerr *ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("LoadConfig(%q) error = %v, want a *ConfigError", tt.env, err)
			}
			if len(cerr.Problems) != 1 || !strings.Contains(cerr.Problems[0].Error(), tt.want) {
				t.Errorf("LoadConfig(%q) problems = %q, want one containing %q",
					tt.env, cerr.Problems, tt.want)
			}
		})
	}
}

func TestLoadConfigReportsAllProblems(t *testing.T) {
	t.Parallel()

	environ := []string{
		"COMETA_LISTEN=nowhere",
		"COMETA_LOG_LEVEL=loud",
		"COMETA_RUN_LEASE=forever",
		"COMETA_MAX_PARALLEL_RUNS=1000",
		"COMETA_EVENTSTORE=kafka://x",
		"COMETA_DATABASE_URL=postgres://user:hunter2hunter2@db:bad/x",
	}
	_, err := LoadConfig(environ)
	var cerr *ConfigError
	if !errors.As(err, &cerr) {
		t.Fatalf("LoadConfig error = %v, want a *ConfigError", err)
	}
	msg := err.Error()
	for _, key := range []string{"COMETA_LISTEN", "COMETA_LOG_LEVEL", "COMETA_RUN_LEASE",
		"COMETA_MAX_PARALLEL_RUNS", "COMETA_EVENTSTORE", "COMETA_DATABASE_URL"} {
		if !strings.Contains(msg, key+":") {
			t.Errorf("error does not name %s:\n%s", key, msg)
		}
	}
	if len(cerr.Problems) != len(environ) {
		t.Errorf("got %d problems, want %d:\n%s", len(cerr.Problems), len(environ), msg)
	}
	if !strings.HasPrefix(msg, "invalid configuration (6 problems):") {
		t.Errorf("error does not start with the count:\n%s", msg)
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the database password:\n%s", msg)
	}
}

// TestReadmeDocumentsEveryVariable keeps the README's configuration table and
// the Config struct in step: every variable appears in a table row together
// with its default.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		rows[key] = strings.TrimSpace(cells[2])
	}

	params, err := env.GetFieldParams(&Config{})
	if err != nil {
		t.Fatal(err)
	}
	fields := reflect.TypeFor[Config]().NumField()
	if len(params) != fields {
		t.Fatalf("env knows %d fields of Config, the struct has %d", len(params), fields)
	}
	for _, p := range params {
		if !p.HasDefaultValue {
			t.Errorf("%s has no envDefault", p.Key)
		}
		def, ok := rows[p.Key]
		if !ok {
			t.Errorf("README has no table row for %s", p.Key)
			continue
		}
		want := "`" + p.DefaultValue + "`"
		if p.DefaultValue == "" {
			want = "(empty)"
		}
		if def != want {
			t.Errorf("README default of %s = %s, want %s", p.Key, def, want)
		}
	}
}
