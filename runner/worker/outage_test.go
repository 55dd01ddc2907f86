package worker_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/runner/worker"
)

// downStore is a store whose Head answers err for its first calls, as a
// store in an outage does.
type downStore struct {
	eventstore.Store
	err   error
	fails int64
	heads atomic.Int64
}

func (s *downStore) Head(ctx context.Context) (eventstore.Position, time.Time, error) {
	if s.heads.Add(1) <= s.fails {
		return eventstore.Position{}, time.Time{}, fmt.Errorf("read head of the log: %w", s.err)
	}
	return s.Store.Head(ctx)
}

// TestRunWaitsOutAnUnavailableStore starts a worker while the store is
// unavailable: Run does not return (in cometa serve that would end the
// process), and once the store answers the worker runs what is requested.
// Any other error still ends Run at once.
func TestRunWaitsOutAnUnavailableStore(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	id := w.feature("During an outage", step(`StartBrowser and call URL "`+w.url+`/hello"`))

	store := &downStore{Store: w.h.Store, err: eventstore.ErrUnavailable, fails: 3}
	wk := worker.New(worker.Deps{Log: commands.NewLog(store, w.log.Registry()), Runs: w.runs, Queue: w.queue,
		Screenshots: w.shots, Variables: w.variables, Config: worker.Config{Identity: "runner-outage",
			PollInterval: 100 * time.Millisecond, TempDir: w.browsers, Passphrase: passphrase,
			Logger: testLogger(t, "runner-outage")}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wk.Run(ctx) }()
	for store.heads.Load() <= store.fails {
		select {
		case err := <-done:
			t.Fatalf("Run returned during the outage: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}

	out := w.request(id)
	for _, status := range w.wait(out.RunID) {
		if status != eventschemas.StatusSuccess {
			t.Errorf("run after the outage: %s, want Success", status)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after the stop: %v, want nil", err)
	}

	broken := &downStore{Store: w.h.Store, err: eventstore.ErrInvalid, fails: 1}
	wk = worker.New(worker.Deps{Log: commands.NewLog(broken, w.log.Registry()), Runs: w.runs, Queue: w.queue,
		Screenshots: w.shots, Variables: w.variables, Config: worker.Config{Identity: "runner-broken",
			TempDir: w.browsers, Passphrase: passphrase, Logger: testLogger(t, "runner-broken")}})
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := wk.Run(ctx); !errors.Is(err, eventstore.ErrInvalid) || ctx.Err() != nil {
		t.Errorf("Run on a store that refuses: %v, want ErrInvalid at once", err)
	}
}
