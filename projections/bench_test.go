package projections

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/postgres"
	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/internal/pgtest"
)

// BenchmarkRebuild100k rebuilds the counters model (one upsert per event,
// keyed by stream, plus counters) over 100,000 events in 1,000 streams, on
// a PostgreSQL with fsync on. The baseline executes the same upserts
// directly from an in-memory slice, in transactions of the same page size
// with the same pipelined batches and synchronous_commit off, into a fresh
// table of the same shape: what is left between the two is reading and
// decoding the log, and the framework. Both figures are medians over the
// iterations (run with -benchtime=5x for five).
func BenchmarkRebuild100k(b *testing.B) {
	const events, streams = 100_000, 1_000
	ctx := context.Background()
	pool := pgtest.Pool(b, pgtest.NewDurableDatabase(b))
	logger := slog.New(slog.DiscardHandler)
	store, err := postgres.New(ctx, pool, logger)
	if err != nil {
		b.Fatalf("store: %v", err)
	}
	b.Cleanup(func() { _ = store.Close() })
	reg := testRegistry(b)
	rows := fillLog(b, store, reg, events, streams)

	m, err := New(pool, store, reg, logger, Options{}, &countersModel{})
	if err != nil {
		b.Fatalf("manager: %v", err)
	}
	if _, err := m.Rebuild(ctx, nil); err != nil { // warm up: hint bits, caches
		b.Fatalf("rebuild: %v", err)
	}

	var ours, raw []float64
	for b.Loop() {
		start := time.Now()
		res, err := m.Rebuild(ctx, nil)
		if err != nil {
			b.Fatalf("rebuild: %v", err)
		}
		ours = append(ours, benchreport.Rate(int(res[0].Events), time.Since(start)))
		raw = append(raw, rawUpserts(b, pool, rows, m.opts.RebuildPageSize))
	}
	benchreport.Record(b, median(ours), median(raw), "events/s")
}

// counterRow is one event's upsert in the baseline.
type counterRow struct {
	stream, key string
	by          int
	revision    int64
	at          time.Time
}

// fillLog appends events round-robin over streams, ten per append, from
// four writers, and returns, in log order, the rows the counters model
// derives from them.
func fillLog(b *testing.B, store eventstore.Store, reg *eventschemas.Registry, events, streams int) []counterRow {
	b.Helper()
	ctx := context.Background()
	const perAppend, writers = 10, 4
	base := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for round := range events / streams / perAppend {
				for s := w; s < streams; s += writers {
					batch := make([]eventstore.EventData, perAppend)
					for j := range batch {
						n := round*perAppend + j
						_, version, data, err := reg.Encode(counterBumped{Key: fmt.Sprintf("k%d", s%10), By: 1 + n%3})
						if err != nil {
							errs <- err
							return
						}
						batch[j] = eventstore.EventData{ID: uuid.New(), Type: typeCounterBumped,
							SchemaVersion: version, Data: data, OccurredAt: base.Add(time.Duration(n) * time.Second),
							Actor: "account-1", CorrelationID: "bench"}
					}
					if _, err := store.Append(ctx, fmt.Sprintf("counter-%d", s), eventstore.Any(), batch...); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("fill the log: %v", err)
	}

	rows := make([]counterRow, 0, events)
	var after eventstore.Position
	for len(rows) < events {
		page, err := store.ReadAll(ctx, after, 5000)
		if err != nil {
			b.Fatalf("read the log: %v", err)
		}
		for _, ev := range page {
			p, err := reg.Decode(ev.Type, ev.SchemaVersion, ev.Data)
			if err != nil {
				b.Fatalf("decode: %v", err)
			}
			c := p.(*counterBumped)
			rows = append(rows, counterRow{ev.Stream, c.Key, c.By, int64(ev.Revision), ev.OccurredAt})
			after = ev.Position
		}
	}
	return rows
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rawUpserts runs the baseline once and returns its events per second.
func rawUpserts(b *testing.B, pool *pgxpool.Pool, rows []counterRow, page int) float64 {
	b.Helper()
	ctx := context.Background()
	schema := "bench_raw_" + fmt.Sprint(time.Now().UnixNano())
	ddl := (&countersModel{}).DDL()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		if err := setSearchPath(ctx, tx, schema); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	if err != nil {
		b.Fatalf("baseline schema: %v", err)
	}
	defer func() { _, _ = pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE") }()

	start := time.Now()
	for i := 0; i < len(rows); i += page {
		chunk := rows[i:min(i+page, len(rows))]
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return err
			}
			if err := setSearchPath(ctx, tx, schema); err != nil {
				return err
			}
			batch := &pgx.Batch{}
			for _, r := range chunk {
				batch.Queue(`INSERT INTO counters (stream, key, total, events, last_revision, last_at)
					VALUES ($1, $2, $3, 1, $4, $5)
					ON CONFLICT (stream) DO UPDATE SET total = counters.total + excluded.total,
						events = counters.events + 1, last_revision = excluded.last_revision,
						last_at = excluded.last_at`, r.stream, r.key, r.by, r.revision, r.at)
			}
			return tx.SendBatch(ctx, batch).Close()
		})
		if err != nil {
			b.Fatalf("baseline page: %v", err)
		}
	}
	return benchreport.Rate(len(rows), time.Since(start))
}
