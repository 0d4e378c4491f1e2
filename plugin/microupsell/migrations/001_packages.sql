CREATE TABLE ext_micro_upsell_packages (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name            VARCHAR(191)    NOT NULL,
    resource        VARCHAR(32)     NOT NULL,
    amount          BIGINT          NOT NULL,
    active          TINYINT(1)      NOT NULL DEFAULT 1,
    product_id      BIGINT UNSIGNED NULL,
    max_per_service INT UNSIGNED    NULL,
    sort            INT             NOT NULL DEFAULT 0,
    created_at      DATETIME(6)     NOT NULL,
    updated_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    KEY ext_micro_upsell_packages_active_idx (active, sort, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
