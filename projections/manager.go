package projections

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// Log is the part of the event store the framework reads.
// eventstore.Store satisfies it.
type Log interface {
	ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error)
	SubscribeAll(ctx context.Context, after eventstore.Position) (eventstore.Subscription, error)
	Head(ctx context.Context) (eventstore.Position, time.Time, error)
}

// Options tunes a Manager. The zero value gives the defaults named on each
// field.
type Options struct {
	// BatchSize bounds the events a live projector applies in one
	// transaction (default 500).
	BatchSize int
	// RebuildPageSize is the number of events a rebuild reads from the log
	// and applies per transaction (default 5000).
	RebuildPageSize int
	// RetryMin and RetryMax bound the backoff between attempts at an event
	// that cannot be applied and after transient faults (default 1 s and
	// 5 min).
	RetryMin, RetryMax time.Duration
	// TakeoverInterval is how often a standby process tries to become the
	// active projector of a model, and how often the active one checks that
	// its lock connection is alive (default 1 s).
	TakeoverInterval time.Duration
	// PollInterval is how often WaitFor reads the checkpoints when no
	// notification arrives. With a listener running (Run or Listen) it is
	// only a safety net (default 1 s); without one WaitFor polls at a tenth
	// of it.
	PollInterval time.Duration
	// LagCountLimit caps how many events Status counts to report the lag in
	// events; beyond it the lag is a lower bound (default 10000).
	LagCountLimit int
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.RebuildPageSize <= 0 {
		o.RebuildPageSize = 5000
	}
	if o.LagCountLimit <= 0 {
		o.LagCountLimit = 10000
	}
	def(&o.RetryMin, time.Second)
	def(&o.RetryMax, 5*time.Minute)
	def(&o.TakeoverInterval, time.Second)
	def(&o.PollInterval, time.Second)
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	return o
}

// Manager runs the projectors of a set of read models and answers status,
// wait, rebuild and checksum requests about them. Every method may be called
// from any process sharing the database: all state that matters lives in
// the database, coordinated by row locks and advisory locks.
//
// Connections: batches, dead letters and rebuild pages each hold one pool
// connection for one short transaction and, but for the last events of a
// rebuild swap, never ask the pool for a second one meanwhile (the store is
// read before a transaction begins), so the pool can be small. Besides the
// pool, Run opens one session for the projector locks and one for LISTEN,
// and each running rebuild one for its lock; they are opened from the
// pool's configuration so that they never take a pool slot for good.
type Manager struct {
	pool     *pgxpool.Pool
	log      Log
	reg      *eventschemas.Registry
	logger   *slog.Logger
	opts     Options
	handlers []*handler
	byName   map[string]*handler
	board    *board

	migrateMu sync.Mutex
	migrated  bool
}

// New returns a Manager for models, which must have valid unique names and
// handle only event types registered in reg. It does no I/O: the
// framework's tables are migrated by the first call that needs them.
func New(pool *pgxpool.Pool, log Log, reg *eventschemas.Registry, logger *slog.Logger,
	opts Options, models ...ReadModel) (*Manager, error) {
	if pool == nil || log == nil || reg == nil || logger == nil {
		return nil, fmt.Errorf("new projections manager: pool, log, registry and logger are required: %w",
			ErrInvalid)
	}
	if err := validateModels(reg, models); err != nil {
		return nil, fmt.Errorf("new projections manager: %w", err)
	}
	m := &Manager{
		pool: pool, log: log, reg: reg, logger: logger, opts: opts.withDefaults(),
		byName: make(map[string]*handler, len(models)),
		board:  newBoard(),
	}
	for _, model := range models {
		h := newHandler(model)
		m.handlers = append(m.handlers, h)
		m.byName[h.name] = h
	}
	return m, nil
}

// Names lists the read models of m in the order given to New.
func (m *Manager) Names() []string {
	out := make([]string, len(m.handlers))
	for i, h := range m.handlers {
		out[i] = h.name
	}
	return out
}

// Migrate creates or updates the framework's own tables. Every other method
// calls it first; calling it explicitly only moves the work to start-up.
func (m *Manager) Migrate(ctx context.Context) error {
	m.migrateMu.Lock()
	defer m.migrateMu.Unlock()
	if m.migrated {
		return nil
	}
	if err := migrate(ctx, m.pool, m.logger); err != nil {
		return err
	}
	m.migrated = true
	return nil
}

// Run projects every read model until ctx ends, then returns nil. Per model,
// one process at a time is the active projector (it holds the model's
// advisory lock); in other processes Run stands by and takes over within
// TakeoverInterval when the active one dies. A model whose stored version
// differs from its code is rebuilt before it is projected. Run also listens
// for checkpoint notifications so that WaitFor in this process wakes
// promptly. It returns an error only when the tables cannot be migrated.
func (m *Manager) Run(ctx context.Context) error {
	if err := m.migrateRetrying(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}

	keeper := newKeeper(m.pool.Config().ConnConfig, m.logger, m.opts.TakeoverInterval)
	defer keeper.close(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { m.listen(ctx) })
	wg.Go(func() { keeper.watch(ctx) })
	for _, h := range m.handlers {
		wg.Go(func() { m.supervise(ctx, keeper, h) })
	}
	m.logger.DebugContext(ctx, "projectors started", "read_models", len(m.handlers))
	wg.Wait()
	m.logger.DebugContext(ctx, "projectors stopped")
	return nil
}

// Listen only follows checkpoint notifications, for a process that calls
// WaitFor but leaves projecting to another process. It returns nil when ctx
// ends.
func (m *Manager) Listen(ctx context.Context) error {
	if err := m.migrateRetrying(ctx); err != nil {
		return err
	}
	m.listen(ctx)
	return nil
}

// migrateRetrying migrates, retrying transient faults (the database still
// starting) with backoff until ctx ends.
func (m *Manager) migrateRetrying(ctx context.Context) error {
	bo := backoff{min: m.opts.RetryMin, max: m.opts.RetryMax}
	for {
		err := m.Migrate(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if !isTransient(err) {
			return err
		}
		m.logger.WarnContext(ctx, "projection tables not migrated, retrying", "err", err)
		if bo.wait(ctx) != nil {
			return nil
		}
	}
}

// connectAs opens a session of its own with the pool's configuration,
// named in pg_stat_activity by app.
func connectAs(ctx context.Context, pool *pgxpool.Pool, app string) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, named(pool.Config().ConnConfig, app))
}

// named returns a copy of cfg whose sessions carry application_name app.
func named(cfg *pgx.ConnConfig, app string) *pgx.ConnConfig {
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = make(map[string]string)
	}
	cfg.RuntimeParams["application_name"] = app
	return cfg
}

// lookup returns the handlers for names, all of them when names is empty.
// An unknown name is ErrInvalid.
func (m *Manager) lookup(names []string) ([]*handler, error) {
	if len(names) == 0 {
		return m.handlers, nil
	}
	out := make([]*handler, 0, len(names))
	for _, n := range names {
		h, ok := m.byName[n]
		if !ok {
			return nil, fmt.Errorf("read model %q: not one of %v: %w", n, m.Names(), ErrInvalid)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}
