-- The projection framework's own tables. The schema "projections" itself is
-- created before goose runs, because goose keeps its version table in it.

-- +goose Up

-- One row per read model: the position its tables reflect, the Version of
-- the code that built them, and what the active projector last reported.
-- Positions are stored as bigint: PostgreSQL positions are transaction ids
-- and sequence numbers, EventStoreDB positions are byte offsets, all far
-- below 2^63.
CREATE TABLE projections.checkpoints (
    name           text PRIMARY KEY,
    version        integer NOT NULL,
    commit_pos     bigint NOT NULL DEFAULT 0,
    prepare_pos    bigint NOT NULL DEFAULT 0,
    -- occurred_at of the event at the checkpoint, for the lag in seconds.
    occurred_at    timestamptz,
    state          text NOT NULL DEFAULT 'catching_up'
                   CHECK (state IN ('catching_up', 'live', 'failing')),
    error          text,
    error_stream   text,
    error_revision bigint,
    error_commit   bigint,
    error_prepare  bigint,
    error_event_id uuid,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Events a read model could not decode or apply. The model stops at such an
-- event; the row records every attempt and when (if ever) it went through.
CREATE TABLE projections.dead_letters (
    name            text NOT NULL,
    event_id        uuid NOT NULL,
    stream          text NOT NULL,
    revision        bigint NOT NULL,
    commit_pos      bigint NOT NULL,
    prepare_pos     bigint NOT NULL,
    event_type      text NOT NULL,
    error           text NOT NULL,
    attempts        integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    PRIMARY KEY (name, event_id)
);

-- Progress of running rebuilds, for status from any process. A row whose
-- rebuild lock is not held is left over from a crashed rebuild.
CREATE TABLE projections.rebuilds (
    name        text PRIMARY KEY,
    version     integer NOT NULL,
    events      bigint NOT NULL DEFAULT 0,
    commit_pos  bigint NOT NULL DEFAULT 0,
    prepare_pos bigint NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE projections.rebuilds;
DROP TABLE projections.dead_letters;
DROP TABLE projections.checkpoints;
