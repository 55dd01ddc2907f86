package projectiontest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

type pinged struct {
	Who string `json:"who"`
}

func (pinged) EventType() string { return "Pinged" }

// pings counts Pinged events per stream and remembers the last sender.
type pings struct{}

func (pings) Name() string         { return "pings" }
func (pings) Version() int         { return 1 }
func (pings) EventTypes() []string { return []string{"Pinged"} }
func (pings) DDL() string {
	return "CREATE TABLE pings (stream text PRIMARY KEY, n bigint NOT NULL, last_who text NOT NULL)"
}

func (pings) Apply(ctx context.Context, tx pgx.Tx, ev projections.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO pings VALUES ($1, 1, $2)
		ON CONFLICT (stream) DO UPDATE SET n = pings.n + 1, last_who = excluded.last_who`,
		ev.Stream, ev.Payload.(*pinged).Who)
	return err
}

func TestHarness(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schema{Type: "Pinged", Version: 1,
		New: func() eventschemas.Payload { return &pinged{} }})
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	h := projectiontest.New(t, reg, pings{})
	h.Append("ping-1", pinged{Who: "a"}, pinged{Who: "b"})
	h.Append("ping-2", pinged{Who: "c"})
	h.Append("ping-1", pinged{Who: "d"})
	h.Sync()

	var n int64
	var who string
	if err := h.Pool.QueryRow(context.Background(),
		"SELECT n, last_who FROM rm_pings.pings WHERE stream = 'ping-1'").Scan(&n, &who); err != nil {
		t.Fatalf("query: %v", err)
	}
	if n != 3 || who != "d" {
		t.Errorf("ping-1: %d pings, last from %q; want 3 from d", n, who)
	}
	h.CheckRebuild()
}
