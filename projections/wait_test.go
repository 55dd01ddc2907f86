package projections

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/eventstore"
)

func TestWaitForReturnsOnceReached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{}, seenModel{})
	e.run(m)
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for i := range 20 {
		res := e.appendEvent("counter-1", at, counterBumped{Key: "k", By: i})
		waitFor(t, m, res.Position)
		for _, name := range m.Names() {
			if cp := e.checkpointOf(name); cp.pos.Less(res.Position) {
				t.Fatalf("WaitFor returned with %s at %v, before %v", name, cp.pos, res.Position)
			}
		}
	}
	if err := m.WaitFor(testContext(t), eventstore.Position{}); err != nil {
		t.Errorf("WaitFor the start of the log: %v", err)
	}
}

func TestWaitForTimesOutWithTheContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.manager(fastOptions(), &countersModel{}, seenModel{})
	res := e.appendEvent("counter-1", time.Now(), counterBumped{Key: "k", By: 1})

	// Nothing projects: the wait ends with the caller's deadline.
	if err := m.Migrate(testContext(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := m.WaitFor(ctx, res.Position, "counters")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"counters" not built`) {
		t.Fatalf("WaitFor with nothing projecting: %v, want the deadline naming counters", err)
	}

	// Built but not projecting any more: it names where the model stands.
	built(t, m)
	later := e.appendEvent("counter-1", time.Now(), counterBumped{Key: "k", By: 1})
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = m.WaitFor(ctx, later.Position)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"seen" at `) {
		t.Fatalf("WaitFor on stopped models: %v, want the deadline naming seen's checkpoint", err)
	}
}

func TestWaitForAcrossProcesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	projector := e.manager(fastOptions(), &countersModel{}, seenModel{})
	e.run(projector)

	// An API process: same models, no projectors, with and without a
	// listener of its own.
	polling := e.manager(fastOptions(), &countersModel{}, seenModel{})
	listening := e.manager(fastOptions(), &countersModel{}, seenModel{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- listening.Listen(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	})

	for i := range 10 {
		res := e.appendEvent("counter-2", time.Now(), counterBumped{Key: "k", By: i})
		for _, api := range []*Manager{polling, listening} {
			waitFor(t, api, res.Position, "counters")
			if cp := e.checkpointOf("counters"); cp.pos.Less(res.Position) {
				t.Fatalf("WaitFor returned with counters at %v, before %v", cp.pos, res.Position)
			}
		}
	}
}

// TestWaitBuiltOnAnEmptyLog: a process that reads a model another process
// projects waits with WaitBuilt until the model's tables exist, also with
// nothing in the log (where WaitFor of the head returns at once).
func TestWaitBuiltOnAnEmptyLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := e.manager(fastOptions(), &countersModel{}, seenModel{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := reader.WaitBuilt(ctx, "counters"); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitBuilt before any projector ran: %v, want the context's error", err)
	}
	if err := reader.WaitBuilt(testContext(t), "nothing"); !errors.Is(err, ErrInvalid) {
		t.Errorf("WaitBuilt of an unknown model: %v, want ErrInvalid", err)
	}

	done := make(chan error, 1)
	go func() { done <- reader.WaitBuilt(testContext(t), "counters") }()
	e.run(e.manager(fastOptions(), &countersModel{}, seenModel{}))
	if err := <-done; err != nil {
		t.Fatalf("WaitBuilt: %v", err)
	}
	var n int
	if err := e.pool.QueryRow(testContext(t), "SELECT count(*) FROM rm_counters.counters").Scan(&n); err != nil {
		t.Errorf("the model's table once WaitBuilt returned: %v", err)
	}
}
