package esdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/esdb/esdbtest"
)

// The errors come from the real client, so that the table pins how the
// client reports each situation, not how this file imagines it.
func TestClassifyAndTranslate(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	ctx := testContext(t)

	closed := rawClient(t, srv.URL())
	_ = closed.Close()
	_, closedErr := closed.AppendToStream(ctx, "s-1", esdb.AppendToStreamOptions{}, rawEvent())

	refused := rawClient(t, "esdb://"+freeAddr(t)+"?tls=false&maxDiscoverAttempts=1&discoveryInterval=0")
	_, refusedErr := refused.AppendToStream(ctx, "s-1", esdb.AppendToStreamOptions{}, rawEvent())

	live := rawClient(t, srv.URL())
	_, wrongErr := live.AppendToStream(ctx, "s-2", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(3)}, rawEvent())
	rs, err := live.ReadStream(ctx, "s-missing", esdb.ReadStreamOptions{}, 1)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	_, missingErr := rs.Recv()
	rs.Close()

	cases := []struct {
		name     string
		err      error
		want     failure
		category error
	}{
		{"closed client", closedErr, failure{retire: true, unsent: true, transient: true}, eventstore.ErrUnavailable},
		{"refused discovery", refusedErr, failure{retire: true, transient: true}, eventstore.ErrUnavailable},
		{"wrong expected version", wrongErr, failure{}, eventstore.ErrUnavailable},
		{"stream not found", missingErr, failure{}, eventstore.ErrNotFound},
		{"raw unavailable", fmt.Errorf("read: %w", status.Error(codes.Unavailable, "gone")), failure{retire: true, transient: true}, eventstore.ErrUnavailable},
		{"raw deadline", status.Error(codes.DeadlineExceeded, "slow"), failure{transient: true}, eventstore.ErrUnavailable},
		{"client panic", &clientPanic{value: "unreachable code"}, failure{transient: true}, eventstore.ErrUnavailable},
		{"anything else", errors.New("boom"), failure{}, eventstore.ErrUnavailable},
	}
	for _, tc := range cases {
		if tc.err == nil {
			t.Errorf("%s: the client reported no error", tc.name)
			continue
		}
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify(%v) = %+v, want %+v", tc.name, tc.err, got, tc.want)
		}
		tr := translate(ctx, "op", tc.err)
		if !errors.Is(tr, tc.category) {
			t.Errorf("%s: translate = %v, want %v", tc.name, tr, tc.category)
		}
		var e *esdb.Error
		if errors.As(tr, &e) {
			t.Errorf("%s: the translated error still carries the client's type: %v", tc.name, tr)
		}
	}

	done, cancel := context.WithCancel(ctx)
	cancel()
	if tr := translate(done, "op", refusedErr); !errors.Is(tr, context.Canceled) {
		t.Errorf("translate after the ctx ended = %v, want context.Canceled", tr)
	}
}

func rawClient(t *testing.T, url string) *esdb.Client {
	t.Helper()
	cfg, err := esdb.ParseConnectionString(url)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func rawEvent() esdb.EventData {
	return esdb.EventData{EventType: "StepRecorded", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
