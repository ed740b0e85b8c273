-- The write API (src/api/write.rs): its tokens, its audit log and the
-- answers kept for retried requests with an Idempotency-Key.
-- A token is stored only as the SHA-256 of its secret (hex); `bodies` lists
-- the Body pks it may write, comma-separated, empty for every Body.
CREATE TABLE api_token (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    bodies TEXT NOT NULL,
    read_only BOOLEAN NOT NULL,
    created BIGINT NOT NULL,
    revoked BIGINT
);
-- One row per object a write touched on purpose (not the parents re-stamped
-- with it), in the change (revision) that wrote it.
CREATE TABLE write_audit (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    token TEXT NOT NULL,
    revision BIGINT NOT NULL,
    operation TEXT NOT NULL,
    object_pk BIGINT NOT NULL,
    kind SMALLINT NOT NULL
);
CREATE INDEX write_audit_at ON write_audit (at, id);
CREATE TABLE idempotency_key (
    token_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status SMALLINT NOT NULL,
    location TEXT NOT NULL,
    answer TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);
