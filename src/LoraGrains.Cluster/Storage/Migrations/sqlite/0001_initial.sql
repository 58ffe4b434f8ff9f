-- LoraGrains cluster schema, version 1 (SQLite dialect; postgres/0001_initial.sql is the same schema).
-- STRICT tables make SQLite enforce column types as PostgreSQL does. Every *_at column is Unix epoch
-- milliseconds (UTC); JSON columns are TEXT; uuid columns are TEXT (how Microsoft.Data.Sqlite binds a Guid).

CREATE TABLE tenants (
    id                TEXT     NOT NULL PRIMARY KEY,
    name              TEXT     NOT NULL,
    weight            INTEGER  NOT NULL CHECK (weight > 0),
    max_running_jobs  INTEGER  NOT NULL CHECK (max_running_jobs > 0),
    max_queued_jobs   INTEGER  NOT NULL CHECK (max_queued_jobs > 0),
    fair_start        REAL     NOT NULL DEFAULT 0,
    fair_pass         REAL     NOT NULL DEFAULT 0,
    created_at        INTEGER  NOT NULL
) STRICT;

CREATE TABLE api_keys (
    key_id         TEXT     NOT NULL PRIMARY KEY,
    tenant_id      TEXT     NOT NULL REFERENCES tenants (id),
    secret_sha256  BLOB     NOT NULL,
    created_at     INTEGER  NOT NULL,
    revoked_at     INTEGER  NULL
) STRICT;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE sessions (
    tenant_id   TEXT     NOT NULL REFERENCES tenants (id),
    id          TEXT     NOT NULL,
    settings    TEXT     NOT NULL,
    adapters    TEXT     NOT NULL,
    version     INTEGER  NOT NULL,
    created_at  INTEGER  NOT NULL,
    updated_at  INTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE adapters (
    tenant_id      TEXT     NOT NULL REFERENCES tenants (id),
    content_hash   TEXT     NOT NULL,
    name           TEXT     NOT NULL,
    format         TEXT     NOT NULL,
    rank           INTEGER  NOT NULL,
    targets        TEXT     NOT NULL,
    trigger_words  TEXT     NOT NULL,
    fusion_key     BLOB     NULL,
    file_path      TEXT     NOT NULL,
    size_bytes     INTEGER  NOT NULL,
    created_at     INTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, content_hash)
) STRICT;

CREATE TABLE jobs (
    seq               INTEGER  PRIMARY KEY,
    id                TEXT     NOT NULL UNIQUE,
    tenant_id         TEXT     NOT NULL REFERENCES tenants (id),
    session_id        TEXT     NULL,
    request           TEXT     NOT NULL,
    adapter_hashes    TEXT     NOT NULL,
    status            TEXT     NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts          INTEGER  NOT NULL DEFAULT 0,
    max_attempts      INTEGER  NOT NULL CHECK (max_attempts > 0),
    lease_owner       TEXT     NULL,
    lease_expires_at  INTEGER  NULL,
    cancel_requested  INTEGER  NOT NULL DEFAULT 0,
    checkpoint_step   INTEGER  NULL,
    checkpoint_path   TEXT     NULL,
    checkpoint_data   BLOB     NULL,
    result_path       TEXT     NULL,
    result_sha256     TEXT     NULL,
    error             TEXT     NULL,
    created_at        INTEGER  NOT NULL,
    started_at        INTEGER  NULL,
    updated_at        INTEGER  NOT NULL,
    finished_at       INTEGER  NULL
) STRICT;
CREATE INDEX jobs_queued_by_tenant ON jobs (tenant_id, seq) WHERE status = 'queued';
CREATE INDEX jobs_running_by_tenant ON jobs (tenant_id) WHERE status = 'running';
CREATE INDEX jobs_running_by_lease ON jobs (lease_expires_at) WHERE status = 'running';

CREATE TABLE silos (
    id                 TEXT     NOT NULL PRIMARY KEY,
    address            TEXT     NOT NULL,
    status             TEXT     NOT NULL CHECK (status IN ('active', 'draining', 'left')),
    started_at         INTEGER  NOT NULL,
    heartbeat_at       INTEGER  NOT NULL,
    resident_adapters  TEXT     NOT NULL
) STRICT;
