package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/internal/pgtest"
)

// The benchmarks run on a durable server (fsync on: pgtest.NewDurableDatabase),
// so the figures are the product's. Each puts the store beside plain SQL
// doing the same writes or reads on a table of the same shape and indexes
// (rawEventsSQL), measured in the same run.

const rawEventsSQL = `CREATE TABLE raw_events (
	seq bigserial NOT NULL,
	tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
	event_id uuid NOT NULL UNIQUE,
	stream text NOT NULL,
	revision bigint NOT NULL,
	type text NOT NULL,
	schema_version integer NOT NULL,
	data jsonb NOT NULL,
	occurred_at timestamptz NOT NULL,
	actor text NOT NULL,
	correlation_id text NOT NULL,
	causation_id text NOT NULL,
	PRIMARY KEY (tx, seq),
	UNIQUE (stream, revision))`

const rawInsertSQL = `INSERT INTO raw_events (event_id, stream, revision, type, schema_version,
	data, occurred_at, actor, correlation_id, causation_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

const rawBatchSQL = `INSERT INTO raw_events (event_id, stream, revision, type, schema_version,
	data, occurred_at, actor, correlation_id, causation_id)
	SELECT b.id, $1, $2 + b.n, b.type, b.version, b.data, b.occurred_at, b.actor, b.correlation, b.causation
	FROM unnest($3::uuid[], $4::text[], $5::integer[], $6::jsonb[], $7::timestamptz[], $8::text[],
		$9::text[], $10::text[]) WITH ORDINALITY
		AS b(id, type, version, data, occurred_at, actor, correlation, causation, n)
	ORDER BY b.n`

// rawPageSQL is a keyset-paged read of the log without the store: no
// visibility horizon, no subscription machinery.
const rawPageSQL = `SELECT ` + eventColumns + ` FROM eventlog.events
	WHERE (tx, seq) > ($1, $2) ORDER BY tx, seq LIMIT $3`

// benchStore opens a store and the raw table on a fresh durable database,
// with a pool large enough for the most concurrent benchmark.
func benchStore(b *testing.B) (*Store, *pgxpool.Pool) {
	b.Helper()
	pool := pgtest.Pool(b, withPoolSize(pgtest.NewDurableDatabase(b), 40))
	s := newStore(b, pool)
	if _, err := pool.Exec(testContext(b), rawEventsSQL); err != nil {
		b.Fatal(err)
	}
	return s, pool
}

// withPoolSize sets pgxpool's size in a connection string of either form.
func withPoolSize(conn string, n int) string {
	switch {
	case !strings.Contains(conn, "://"):
		return fmt.Sprintf("%s pool_max_conns=%d", conn, n)
	case strings.Contains(conn, "?"):
		return fmt.Sprintf("%s&pool_max_conns=%d", conn, n)
	default:
		return fmt.Sprintf("%s?pool_max_conns=%d", conn, n)
	}
}

func benchEvent() eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.New(), Type: "StepRecorded", SchemaVersion: 1,
		Data: []byte(`{"step_name":"StartBrowser use Chrome","status":"Success","success":true,` +
			`"execution_time":1843,"error":"","screenshots":["run-40/step-3.png"],"pixel_diff":0}`),
		OccurredAt: time.Now().UTC(), Actor: "service:runner", CorrelationID: uuid.NewString(),
		CausationID: uuid.NewString(),
	}
}

// parallel runs n operations over the given number of writers and returns
// how long they took. op gets the writer and its own operation count.
func parallel(b *testing.B, n, writers int, op func(w, i int) error) time.Duration {
	b.Helper()
	var (
		left = int64(n)
		wg   sync.WaitGroup
		errs = make([]error, writers)
	)
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; atomic.AddInt64(&left, -1) >= 0; i++ {
				if err := op(w, i); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return elapsed
}

// BenchmarkAppendSingle: one event per append, each writer on its own
// stream with the exact revision it wrote last (the command path), beside
// one plain INSERT per event.
func BenchmarkAppendSingle(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, pool := benchStore(b)
			ctx := testContext(b)
			run := uuid.NewString()[:8]
			b.ResetTimer()

			raw := parallel(b, b.N, writers, func(w, i int) error {
				ev := benchEvent()
				_, err := pool.Exec(ctx, rawInsertSQL, ev.ID, fmt.Sprintf("run-%s-%d", run, w), i,
					ev.Type, ev.SchemaVersion, ev.Data, ev.OccurredAt, ev.Actor, ev.CorrelationID, ev.CausationID)
				return err
			})
			ours := parallel(b, b.N, writers, func(w, i int) error {
				expected := eventstore.NoStream()
				if i > 0 {
					expected = eventstore.Exact(uint64(i - 1))
				}
				_, err := s.Append(ctx, fmt.Sprintf("run-%s-%d", run, w), expected, benchEvent())
				return err
			})
			benchreport.Record(b, benchreport.Rate(b.N, ours), benchreport.Rate(b.N, raw), "appends/s")
		})
	}
}

// BenchmarkAppendBatch: 100 events per append, one writer, beside one
// plain 100-row INSERT.
func BenchmarkAppendBatch(b *testing.B) {
	const size = 100
	s, pool := benchStore(b)
	ctx := testContext(b)
	run := uuid.NewString()[:8]
	batches := make([][]eventstore.EventData, b.N)
	for i := range batches {
		for range size {
			batches[i] = append(batches[i], benchEvent())
		}
	}
	b.ResetTimer()

	raw := parallel(b, b.N, 1, func(_, i int) error {
		bt := newBatch(batches[i])
		_, err := pool.Exec(ctx, rawBatchSQL, "run-"+run, i*size-1, bt.ids, bt.types, bt.versions,
			bt.data, bt.occurredAt, bt.actors, bt.correlations, bt.causations)
		return err
	})
	ours := parallel(b, b.N, 1, func(_, i int) error {
		expected := eventstore.NoStream()
		if i > 0 {
			expected = eventstore.Exact(uint64(i*size - 1))
		}
		_, err := s.Append(ctx, "run-"+run, expected, batches[i]...)
		return err
	})
	benchreport.Record(b, benchreport.Rate(b.N*size, ours), benchreport.Rate(b.N*size, raw), "events/s")
}

// BenchmarkCatchUp: a subscription from the start of a log of 100,000
// events until it has delivered them all, beside keyset-paged SELECTs of
// the same rows in pages of the same size.
func BenchmarkCatchUp(b *testing.B) {
	const total = 100_000
	s, pool := benchStore(b)
	ctx := testContext(b)
	for i := 0; i < total; i += 1000 {
		batch := make([]eventstore.EventData, 1000)
		for j := range batch {
			batch[j] = benchEvent()
		}
		if _, err := s.Append(ctx, fmt.Sprintf("run-%d", i/1000), eventstore.NoStream(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	// A steady-state table: hint bits set and statistics known.
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) eventlog.events"); err != nil {
		b.Fatal(err)
	}

	b.Run(fmt.Sprintf("events=%d", total), func(b *testing.B) {
		var ours, raw time.Duration
		for range b.N {
			raw += timed(b, func() error { return rawScan(ctx, s, total) })
			ours += timed(b, func() error { return subscribeScan(ctx, s, total) })
		}
		benchreport.Record(b, benchreport.Rate(b.N*total, ours), benchreport.Rate(b.N*total, raw), "events/s")
	})
}

func timed(b *testing.B, f func() error) time.Duration {
	b.Helper()
	start := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func rawScan(ctx context.Context, s *Store, total int) error {
	var after eventstore.Position
	for n := 0; n < total; {
		page, err := s.query(ctx, rawPageSQL, after.Commit, seqParam(after.Prepare), pageSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("raw scan ended after %d of %d events", n, total)
		}
		n += len(page)
		after = page[len(page)-1].Position
	}
	return nil
}

func subscribeScan(ctx context.Context, s *Store, total int) error {
	sub, err := s.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		return err
	}
	defer sub.Close()
	for range total {
		if _, err := sub.Recv(); err != nil {
			return err
		}
	}
	return nil
}
