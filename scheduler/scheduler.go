package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
)

// Config tunes a Scheduler. The zero value of every field has a default.
type Config struct {
	// Grace is how late a tick may still fire. A tick found due later than
	// that (all schedulers were down) is recorded as missed; a fired tick
	// whose run request is not recorded after that long is finished by
	// whichever scheduler notices. Default one minute.
	Grace time.Duration
	// PollInterval is how often the Source is read for schedule changes.
	// Default 10 seconds.
	PollInterval time.Duration
	// BatchLimit bounds the ticks one job handles at a time; a longer
	// backlog (a long outage of a frequent schedule) continues at the next
	// poll. Default 1000.
	BatchLimit int
	// Identity is the actor of the events the scheduler records on its own
	// behalf (missed ticks, run request records). Default
	// "service:scheduler".
	Identity string
	// Clock is the time source. Default SystemClock.
	Clock Clock
	// Logger receives the scheduler's logs. Default slog.Default().
	Logger *slog.Logger
	// OnTick, when set, is told the outcome of every tick this scheduler
	// handled (for metrics). It is called from job goroutines, so it must
	// be safe for concurrent use, and must not block.
	OnTick func(TickResult)
}

// Outcome is what became of a tick in one scheduler.
type Outcome int

const (
	// Fired: this scheduler claimed the tick and requested the run.
	Fired Outcome = iota + 1
	// Missed: this scheduler recorded the tick as missed.
	Missed
	// ClaimedElsewhere: another scheduler had already fired or missed it.
	ClaimedElsewhere
	// Failed: the tick could not be handled; Err says why. A tick that
	// was claimed but whose run request failed is finished later.
	Failed
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Fired:
		return "fired"
	case Missed:
		return "missed"
	case ClaimedElsewhere:
		return "claimed_elsewhere"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// TickResult is the outcome of one tick in one scheduler.
type TickResult struct {
	FeatureID int64
	Fire      schedule.Fire
	Outcome   Outcome
	// CatchUp is true for a missed tick fired late by the run_once policy.
	CatchUp bool
	// RunID is the requested run, for Fired.
	RunID int64
	Err   error
}

// RunRefused reports whether the tick was claimed but the run commands
// refused its run for good (recorded as ScheduleTickRunRefused).
func (r TickResult) RunRefused() bool { return r.Outcome == Failed && refused(r.Err) }

// Scheduler fires the ticks of the active schedules. Several Schedulers
// may run against one store (replicas): each tick still fires once.
type Scheduler struct {
	log    *commands.Log
	source Source
	runs   RunRequester
	cfg    Config
	logger *slog.Logger
	chain  cron.Chain

	// entries is owned by the Run goroutine.
	entries map[int64]*entry

	mu sync.Mutex
	// pending are the unrequested claims of the latest snapshot, less
	// those this scheduler settled itself.
	pending []Claim
	// settled are the tick streams of claims this scheduler finished, or
	// whose run the run commands refused, each with whether a snapshot has
	// listed it since. A snapshot may list such a claim for a while: it
	// lags behind the record of the request or of the refusal, and without
	// that record (it could not be appended) it lists the claim until a
	// later try records it. An entry goes once a snapshot that listed it no
	// longer does.
	settled map[string]bool
}

// entry is one active schedule in a running Scheduler.
type entry struct {
	sched schedule.Schedule
	spec  *schedule.Spec
	job   cron.Job
	// planned is the next fire instant at which Run dispatches the job,
	// zero when the schedule fires no more. Owned by the Run goroutine.
	planned time.Time
	// backlog is set by the job when it left due ticks behind (an error,
	// the batch limit); the next poll dispatches it again.
	backlog atomic.Bool
	// dispatched is set by Run before each dispatch and cleared by the job
	// when it starts. Still set after a job ended, it means a dispatch was
	// skipped because the job was still running, and Run dispatches again.
	dispatched atomic.Bool

	mu sync.Mutex
	// cursor is the fire instant of the latest tick handled; the job
	// handles the ticks after it.
	cursor time.Time
}

// New returns a Scheduler that records ticks through log, learns the
// schedules from source and requests runs from runs.
func New(log *commands.Log, source Source, runs RunRequester, cfg Config) *Scheduler {
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Second
	}
	if cfg.BatchLimit <= 0 {
		cfg.BatchLimit = 1000
	}
	if cfg.Identity == "" {
		cfg.Identity = "service:scheduler"
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cl := cronLogger{cfg.Logger}
	return &Scheduler{
		log: log, source: source, runs: runs, cfg: cfg, logger: cfg.Logger,
		// SkipIfStillRunning must wrap Recover: its token is handed back
		// without a defer, so a panic passing through it would leave the
		// job skipped for ever.
		chain:   cron.NewChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)),
		entries: map[int64]*entry{},
		settled: map[string]bool{},
	}
}

