-- A client's change of the options of a running service, priced once with
-- the Micro-Upsell engine and applied once. open_service equals service_id
-- while the change is open (awaiting_payment, paid, applying) and is NULL
-- once it ends, so a service has at most one open change (NULLs do not
-- collide in a unique key). selections_before/after are the JSON of what
-- the service held and will hold, with locked prices; target and the limits
-- are the JSON of the absolute target applied and what the server had
-- before and after.
CREATE TABLE ext_configoptions_changes (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    service_id        BIGINT UNSIGNED NOT NULL,
    user_id           BIGINT UNSIGNED NOT NULL,
    idempotency_key   VARCHAR(128)    NOT NULL,
    state             VARCHAR(24)     NOT NULL,
    open_service      BIGINT UNSIGNED NULL,
    currency          CHAR(3)         NOT NULL,
    cycle_delta       DECIMAL(17,2)   NOT NULL,
    recurring_delta   DECIMAL(17,2)   NOT NULL,
    due_today         DECIMAL(17,2)   NOT NULL,
    days_left         INT             NOT NULL,
    days_in_cycle     INT             NOT NULL,
    invoice_id        BIGINT UNSIGNED NULL,
    invoice_number    VARCHAR(255)    NULL,
    selections_before LONGTEXT        NOT NULL,
    selections_after  LONGTEXT        NOT NULL,
    resources_before  LONGTEXT        NOT NULL,
    resources_after   LONGTEXT        NOT NULL,
    properties        LONGTEXT        NOT NULL,
    target            LONGTEXT        NULL,
    limits_before     LONGTEXT        NULL,
    limits_after      LONGTEXT        NULL,
    price_before      DECIMAL(17,2)   NULL,
    price_after       DECIMAL(17,2)   NULL,
    credit            DECIMAL(17,2)   NULL,
    attempts          INT             NOT NULL DEFAULT 0,
    reason            TEXT            NULL,
    created_at        DATETIME(6)     NOT NULL,
    updated_at        DATETIME(6)     NOT NULL,
    applied_at        DATETIME(6)     NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ext_configoptions_changes_idem_uq (service_id, idempotency_key),
    UNIQUE KEY ext_configoptions_changes_open_uq (open_service),
    KEY ext_configoptions_changes_invoice_idx (invoice_id),
    KEY ext_configoptions_changes_state_idx (state, updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One row per service that has had a change: applying a change holds its
-- row FOR UPDATE in a transaction of its own, so replicas and repeated
-- deliveries apply a service's change one at a time, while the change's
-- own row stays writable by the steps.
CREATE TABLE ext_configoptions_service_locks (
    service_id BIGINT UNSIGNED NOT NULL,
    updated_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (service_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
