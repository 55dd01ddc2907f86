-- The append function no longer sends NOTIFY itself: a NOTIFY inside the
-- transaction holds a cluster-wide lock from just before the commit record
-- until the transaction ends, so notifying appends flushed their commits one
-- at a time (no group commit). The Store announces commits right after they
-- return instead (see notifier.go); a wake lost to a crash in between is
-- covered by the subscriptions' poll.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION eventlog.append(
    p_stream text, p_kind integer, p_expected bigint,
    p_ids uuid[], p_types text[], p_versions integer[], p_data jsonb[],
    p_occurred_at timestamptz[], p_actors text[], p_correlations text[],
    p_causations text[],
    OUT o_revision bigint, OUT o_last_seq bigint, OUT o_tx xid8)
LANGUAGE plpgsql AS $$
DECLARE
    cur bigint;
BEGIN
    SELECT s.revision INTO cur FROM eventlog.streams s
    WHERE s.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        IF p_kind IN (2, 3) THEN
            o_revision := -1;
            RETURN;
        END IF;
        -- Waits for a concurrent creator; if it committed, lock its row.
        INSERT INTO eventlog.streams (stream, revision) VALUES (p_stream, 0)
        ON CONFLICT (stream) DO NOTHING;
        IF FOUND THEN
            cur := -1;
        ELSE
            SELECT s.revision INTO cur FROM eventlog.streams s
            WHERE s.stream = p_stream FOR UPDATE;
        END IF;
    END IF;

    IF (p_kind = 1 AND cur >= 0) OR (p_kind = 3 AND cur <> p_expected) THEN
        o_revision := cur;
        RETURN;
    END IF;

    WITH inserted AS (
        INSERT INTO eventlog.events (event_id, stream, revision, type, schema_version,
            data, occurred_at, actor, correlation_id, causation_id)
        SELECT b.id, p_stream, cur + b.n, b.type, b.version,
            b.data, b.occurred_at, b.actor, b.correlation, b.causation
        FROM unnest(p_ids, p_types, p_versions, p_data, p_occurred_at, p_actors,
            p_correlations, p_causations)
            WITH ORDINALITY AS b(id, type, version, data, occurred_at, actor,
                correlation, causation, n)
        ORDER BY b.n
        RETURNING seq
    )
    SELECT max(seq) INTO o_last_seq FROM inserted;

    o_revision := cur + cardinality(p_ids);
    UPDATE eventlog.streams s SET revision = o_revision WHERE s.stream = p_stream;
    o_tx := pg_current_xact_id();
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- Going back to version 1 restores the notifying function, which
-- 00001_eventlog.sql defines; re-run it by hand if ever needed.
SELECT 1;
