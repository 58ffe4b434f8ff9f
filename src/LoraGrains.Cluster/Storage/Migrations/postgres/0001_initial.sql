-- LoraGrains cluster schema, version 1 (PostgreSQL dialect; sqlite/0001_initial.sql is the same schema).
-- Every *_at column is Unix epoch milliseconds (UTC), so both dialects compare times the same way.

CREATE TABLE tenants (
    id                text             PRIMARY KEY,
    name              text             NOT NULL,
    weight            integer          NOT NULL CHECK (weight > 0),
    max_running_jobs  integer          NOT NULL CHECK (max_running_jobs > 0),
    max_queued_jobs   integer          NOT NULL CHECK (max_queued_jobs > 0),
    -- Fair-share state (stride scheduling): virtual time at which the tenant was last served, and the
    -- virtual time its next job is due (fair_start + 1/weight).
    fair_start        double precision NOT NULL DEFAULT 0,
    fair_pass         double precision NOT NULL DEFAULT 0,
    created_at        bigint           NOT NULL
);

CREATE TABLE api_keys (
    key_id         text    PRIMARY KEY,
    tenant_id      text    NOT NULL REFERENCES tenants (id),
    secret_sha256  bytea   NOT NULL,
    created_at     bigint  NOT NULL,
    revoked_at     bigint  NULL
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE sessions (
    tenant_id   text    NOT NULL REFERENCES tenants (id),
    id          text    NOT NULL,
    settings    jsonb   NOT NULL,
    adapters    jsonb   NOT NULL,
    version     bigint  NOT NULL,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE adapters (
    tenant_id      text     NOT NULL REFERENCES tenants (id),
    content_hash   text     NOT NULL,
    name           text     NOT NULL,
    format         text     NOT NULL,
    rank           integer  NOT NULL,
    targets        jsonb    NOT NULL,
    trigger_words  jsonb    NOT NULL,
    fusion_key     bytea    NULL,
    file_path      text     NOT NULL,
    size_bytes     bigint   NOT NULL,
    created_at     bigint   NOT NULL,
    PRIMARY KEY (tenant_id, content_hash)
);

CREATE TABLE jobs (
    id                uuid     PRIMARY KEY,
    -- FIFO order within a tenant; an identity is cheaper to index than (created_at, id) and never ties.
    seq               bigint   GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id         text     NOT NULL REFERENCES tenants (id),
    session_id        text     NULL,
    request           jsonb    NOT NULL,
    adapter_hashes    jsonb    NOT NULL,
    status            text     NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts          integer  NOT NULL DEFAULT 0,
    max_attempts      integer  NOT NULL CHECK (max_attempts > 0),
    lease_owner       text     NULL,
    lease_expires_at  bigint   NULL,
    cancel_requested  boolean  NOT NULL DEFAULT false,
    checkpoint_step   integer  NULL,
    checkpoint_path   text     NULL,
    checkpoint_data   bytea    NULL,
    result_path       text     NULL,
    result_sha256     text     NULL,
    error             text     NULL,
    created_at        bigint   NOT NULL,
    started_at        bigint   NULL,
    updated_at        bigint   NOT NULL,
    finished_at       bigint   NULL
);
CREATE INDEX jobs_queued_by_tenant ON jobs (tenant_id, seq) WHERE status = 'queued';
CREATE INDEX jobs_running_by_tenant ON jobs (tenant_id) WHERE status = 'running';
CREATE INDEX jobs_running_by_lease ON jobs (lease_expires_at) WHERE status = 'running';

CREATE TABLE silos (
    id                 text    PRIMARY KEY,
    address            text    NOT NULL,
    status             text    NOT NULL CHECK (status IN ('active', 'draining', 'left')),
    started_at         bigint  NOT NULL,
    heartbeat_at       bigint  NOT NULL,
    resident_adapters  jsonb   NOT NULL
);
