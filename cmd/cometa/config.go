package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/dustin/go-humanize"
)

// Config is the whole configuration of the cometa binary. It is filled from
// the environment by LoadConfig and nowhere else: no other package reads the
// environment. Every field has a default and a line in the README's
// configuration table (a test checks both).
type Config struct {
	// Listen is the host:port of the HTTP server.
	Listen string `env:"COMETA_LISTEN" envDefault:"127.0.0.1:8000"`
	// DataDir holds the private PostgreSQL cluster, the generated
	// encryption passphrase and anything else the process keeps on disk.
	DataDir string `env:"COMETA_DATA_DIR" envDefault:"./.cometa"`
	// DatabaseURL is an external PostgreSQL (postgres:// URL). Empty means
	// the private cluster in DataDir.
	DatabaseURL string `env:"COMETA_DATABASE_URL" envDefault:""`
	// EventStore is "postgres" (events in the same database as the read
	// models) or an esdb:// or esdb+discover:// EventStoreDB connection
	// string.
	EventStore string `env:"COMETA_EVENTSTORE" envDefault:"postgres"`
	// BootstrapToken, when set, lets the API create the first superuser.
	BootstrapToken string `env:"COMETA_BOOTSTRAP_TOKEN" envDefault:""`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `env:"COMETA_LOG_LEVEL" envDefault:"info"`
	// LogFormat is text or json.
	LogFormat string `env:"COMETA_LOG_FORMAT" envDefault:"text"`
	// PGBinDir holds initdb and postgres for the private cluster.
	PGBinDir string `env:"COMETA_PG_BIN_DIR" envDefault:"/usr/lib/postgresql/15/bin"`
	// BrowserBin is the Chromium the runner starts.
	BrowserBin string `env:"COMETA_BROWSER_BIN" envDefault:"/usr/bin/chromium"`
	// BrowserURL is a remote browser's CDP websocket URL; when set the
	// runner uses it instead of starting BrowserBin.
	BrowserURL string `env:"COMETA_BROWSER_URL" envDefault:""`
	// MaxParallelRuns bounds the runs one runner process executes at once.
	MaxParallelRuns int `env:"COMETA_MAX_PARALLEL_RUNS" envDefault:"2"`
	// BrowserLoopbackOnly makes the runner's Chromium resolve only
	// loopback host names (localhost, 127.0.0.1), as the tests need.
	BrowserLoopbackOnly bool `env:"COMETA_BROWSER_LOOPBACK_ONLY" envDefault:"false"`
	// RunLease is how long a runner's claim on a run lasts without a
	// heartbeat before another process may finish the run as failed.
	RunLease time.Duration `env:"COMETA_RUN_LEASE" envDefault:"60s"`
	// SchedulerGrace is how late a schedule tick may still fire; a tick
	// found later than that (every scheduler was down) is recorded as
	// missed instead.
	SchedulerGrace time.Duration `env:"COMETA_SCHEDULER_GRACE" envDefault:"60s"`
	// SchedulerPollInterval is how often the scheduler reads the schedules
	// read model for new, changed and removed schedules.
	SchedulerPollInterval time.Duration `env:"COMETA_SCHEDULER_POLL_INTERVAL" envDefault:"10s"`
	// StepTimeoutMax caps the timeout any single step may ask for.
	StepTimeoutMax time.Duration `env:"COMETA_STEP_TIMEOUT_MAX" envDefault:"7200s"`
	// EncryptionPassphrase encrypts variable values. Empty means a
	// passphrase generated on first start and kept in DataDir (mode 0600).
	EncryptionPassphrase string `env:"COMETA_ENCRYPTION_PASSPHRASE" envDefault:""`
	// BodyLimit is the largest request body the API accepts.
	BodyLimit ByteSize `env:"COMETA_BODY_LIMIT" envDefault:"4MiB"`
	// ReadYourWritesTimeout bounds how long a write request waits for the
	// read models to reach its position before answering.
	ReadYourWritesTimeout time.Duration `env:"COMETA_READ_YOUR_WRITES_TIMEOUT" envDefault:"5s"`
	// BrowserStackUsername and BrowserStackAccessKey are the credentials for
	// BrowserStack browsers; both or neither.
	BrowserStackUsername  string `env:"COMETA_BROWSERSTACK_USERNAME" envDefault:""`
	BrowserStackAccessKey string `env:"COMETA_BROWSERSTACK_ACCESS_KEY" envDefault:""`
	// BrowserStackURL is BrowserStack's API base URL (a test points it at a
	// fake server).
	BrowserStackURL string `env:"COMETA_BROWSERSTACK_URL" envDefault:"https://api.browserstack.com"`
	// ShutdownTimeout bounds the graceful drain on SIGINT or SIGTERM.
	ShutdownTimeout time.Duration `env:"COMETA_SHUTDOWN_TIMEOUT" envDefault:"10s"`
}

