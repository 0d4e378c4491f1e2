-- Work queue shared by all replicas. A replica claims due rows with
--   SELECT ... WHERE state = 'pending' AND run_after <= ? ORDER BY run_after
--   LIMIT n FOR UPDATE SKIP LOCKED
-- (served by upsell_jobs_due_idx) and marks them running under a lease
-- (lease_owner, lease_until) so a crashed replica's work can be taken over.
-- +goose Up
CREATE TABLE upsell_jobs (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    kind         VARCHAR(64)     NOT NULL,
    -- Plugin that runs the job.
    module       VARCHAR(64)     NOT NULL,
    -- upsell_inbox row that caused the job, if any. No foreign key: the inbox
    -- may be pruned independently of finished jobs.
    inbox_id     BIGINT UNSIGNED NULL,
    -- Enqueueing the same (kind, dedupe_key) twice yields one job.
    dedupe_key   VARCHAR(191)    NOT NULL,
    payload      LONGTEXT        NOT NULL,
    state        VARCHAR(16)     NOT NULL DEFAULT 'pending',
    attempts     INT UNSIGNED    NOT NULL DEFAULT 0,
    max_attempts INT UNSIGNED    NOT NULL,
    run_after    DATETIME(6)     NOT NULL,
    lease_owner  VARCHAR(128)    NULL,
    lease_until  DATETIME(6)     NULL,
    last_error   TEXT            NULL,
    created_at   DATETIME(6)     NOT NULL,
    updated_at   DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY upsell_jobs_dedupe_uq (kind, dedupe_key),
    KEY upsell_jobs_due_idx (state, run_after),
    CONSTRAINT upsell_jobs_state_chk CHECK (state IN ('pending', 'running', 'done', 'dead')),
    CONSTRAINT upsell_jobs_payload_chk CHECK (JSON_VALID(payload))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_jobs;
