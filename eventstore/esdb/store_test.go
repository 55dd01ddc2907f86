package esdb

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/esdb/esdbtest"
	"github.com/cometa-es/cometa/eventstore/storetest"
)

// TestContract runs the store contract against the adapter, on a fresh
// in-memory test server per test.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return openStore(t, esdbtest.Start(t).URL())
	})
}

// TestContractRealServer runs the same contract against the EventStoreDB
// at COMETA_TEST_ESDB_URL (an esdb:// connection string). No EventStoreDB
// can run on the project's machines, so when the variable is unset the test
// logs that no real server is configured and returns: it is the one test
// that does not fail when its service is missing.
func TestContractRealServer(t *testing.T) {
	t.Parallel()
	url := os.Getenv("COMETA_TEST_ESDB_URL")
	if url == "" {
		t.Skip("COMETA_TEST_ESDB_URL is not set: no real EventStoreDB is configured, the contract did not run against one")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store { return openStore(t, url) })
}

func TestOpenRejectsBadConnectionStrings(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"wrong scheme":    "http://127.0.0.1:2113?tls=false",
		"no host":         "esdb://?tls=false",
		"unknown setting": "esdb://admin:s3cret@127.0.0.1:2113?tls=false&bogus=1",
		"bad number":      "esdb://admin:s3cret@127.0.0.1:2113?maxDiscoverAttempts=many",
		"no attempts":     "esdb://127.0.0.1:2113?maxDiscoverAttempts=0",
		"bad port":        "esdb://127.0.0.1:port",
	}
	for name, conn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(context.Background(), conn, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q) succeeded", conn)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

func TestOpenKeepsGivenDiscoverySettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		conn                       string
		attempts, interval, gossip int
	}{
		{"esdb://127.0.0.1:2113?tls=false", defaultMaxDiscoverAttempts, defaultDiscoveryIntervalMS, defaultGossipTimeoutS},
		{"esdb://127.0.0.1:2113?tls=false&MaxDiscoverAttempts=7&discoveryinterval=50&gossipTimeout=9", 7, 50, 9},
		{"esdb+discover://127.0.0.1:2113?tls=false&gossipTimeout=2", defaultMaxDiscoverAttempts, defaultDiscoveryIntervalMS, 2},
	}
	for _, tc := range cases {
		cfg, err := parseConfig(tc.conn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("parse %q: %v", tc.conn, err)
		}
		if cfg.MaxDiscoverAttempts != tc.attempts || cfg.DiscoveryInterval != tc.interval ||
			cfg.GossipTimeout != tc.gossip {
			t.Errorf("%q: attempts %d interval %d gossip %d, want %d %d %d", tc.conn,
				cfg.MaxDiscoverAttempts, cfg.DiscoveryInterval, cfg.GossipTimeout,
				tc.attempts, tc.interval, tc.gossip)
		}
	}
}

func openStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newEvent(typ string) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: []byte(`{}`),
		OccurredAt: time.Now(), Actor: "account-1",
	}
}

func streamName(kind string) string {
	return kind + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")
}

// Beyond what eventstore.ValidateAppend checks, a batch must not repeat an
// event id (the PostgreSQL store refuses it too).
func TestAppendRefusesRepeatedIDs(t *testing.T) {
	t.Parallel()
	s := openStore(t, esdbtest.Start(t).URL())
	ctx := testContext(t)
	stream := streamName("feature")
	ev := newEvent("FeatureSaved")
	if _, err := s.Append(ctx, stream, eventstore.NoStream(), ev, newEvent("FeatureSaved"), ev); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("append of a batch with a repeated id: %v, want ErrInvalid", err)
	}
	if _, err := s.ReadStream(ctx, stream, eventstore.StreamQuery{}); !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("after the refused batch the stream exists (%v)", err)
	}
}
