// Package worker is the runner process: it takes queued feature results,
// claims each for itself on the result's stream (so exactly one runner
// executes it), executes its steps in a browser of its own, records every
// step as it ends, and finishes the result Success, Failed or Canceled.
//
// At most Config.MaxParallel results execute at a time; the others wait in
// the queue. A claim carries a lease that the worker renews while it
// works; a result whose runner stopped renewing (it died) is ended Failed
// by whichever worker notices first. A kill stops the step in progress,
// closes the browser and ends the result Canceled.
//
// The worker learns of work and kills from a live subscription to the log
// (immediately) and from the run queue read model (at every poll, for
// results queued before it started and for expired leases).
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/runner/steps"
)

// Queue is what the worker reads of the run queue read model;
// *projections.RunQueueReader implements it.
type Queue interface {
	// Queued returns up to limit results waiting for a runner, oldest
	// first.
	Queued(ctx context.Context, limit int) ([]run.Ref, error)
	// Expired returns up to limit claimed results whose lease ended
	// before t.
	Expired(ctx context.Context, t time.Time, limit int) ([]run.Ref, error)
}

// Screenshots is the screenshot file store; *screenshots.Store implements
// it. Names are content hashes.
type Screenshots interface {
	Put(ctx context.Context, data []byte) (name string, err error)
	Open(name string) (*os.File, error)
}

// Config tunes a Worker. Every field has a default; cmd fills it from the
// environment.
type Config struct {
	// Identity names this runner in claims and leases. It must be unique
	// among the runners sharing a store. Default "runner@<host>/<pid>".
	Identity string
	// MaxParallel is how many results execute at a time
	// (COMETA_MAX_PARALLEL_RUNS, default 2).
	MaxParallel int
	// Lease is how long a claim holds without renewal (COMETA_RUN_LEASE,
	// default 60 s). The worker renews at a third of it.
	Lease time.Duration
	// PollInterval is how often the run queue is read for waiting results
	// and expired leases (default a quarter of Lease, at most 5 s).
	PollInterval time.Duration
	// BrowserBin is the local Chromium (COMETA_BROWSER_BIN); the browser
	// package's default when empty.
	BrowserBin string
	// RemoteBrowser, when set, is the CDP websocket URL of a browser to
	// use instead of launching one.
	RemoteBrowser string
	// ResolveAllHosts lets the browser resolve every host name, not only
	// loopback ones.
	ResolveAllHosts bool
	// TempDir holds the browsers' temporary folders; the system's when
	// empty.
	TempDir string
	// Passphrase decrypts encrypted variables (cryptojs format).
	Passphrase string
	// Threshold is the pixel comparison threshold, 0..1 (default 0.1).
	Threshold float64
	// UploadsDir holds the files "Upload a file" may send.
	UploadsDir string
	// Logger receives the worker's logs; discarded when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Identity == "" {
		host, _ := os.Hostname()
		c.Identity = fmt.Sprintf("runner@%s/%d", host, os.Getpid())
	}
	if c.MaxParallel <= 0 {
		c.MaxParallel = 2
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = min(c.Lease/4, 5*time.Second)
	}
	if c.Threshold == 0 {
		c.Threshold = 0.1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Deps are the worker's collaborators.
type Deps struct {
	Log  *commands.Log
	Runs *commands.Runs
	// Queue is the run queue read model.
	Queue Queue
	// Screenshots stores screenshots and diff images.
	Screenshots Screenshots
	// Catalogue is the step language; steps.NewCatalogue() when nil.
	Catalogue *steps.Catalogue
	// Variables saves the environment variables that steps save; without
	// it those steps fail.
	Variables *commands.Variables
	Config    Config
}

// Worker executes feature results. Build it with New and start it with
// Run.
type Worker struct {
	d   Deps
	cfg Config
	log *slog.Logger

	slots chan struct{}
	wake  chan struct{}

	mu      sync.Mutex
	pending []run.Ref
	queued  map[int64]bool
	active  map[int64]*execution
}

// New returns a worker; it does no I/O.
func New(d Deps) *Worker {
	cfg := d.Config.withDefaults()
	if d.Catalogue == nil {
		d.Catalogue = steps.NewCatalogue()
	}
	return &Worker{
		d:      d,
		cfg:    cfg,
		log:    cfg.Logger.With("runner", cfg.Identity),
		slots:  make(chan struct{}, cfg.MaxParallel),
		wake:   make(chan struct{}, 1),
		queued: map[int64]bool{},
		active: map[int64]*execution{},
	}
}

// Identity returns the name the worker claims results with.
func (w *Worker) Identity() string { return w.cfg.Identity }

// Run serves until ctx ends: it follows the log for new runs and kills,
// polls the run queue, and executes up to MaxParallel results at a time.
// When ctx ends, the results in progress are stopped and finished Failed
// ("the runner stopped") and their browsers closed before Run returns nil.
// An error is returned only when the worker cannot start following the
// log for another reason than an unavailable store, which it waits out;
// a ctx that ends while it starts is a stop, not such a failure.
func (w *Worker) Run(ctx context.Context) error {
	head, sub, err := w.follow(ctx)
	if err != nil {
		return w.startError(ctx, err)
	}
	w.log.InfoContext(ctx, "runner started", "max_parallel", w.cfg.MaxParallel, "lease_ms", w.cfg.Lease.Milliseconds())

	var bg sync.WaitGroup
	bg.Go(func() { w.watch(ctx, sub, head) })
	bg.Go(func() { w.poll(ctx) })

	var execs sync.WaitGroup
	for {
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		ref, ok := w.next(ctx)
		if !ok {
			<-w.slots
			break
		}
		execs.Go(func() {
			defer func() { <-w.slots }()
			w.execute(ctx, ref)
		})
	}
	execs.Wait()
	bg.Wait()
	w.log.InfoContext(context.WithoutCancel(ctx), "runner stopped")
	return nil
}

// startError is Run's answer to err from starting to follow the log: nil
// when ctx has ended (the worker was stopped as it started).
func (w *Worker) startError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("runner %s: %w", w.cfg.Identity, err)
}

