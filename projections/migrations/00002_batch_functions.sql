-- Server-side halves of a live batch, so that a batch costs few round trips
-- (see fastbatch.go). Both set synchronous_commit off for their transaction:
-- the events a batch applies are durable already, and a crash loses only
-- the newest batches together with their checkpoint.

-- +goose Up

-- begin_batch locks the checkpoint row of a read model, checks that it
-- still holds the version and position the batch started from (SQLSTATE
-- CM001 otherwise: the batch must not commit), and confines the rest of the
-- transaction to the model's schema.
-- +goose StatementBegin
CREATE FUNCTION projections.begin_batch(p_name text, p_version integer,
    p_commit bigint, p_prepare bigint, p_schema text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur record;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT version, commit_pos, prepare_pos INTO cur FROM projections.checkpoints
    WHERE name = p_name FOR UPDATE;
    IF NOT FOUND OR cur.version <> p_version OR cur.commit_pos <> p_commit
        OR cur.prepare_pos <> p_prepare THEN
        RAISE EXCEPTION 'checkpoint of read model % moved', p_name USING ERRCODE = 'CM001';
    END IF;
    PERFORM set_config('search_path', quote_ident(p_schema), true);
END;
$$;
-- +goose StatementEnd

-- advance moves a read model's checkpoint from one position to another,
-- clearing any recorded failure, and announces it as the framework's
-- writeCheckpoint does. It refuses (CM001) unless the row still holds the
-- version and from-position, so it can also run alone, outside a batch.
-- +goose StatementBegin
CREATE FUNCTION projections.advance(p_name text, p_version integer,
    p_from_commit bigint, p_from_prepare bigint,
    p_commit bigint, p_prepare bigint, p_occurred timestamptz, p_state text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE projections.checkpoints SET commit_pos = p_commit, prepare_pos = p_prepare,
        occurred_at = p_occurred, state = p_state, error = NULL, error_stream = NULL,
        error_revision = NULL, error_commit = NULL, error_prepare = NULL,
        error_event_id = NULL, updated_at = now()
    WHERE name = p_name AND version = p_version
        AND commit_pos = p_from_commit AND prepare_pos = p_from_prepare;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'checkpoint of read model % moved', p_name USING ERRCODE = 'CM001';
    END IF;
    PERFORM pg_notify('projections_checkpoint',
        format('%s %s %s %s %s', p_name, p_version, p_commit, p_prepare, p_state));
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION projections.advance;
DROP FUNCTION projections.begin_batch;
