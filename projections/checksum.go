package projections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Checksum returns a digest of every table of a read model: table names,
// column names and types, and all rows in a fixed order. Two builds of the
// same model over the same events give the same checksum, so comparing the
// incremental tables with a rebuild's proves the rebuild equal. The tables
// are read in one snapshot; the checksum holds for the checkpoint they were
// at, which keeps moving while a projector runs.
func (m *Manager) Checksum(ctx context.Context, name string) (string, error) {
	if _, err := m.lookup([]string{name}); err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	var sum string
	err := pgx.BeginTxFunc(ctx, m.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			exists, err := schemaExists(ctx, tx, schemaOf(name))
			if err != nil {
				return err
			}
			if !exists {
				return fmt.Errorf("schema %s does not exist: %w", schemaOf(name), ErrInvalid)
			}
			sum, err = checksumSchema(ctx, tx, schemaOf(name))
			return err
		})
	if err != nil {
		return "", fmt.Errorf("checksum of read model %q: %w", name, err)
	}
	return sum, nil
}

// checksumSchema digests the tables of schema as tx sees them. The digest
// leaves out the schema's name, so that the rebuild schema and the live one
// compare equal. Rows are hashed in their text form, sorted bytewise, with
// the session settings that shape that text pinned for the transaction.
func checksumSchema(ctx context.Context, tx pgx.Tx, schema string) (string, error) {
	for _, set := range []string{
		"SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'",
		"SET LOCAL IntervalStyle = 'postgres'", "SET LOCAL extra_float_digits = 1",
	} {
		if _, err := tx.Exec(ctx, set); err != nil {
			return "", fmt.Errorf("checksum %s: %w", schema, err)
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT c.relname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
			ORDER BY a.attnum)
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
		GROUP BY c.relname
		ORDER BY c.relname COLLATE "C"`, schema)
	if err != nil {
		return "", fmt.Errorf("checksum %s: list tables: %w", schema, err)
	}
	type table struct{ name, columns string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		err := r.Scan(&t.name, &t.columns)
		return t, err
	})
	if err != nil {
		return "", fmt.Errorf("checksum %s: list tables: %w", schema, err)
	}

	h := sha256.New()
	for _, t := range tables {
		fmt.Fprintf(h, "table %s (%s)\n", t.name, t.columns)
		ident := pgx.Identifier{schema, t.name}.Sanitize()
		rows, err := tx.Query(ctx, "SELECT t::text FROM "+ident+` t ORDER BY t::text COLLATE "C"`)
		if err != nil {
			return "", fmt.Errorf("checksum %s: read %s: %w", schema, t.name, err)
		}
		var line []byte
		_, err = pgx.ForEachRow(rows, []any{&line}, func() error {
			h.Write(line)
			h.Write([]byte{'\n'})
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("checksum %s: read %s: %w", schema, t.name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
