package projections

import (
	"context"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
)

// IDs is the read model behind commands.IDs' seed: the highest integer id
// ever claimed per kind. A stream "<kind>-<n>" claims id n with its first
// event, whatever its type; later deletions do not lower the maximum, so
// after a restart the allocator starts past every id the log holds (up to
// the model's lag, which it steps over).
type IDs struct{}

var idStream = regexp.MustCompile(`^([a-z][a-z_]*)-([0-9]{1,18})$`)

// Name implements ReadModel.
func (IDs) Name() string { return "ids" }

// Version implements ReadModel.
func (IDs) Version() int { return 1 }

// DDL implements ReadModel.
func (IDs) DDL() string {
	return `CREATE TABLE max_ids (kind text PRIMARY KEY, max_id bigint NOT NULL);`
}

// EventTypes implements ReadModel: any event may be the first of a stream.
func (IDs) EventTypes() []string {
	var types []string
	for _, s := range eventschemas.Schemas() {
		types = append(types, s.Type)
	}
	return types
}

// Apply implements ReadModel.
func (m IDs) Apply(ctx context.Context, tx pgx.Tx, ev Event) error {
	var b pgx.Batch
	if err := m.Queue(&b, ev); err != nil || b.Len() == 0 {
		return err
	}
	return tx.SendBatch(ctx, &b).Close()
}

// Queue implements Queuer.
func (IDs) Queue(b *pgx.Batch, ev Event) error {
	if ev.Revision != 0 {
		return nil
	}
	m := idStream.FindStringSubmatch(ev.Stream)
	if m == nil {
		return nil
	}
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return nil
	}
	b.Queue(`INSERT INTO max_ids (kind, max_id) VALUES ($1, $2)
		ON CONFLICT (kind) DO UPDATE SET max_id = greatest(max_ids.max_id, excluded.max_id)`, m[1], id)
	return nil
}