// Run fires ticks until ctx ends, then waits for the jobs in flight and
// returns nil. Problems with the store are logged and retried at the next
// poll; they do not stop Run. A Scheduler runs once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.logger.DebugContext(ctx, "scheduler starting")
	var jobs sync.WaitGroup
	defer jobs.Wait()
	ended := make(chan struct{}, 1)
	dispatch := func(j cron.Job) {
		jobs.Add(1)
		go func() {
			defer jobs.Done()
			j.Run()
			select {
			case ended <- struct{}{}:
			default:
			}
		}()
	}
	finisher := s.chain.Then(cron.FuncJob(func() { s.finishClaims(ctx) }))

	var nextPoll time.Time
	for {
		now := s.cfg.Clock.Now()
		if !now.Before(nextPoll) {
			if s.poll(ctx, now) {
				dispatch(finisher)
			}
			nextPoll = now.Add(s.cfg.PollInterval)
		}
		wake := nextPoll
		for _, e := range s.entries {
			planned := !e.planned.IsZero() && !e.planned.After(now)
			if planned || e.dispatched.Load() {
				e.dispatched.Store(true)
				dispatch(e.job)
			}
			if planned {
				e.planned = time.Time{}
				if f, ok := e.spec.Next(now); ok {
					e.planned = f.At
				}
			}
			if !e.planned.IsZero() && e.planned.Before(wake) {
				wake = e.planned
			}
		}
		select {
		case <-ctx.Done():
			s.logger.DebugContext(ctx, "scheduler stopping")
			return nil
		case <-s.cfg.Clock.WakeAt(wake):
		case <-ended:
		}
	}
}

// poll reads the source and brings the entries up to date. It reports
// whether unrequested claims wait to be finished.
func (s *Scheduler) poll(ctx context.Context, now time.Time) bool {
	snap, err := s.source.Snapshot(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "read schedules", "err", err)
		}
		return false
	}

	seen := make(map[int64]bool, len(snap.Schedules))
	for _, a := range snap.Schedules {
		seen[a.FeatureID] = true
		if e, ok := s.entries[a.FeatureID]; ok && e.sched.SameSettings(a.Schedule) && e.sched.Since.Equal(a.Since) {
			if e.backlog.Swap(false) {
				e.planned = now
			}
			continue
		}
		e, err := s.newEntry(ctx, a)
		if err != nil {
			s.logger.ErrorContext(ctx, "schedule cannot be read", "feature_id", a.FeatureID, "err", err)
			delete(s.entries, a.FeatureID)
			continue
		}
		s.entries[a.FeatureID] = e
		s.logger.DebugContext(ctx, "schedule loaded", "feature_id", a.FeatureID,
			"expression", a.Expression, "zone", a.Zone)
	}
	for id := range s.entries {
		if !seen[id] {
			delete(s.entries, id)
			s.logger.DebugContext(ctx, "schedule removed", "feature_id", id)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = s.pending[:0]
	listed := make(map[string]bool, len(snap.Unrequested))
	for _, c := range snap.Unrequested {
		listed[c.Stream] = true
		if _, done := s.settled[c.Stream]; done {
			s.settled[c.Stream] = true
			continue
		}
		s.pending = append(s.pending, c)
	}
	for stream, seen := range s.settled {
		if seen && !listed[stream] {
			delete(s.settled, stream)
		}
	}
	return len(s.pending) > 0
}

// newEntry makes the entry of a new or changed schedule. Its ticks start
// after the later of the schedule's start and its latest recorded tick;
// the first dispatch handles (fires or records as missed) whatever has come
// due since.
func (s *Scheduler) newEntry(ctx context.Context, a Active) (*entry, error) {
	spec, err := a.Spec()
	if err != nil {
		return nil, err
	}
	e := &entry{sched: a.Schedule, spec: spec, cursor: a.Since}
	if a.LastTick.After(e.cursor) {
		e.cursor = a.LastTick
	}
	if f, ok := spec.Next(e.cursor); ok {
		e.planned = f.At
	}
	e.job = s.chain.Then(cron.FuncJob(func() { s.handleDue(ctx, e) }))
	return e, nil
}

// report logs a tick's outcome and tells OnTick.
func (s *Scheduler) report(ctx context.Context, r TickResult) {
	attrs := []any{"feature_id", r.FeatureID, "tick", r.Fire.ID(), "nominal", r.Fire.Nominal}
	switch r.Outcome {
	case Fired:
		s.logger.InfoContext(ctx, "tick fired", append(attrs, "run_id", r.RunID, "catch_up", r.CatchUp)...)
	case Missed:
		s.logger.InfoContext(ctx, "tick missed", attrs...)
	case ClaimedElsewhere:
		s.logger.DebugContext(ctx, "tick claimed elsewhere", attrs...)
	case Failed:
		switch {
		case errors.Is(r.Err, context.Canceled):
		case refused(r.Err):
			s.logger.WarnContext(ctx, "scheduled run refused", append(attrs, "err", r.Err)...)
		default:
			s.logger.ErrorContext(ctx, "tick not handled", append(attrs, "err", r.Err)...)
		}
	}
	if s.cfg.OnTick != nil {
		s.cfg.OnTick(r)
	}
}

// cronLogger passes robfig/cron's logs to slog: its routine messages
// (a skipped job) at Debug, its errors (a recovered panic) at Error.
type cronLogger struct{ logger *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.logger.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.logger.Error("cron: "+msg, append([]any{"err", err}, keysAndValues...)...)
}
