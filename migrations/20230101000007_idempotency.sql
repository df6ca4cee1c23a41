-- Idempotency-Key on POST /jobs: the first request's answer, replayed to retries with the
-- same key for 24 hours. A row without a response is a request in progress (or one whose
-- process died: such a row is given up after a minute).
CREATE TABLE ops.idempotency (
    key              TEXT        PRIMARY KEY,
    -- The request the key was first used for (its parameters, normalised).
    request          TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    response_status  SMALLINT,
    response_location TEXT,
    response_body    BYTEA
);
CREATE INDEX idempotency_by_age ON ops.idempotency (created_at);
