-- The event log. The schema itself is created by the store before goose
-- runs, because goose keeps its version table in it.

-- +goose Up
-- One row per stream: its last revision, locked by every append so that
-- appends to one stream are serialised and the expected-revision check is
-- exact.
CREATE TABLE eventlog.streams (
    stream   text PRIMARY KEY,
    revision bigint NOT NULL CHECK (revision >= 0)
);

-- Events, never updated or deleted. Only eventlog.append writes them, so
-- the stream column needs no foreign key (which would cost a check per row). A reader of the whole log orders by
-- (tx, seq) and reads only rows whose tx is below the oldest running
-- transaction (pg_snapshot_xmin), so that a transaction that commits late
-- can never land behind a position a reader has already passed.
CREATE TABLE eventlog.events (
    seq            bigserial NOT NULL,
    tx             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id       uuid NOT NULL UNIQUE,
    stream         text NOT NULL,
    revision       bigint NOT NULL CHECK (revision >= 0),
    type           text NOT NULL,
    schema_version integer NOT NULL CHECK (schema_version >= 1),
    data           jsonb NOT NULL,
    occurred_at    timestamptz NOT NULL,
    actor          text NOT NULL,
    correlation_id text NOT NULL,
    causation_id   text NOT NULL,
    PRIMARY KEY (tx, seq),
    UNIQUE (stream, revision)
);

-- append writes a batch to one stream if the stream is where the caller
-- expects it, in one statement (so one round trip and one transaction).
-- p_kind: 0 any, 1 no stream, 2 stream exists, 3 exact p_expected.
-- On success o_last_seq and o_tx locate the batch's last event and
-- o_revision is its revision; on a conflict nothing is written, o_last_seq
-- is NULL and o_revision is the stream's revision (-1: no stream).
-- A duplicate event id fails with a unique violation, which the store
-- sorts out (idempotent retry or a refused batch).
-- (Version 2 drops the NOTIFY below: see 00002_notify_after_commit.sql.)
-- +goose StatementBegin
CREATE FUNCTION eventlog.append(
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
    PERFORM pg_notify('eventlog_appended', '');
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION eventlog.append;
DROP TABLE eventlog.events;
DROP TABLE eventlog.streams;