// ByteSize is a size in bytes that reads "4MiB", "512KiB", "1MB" or a plain
// number of bytes.
type ByteSize int64

// UnmarshalText parses a human-readable size.
func (s *ByteSize) UnmarshalText(text []byte) error {
	n, err := humanize.ParseBytes(string(text))
	if err != nil {
		return fmt.Errorf("invalid size %q (want e.g. 4MiB)", text)
	}
	if n > 1<<62 {
		return fmt.Errorf("size %q is too large", text)
	}
	*s = ByteSize(n)
	return nil
}

// String formats the size in IEC units.
func (s ByteSize) String() string { return humanize.IBytes(uint64(s)) }

// PostgresEventStore is the COMETA_EVENTSTORE value for the PostgreSQL
// event store.
const PostgresEventStore = "postgres"

// Bounds of the numeric settings, checked by Validate.
const (
	minBodyLimit = 1 << 10
	maxBodyLimit = 1 << 30
	maxRuns      = 64
	minSecretLen = 16
)

// LoadConfig fills a Config from environ (KEY=VALUE pairs, as os.Environ
// returns them) and validates it. The error is a *ConfigError that lists
// every problem, each naming its variable.
func LoadConfig(environ []string) (Config, error) {
	vars := env.ToMap(environ)
	var cfg Config
	err := env.ParseWithOptions(&cfg, env.Options{Environment: vars})

	var problems []error
	unparsed := map[string]bool{}
	var agg env.AggregateError
	switch {
	case err == nil:
	case errors.As(err, &agg):
		for _, e := range agg.Errors {
			ferr := describeEnvError(e, vars)
			unparsed[ferr.Key] = true
			problems = append(problems, ferr)
		}
	default:
		problems = append(problems, err)
	}
	// A variable that did not parse was left at its zero value; reporting
	// that value too would only repeat the problem.
	for _, e := range unwrapJoined(cfg.Validate()) {
		var ferr *FieldError
		if errors.As(e, &ferr) && unparsed[ferr.Key] {
			continue
		}
		problems = append(problems, e)
	}
	if len(problems) > 0 {
		return Config{}, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

// FieldError is one invalid configuration variable.
type FieldError struct {
	// Key is the environment variable, e.g. "COMETA_LISTEN".
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// ConfigError is an invalid configuration with all its problems.
type ConfigError struct {
	Problems []error
}

func (e *ConfigError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	plural := "s"
	if len(e.Problems) == 1 {
		plural = ""
	}
	lines = append(lines, fmt.Sprintf("invalid configuration (%d problem%s):", len(e.Problems), plural))
	for _, p := range e.Problems {
		lines = append(lines, "  - "+p.Error())
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so errors.Is sees each of them.
func (e *ConfigError) Unwrap() []error { return e.Problems }

// Validate reports every invalid value of c at once, joined with
// errors.Join; nil means c is usable.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	if err := validateListen(c.Listen); err != nil {
		bad("COMETA_LISTEN", "%v", err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("COMETA_DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if err := validateURL(c.DatabaseURL, "postgres", "postgresql"); err != nil {
			bad("COMETA_DATABASE_URL", "%v", err)
		}
	}
	if c.EventStore != PostgresEventStore {
		if err := validateURL(c.EventStore, "esdb", "esdb+discover"); err != nil {
			bad("COMETA_EVENTSTORE", "want %q or an esdb:// URL: %v", PostgresEventStore, err)
		}
	}
	if c.BootstrapToken != "" && len(c.BootstrapToken) < minSecretLen {
		bad("COMETA_BOOTSTRAP_TOKEN", "must be at least %d characters when set", minSecretLen)
	}
	if _, err := parseLogLevel(c.LogLevel); err != nil {
		bad("COMETA_LOG_LEVEL", "%v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("COMETA_LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
	if !filepath.IsAbs(c.PGBinDir) {
		bad("COMETA_PG_BIN_DIR", "%q is not an absolute path", c.PGBinDir)
	}
	if !filepath.IsAbs(c.BrowserBin) {
		bad("COMETA_BROWSER_BIN", "%q is not an absolute path", c.BrowserBin)
	}
	if c.BrowserURL != "" {
		if err := validateURL(c.BrowserURL, "ws", "wss"); err != nil {
			bad("COMETA_BROWSER_URL", "want a CDP websocket URL: %v", err)
		}
	}
	if c.MaxParallelRuns < 1 || c.MaxParallelRuns > maxRuns {
		bad("COMETA_MAX_PARALLEL_RUNS", "%d is not between 1 and %d", c.MaxParallelRuns, maxRuns)
	}
	checkDuration := func(key string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			bad(key, "%s is not between %s and %s", d, lo, hi)
		}
	}
	checkDuration("COMETA_RUN_LEASE", c.RunLease, 5*time.Second, time.Hour)
	checkDuration("COMETA_SCHEDULER_GRACE", c.SchedulerGrace, time.Second, time.Hour)
	checkDuration("COMETA_SCHEDULER_POLL_INTERVAL", c.SchedulerPollInterval, 100*time.Millisecond, 10*time.Minute)
	checkDuration("COMETA_STEP_TIMEOUT_MAX", c.StepTimeoutMax, time.Second, 24*time.Hour)
	checkDuration("COMETA_READ_YOUR_WRITES_TIMEOUT", c.ReadYourWritesTimeout,
		10*time.Millisecond, time.Minute)
	checkDuration("COMETA_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, 100*time.Millisecond, 10*time.Minute)
	if c.EncryptionPassphrase != "" && len(c.EncryptionPassphrase) < minSecretLen {
		bad("COMETA_ENCRYPTION_PASSPHRASE", "must be at least %d characters when set", minSecretLen)
	}
	if c.BodyLimit < minBodyLimit || c.BodyLimit > maxBodyLimit {
		bad("COMETA_BODY_LIMIT", "%s is not between %s and %s",
			c.BodyLimit, ByteSize(minBodyLimit), ByteSize(maxBodyLimit))
	}
	if err := validateURL(c.BrowserStackURL, "http", "https"); err != nil {
		bad("COMETA_BROWSERSTACK_URL", "%v", err)
	}
	if (c.BrowserStackUsername == "") != (c.BrowserStackAccessKey == "") {
		bad("COMETA_BROWSERSTACK_USERNAME", "set both COMETA_BROWSERSTACK_USERNAME and "+
			"COMETA_BROWSERSTACK_ACCESS_KEY, or neither")
	}
	return errors.Join(errs...)
}

// UsesESDB reports whether events go to EventStoreDB.
func (c Config) UsesESDB() bool { return c.EventStore != PostgresEventStore }

// SlogLevel returns the configured log level; c must be valid.
func (c Config) SlogLevel() slog.Level {
	level, _ := parseLogLevel(c.LogLevel)
	return level
}

func parseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

func validateListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: host must be an IP address, localhost or empty", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return nil
}

// validateURL checks that raw parses as an absolute URL with one of schemes
// and names a host.
func validateURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole input, which may hold a password.
		return errors.New("not a valid URL")
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return fmt.Errorf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return errors.New("no host")
	}
	return nil
}

// describeEnvError rewrites one of env's errors so that it names the
// variable instead of the Go field.
func describeEnvError(err error, vars map[string]string) *FieldError {
	var perr env.ParseError
	if !errors.As(err, &perr) {
		return &FieldError{Key: "environment", Msg: err.Error()}
	}
	f, ok := reflect.TypeFor[Config]().FieldByName(perr.Name)
	if !ok {
		return &FieldError{Key: perr.Name, Msg: perr.Err.Error()}
	}
	key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	switch f.Type {
	case reflect.TypeFor[time.Duration]():
		return &FieldError{Key: key, Msg: fmt.Sprintf("%q is not a duration (e.g. 90s, 5m)", vars[key])}
	case reflect.TypeFor[int]():
		return &FieldError{Key: key, Msg: fmt.Sprintf("%q is not a whole number", vars[key])}
	case reflect.TypeFor[bool]():
		return &FieldError{Key: key, Msg: fmt.Sprintf("%q is not true or false", vars[key])}
	}
	var terr error = perr.Err
	if inner := errors.Unwrap(terr); inner != nil {
		terr = inner
	}
	return &FieldError{Key: key, Msg: terr.Error()}
}

func unwrapJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
