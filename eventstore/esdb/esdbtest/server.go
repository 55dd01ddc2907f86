// Package esdbtest is an in-memory EventStoreDB test server for the tests of
// the esdb adapter. It speaks the gRPC protocol of the v4 client (built on
// the server interfaces that the client module ships), listens on
// 127.0.0.1, and offers fault injection: stop and restart on the same port,
// dropped subscriptions, delayed responses and a hung network.
//
// It is test code. Import it only from _test.go files; it is never to be
// offered as an event store. Its fidelity limits: positions are synthetic
// offsets (ordered like a real server's, but not its byte layout), there are
// no system projections, ACLs, deletes, persistent subscriptions or
// clustering, and idempotent appends are always recognised (a real server
// decides Any and StreamExists retries from a bounded cache).
package esdbtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Server is a running test server. Its data survives Stop and Restart.
type Server struct {
	t    testing.TB
	log  *memLog
	gate *gate
	addr string

	life sync.Mutex // serialises Stop and Restart
	mu   sync.Mutex
	gs   *grpc.Server
	done chan struct{} // closed when the current Serve returns
	// conns is nil while no gRPC server runs.
	conns map[*gatedConn]struct{}
	subs  map[*subscriber]struct{}
	delay time.Duration
	// delayChanged is closed and replaced when the delay changes.
	delayChanged chan struct{}
}

// Start runs a server on a free loopback port until the test ends. The log
// begins with a few system events ($-prefixed types in $-prefixed streams),
// as a real server's does.
func Start(t testing.TB) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("esdbtest: listen: %v", err)
	}
	s := &Server{
		t:    t,
		log:  newLog(),
		gate: newGate(),
		addr: lis.Addr().String(),
		subs: map[*subscriber]struct{}{},

		delayChanged: make(chan struct{}),
	}
	s.seed()
	s.serve(lis)
	t.Cleanup(s.Stop)
	return s
}

// URL is the connection string of the server (plain text, no TLS).
func (s *Server) URL() string { return "esdb://" + s.addr + "?tls=false" }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Stop closes the listener and every connection, ending all calls in
// flight. Restart serves again on the same port.
func (s *Server) Stop() {
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
}

// Restart stops the server if it runs and serves again on the same address
// with the same data. Call it from the test goroutine.
func (s *Server) Restart() {
	s.t.Helper()
	s.life.Lock()
	defer s.life.Unlock()
	s.stop()
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("esdbtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(lis)
}

// Hang freezes (true) or thaws (false) the network: the server keeps
// accepting TCP connections but neither reads nor answers on any of them,
// old or new, until it thaws. Nothing is lost: held traffic flows on once
// the server thaws.
func (s *Server) Hang(on bool) { s.gate.set(on) }

// Delay makes every call wait d after it arrives before the server handles
// it; 0 turns the delay off, also for calls already waiting. A call whose
// context ends first fails.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
	close(s.delayChanged)
	s.delayChanged = make(chan struct{})
}

// DropSubscriptions ends every running subscription with gRPC status
// Unavailable, as a server does when it drops a consumer.
func (s *Server) DropSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		sub.dropOnce.Do(func() { close(sub.drop) })
		delete(s.subs, sub)
	}
}

// Subscriptions returns the number of subscriptions the server is serving.
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// AppendSystemEvent writes an event with type typ (which should start with
// $) to stream (which should too), the way a real server writes its
// statistics and settings between user events.
func (s *Server) AppendSystemEvent(stream, typ string) {
	s.log.append(stream, expectation{kind: expectAny}, []proposal{{
		id:          uuid.New(),
		eventType:   typ,
		contentType: "application/json",
		data:        []byte(`{}`),
		meta:        []byte{},
	}})
}

func (s *Server) seed() {
	s.AppendSystemEvent("$settings", "$settings")
	s.AppendSystemEvent("$stats-"+s.addr, "$statsCollected")
	s.AppendSystemEvent("$$$scavenges", "$metadata")
}

func (s *Server) serve(lis net.Listener) {
	gs := grpc.NewServer(
		grpc.UnaryInterceptor(s.unaryDelay),
		grpc.StreamInterceptor(s.streamDelay),
		// The client pings every 10 s even without calls; the gRPC default
		// policy would answer that with GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             time.Second,
			PermitWithoutStream: true,
		}),
	)
	streams.RegisterStreamsServer(gs, &streamsService{srv: s})
	serverfeatures.RegisterServerFeaturesServer(gs, &featuresService{})
	gossip.RegisterGossipServer(gs, &gossipService{srv: s})

	done := make(chan struct{})
	s.mu.Lock()
	s.gs = gs
	s.done = done
	s.conns = map[*gatedConn]struct{}{}
	s.mu.Unlock()

	gl := &gatedListener{Listener: lis, gate: s.gate, track: s.track, done: s.untrack}
	go func() {
		defer close(done)
		_ = gs.Serve(gl)
	}()
}

// stop ends the running gRPC server; the caller holds s.life.
func (s *Server) stop() {
	s.mu.Lock()
	gs, done, conns := s.gs, s.done, s.conns
	s.gs, s.conns = nil, nil
	s.mu.Unlock()
	if gs == nil {
		return
	}
	// Close the connections first: one the gate holds in its handshake
	// would otherwise keep gs.Stop waiting.
	for c := range conns {
		_ = c.Close()
	}
	gs.Stop()
	<-done
}

func (s *Server) track(c *gatedConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *gatedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// wait holds a call for the current delay, counted from its arrival. A
// change of the delay applies to calls already waiting.
func (s *Server) wait(ctx context.Context) error {
	start := time.Now()
	for {
		s.mu.Lock()
		d, changed := s.delay, s.delayChanged
		s.mu.Unlock()
		left := time.Until(start.Add(d))
		if left <= 0 {
			return nil
		}
		timer := time.NewTimer(left)
		select {
		case <-timer.C:
			return nil
		case <-changed:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("esdbtest: delayed call: %w", ctx.Err())
		}
	}
}

func (s *Server) unaryDelay(ctx context.Context, req any, _ *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) streamDelay(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo,
	handler grpc.StreamHandler) error {
	if err := s.wait(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}
