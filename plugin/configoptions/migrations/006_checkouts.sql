-- A client's checkout of a configured order, made once per (user,
-- idempotency key). order_snapshot is the JSON of what was priced and sold,
-- kept as the order was, whatever the catalog becomes.
CREATE TABLE ext_configoptions_checkouts (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    user_id         BIGINT UNSIGNED NOT NULL,
    idempotency_key VARCHAR(128)    NOT NULL,
    state           VARCHAR(24)     NOT NULL,
    service_id      BIGINT UNSIGNED NULL,
    invoice_id      BIGINT UNSIGNED NULL,
    order_snapshot  LONGTEXT        NOT NULL,
    created_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ext_configoptions_checkouts_idem_uq (user_id, idempotency_key),
    KEY ext_configoptions_checkouts_service_idx (service_id),
    KEY ext_configoptions_checkouts_invoice_idx (invoice_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
