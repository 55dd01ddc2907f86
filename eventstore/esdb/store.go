// Package esdb is the EventStoreDB implementation of eventstore.Store,
// through the official v4 Go client. It is the only package that imports
// the client; its errors, positions and events never leave it.
//
// The adapter guards against the client's traps: a client whose discovery
// failed once is dead for good, so a holder rebuilds it (with backoff);
// discovery ignores the context, so every call runs where its ctx can end
// it; subscriptions start at the end unless told otherwise, so the position
// is always passed; esdb.FromError's bool is true on success, so errors are
// read with errors.As and Code; the client's log goes to the injected
// logger. Tests run against the in-memory server in esdbtest.
package esdb

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cometa-es/cometa/eventstore"
)

// Discovery settings used when the connection string names none. The
// client's own defaults (10 attempts, 5 s gossip timeout) keep a call to a
// hung server busy for about 50 s.
const (
	defaultMaxDiscoverAttempts = 3
	defaultDiscoveryIntervalMS = 200
	defaultGossipTimeoutS      = 3
)

// knownSettings are the query keys the v4 client understands, lower-cased.
// The client only logs a warning for others; Open refuses them.
var knownSettings = map[string]bool{
	"tls": true, "tlsverifycert": true, "tlscafile": true, "usercertfile": true,
	"userkeyfile": true, "discoveryinterval": true, "gossiptimeout": true,
	"maxdiscoverattempts": true, "nodepreference": true, "keepaliveinterval": true,
	"keepalivetimeout": true, "defaultdeadline": true,
}

// Store is an eventstore.Store on EventStoreDB. It is safe for concurrent
// use.
type Store struct {
	clients *holder
	logger  *slog.Logger
}

var _ eventstore.Store = (*Store)(nil)

// Open returns a store for the esdb:// or esdb+discover:// connection
// string. Open does no network I/O (ctx is only checked), so a store opened
// while the server is down works once the server is up; use Ping to wait for
// it. A nil logger discards the log.
func Open(ctx context.Context, connString string, logger *slog.Logger) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := parseConfig(connString, logger)
	if err != nil {
		return nil, err
	}
	return &Store{clients: newHolder(*cfg, logger), logger: logger}, nil
}

// parseConfig parses and checks a connection string. Its errors never
// repeat the string, which may hold a password.
func parseConfig(connString string, logger *slog.Logger) (*esdb.Configuration, error) {
	settings := url.Values{}
	if i := strings.IndexByte(connString, '?'); i >= 0 {
		q, err := url.ParseQuery(connString[i+1:])
		if err != nil {
			return nil, fmt.Errorf("open event store: connection string settings: %v", err)
		}
		settings = q
	}
	given := map[string]bool{}
	for key := range settings {
		k := strings.ToLower(key)
		if !knownSettings[k] {
			return nil, fmt.Errorf("open event store: unknown connection setting %q", key)
		}
		given[k] = true
	}

	cfg, err := esdb.ParseConnectionString(connString)
	if err != nil {
		return nil, fmt.Errorf("open event store: connection string: %v", err)
	}
	if !given["maxdiscoverattempts"] {
		cfg.MaxDiscoverAttempts = defaultMaxDiscoverAttempts
	}
	if !given["discoveryinterval"] {
		cfg.DiscoveryInterval = defaultDiscoveryIntervalMS
	}
	if !given["gossiptimeout"] {
		cfg.GossipTimeout = defaultGossipTimeoutS
	}
	if cfg.MaxDiscoverAttempts < 1 || cfg.GossipTimeout < 1 || cfg.DiscoveryInterval < 0 {
		return nil, fmt.Errorf("open event store: maxDiscoverAttempts and gossipTimeout must be at least 1, discoveryInterval at least 0")
	}
	cfg.Logger = clientLogger(logger)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open event store: %v", err)
	}
	return cfg, nil
}

// Ping connects if no connection is up and reports whether the server
// answers, within ctx.
func (s *Store) Ping(ctx context.Context) error {
	c, err := s.clients.acquire(ctx)
	if err != nil {
		return translate(ctx, "ping event store", err)
	}
	s.clients.release(c)
	return nil
}

// Close closes the clients. Calls and subscriptions in flight fail; the
// Store is unusable afterwards.
func (s *Store) Close() error {
	s.clients.close()
	return nil
}