// follow subscribes to the log from its head. While the store is
// unavailable (a runner that starts during an outage of EventStoreDB or
// PostgreSQL) it tries again, with the backoff of watch, until ctx ends:
// the outage must not end the process, whose projectors wait it out too.
// Any other error is returned at once.
func (w *Worker) follow(ctx context.Context) (eventstore.Position, eventstore.Subscription, error) {
	backoff := resubscribeMin
	for {
		head, _, err := w.d.Log.Store().Head(ctx)
		if err == nil {
			var sub eventstore.Subscription
			if sub, err = w.d.Log.Store().SubscribeAll(ctx, head); err == nil {
				return head, sub, nil
			}
		}
		if ctx.Err() != nil || !errors.Is(err, eventstore.ErrUnavailable) {
			return eventstore.Position{}, nil, err
		}
		w.log.WarnContext(ctx, "event store unavailable; the runner starts once it answers", "err", err,
			"retry_in", backoff)
		select {
		case <-ctx.Done():
			return eventstore.Position{}, nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, resubscribeMax)
	}
}

// enqueue adds results to the local queue, skipping those queued or
// executing already, and wakes the dispatcher.
func (w *Worker) enqueue(refs ...run.Ref) {
	w.mu.Lock()
	added := false
	for _, r := range refs {
		if w.queued[r.FeatureResultID] || w.active[r.FeatureResultID] != nil {
			continue
		}
		w.queued[r.FeatureResultID] = true
		w.pending = append(w.pending, r)
		added = true
	}
	w.mu.Unlock()
	if added {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// next waits for the next queued result; ok is false when ctx ended.
func (w *Worker) next(ctx context.Context) (run.Ref, bool) {
	for {
		w.mu.Lock()
		if len(w.pending) > 0 {
			r := w.pending[0]
			w.pending = w.pending[1:]
			delete(w.queued, r.FeatureResultID)
			w.mu.Unlock()
			return r, true
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-ctx.Done():
			return run.Ref{}, false
		}
	}
}

// poll reads the run queue at every PollInterval: waiting results go to
// the local queue, expired leases are ended.
func (w *Worker) poll(ctx context.Context) {
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		w.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) pollOnce(ctx context.Context) {
	queued, err := w.d.Queue.Queued(ctx, 4*w.cfg.MaxParallel)
	if err != nil && ctx.Err() == nil {
		w.log.WarnContext(ctx, "read the run queue", "err", err)
	}
	w.enqueue(queued...)

	now := w.cfg.Now()
	expired, err := w.d.Queue.Expired(ctx, now, 50)
	if err != nil && ctx.Err() == nil {
		w.log.WarnContext(ctx, "read expired leases", "err", err)
	}
	for _, r := range expired {
		if w.isActive(r.FeatureResultID) {
			continue
		}
		meta := w.meta("", now)
		ended, err := w.d.Runs.ExpireLease(ctx, meta, r.FeatureResultID, w.cfg.Identity)
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.WarnContext(ctx, "end a result with an expired lease", "feature_result_id", r.FeatureResultID, "err", err)
		case ended:
			w.log.InfoContext(ctx, "ended a result whose runner stopped renewing its lease",
				"feature_result_id", r.FeatureResultID)
		}
	}
}

func (w *Worker) isActive(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.active[id] != nil
}

func (w *Worker) meta(correlation string, now time.Time) commands.Meta {
	return commands.Meta{Actor: "service:runner", CorrelationID: correlation, Now: now}
}

// errStopped marks an execution stopped because the worker is stopping.
var errStopped = errors.New("the runner stopped")
