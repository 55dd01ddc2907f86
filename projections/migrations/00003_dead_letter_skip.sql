-- An operator's request to skip a dead-lettered event (Manager.RequestSkip)
-- and what became of it. A request waits on an unresolved dead letter until
-- the live projector next fails at the event; the projector then moves its
-- checkpoint past the event and stamps skipped_at together with the Version
-- of the model that skipped it, so that rebuilds of that Version pass over
-- the event as well. A dead letter that fails again after it was resolved
-- (a new Version meets the event) starts without a request.

-- +goose Up
ALTER TABLE projections.dead_letters
    ADD COLUMN skip_requested_at timestamptz,
    ADD COLUMN skip_requested_by text,
    ADD COLUMN skipped_at        timestamptz,
    ADD COLUMN skipped_version   integer;

-- +goose Down
ALTER TABLE projections.dead_letters
    DROP COLUMN skipped_version,
    DROP COLUMN skipped_at,
    DROP COLUMN skip_requested_by,
    DROP COLUMN skip_requested_at;
