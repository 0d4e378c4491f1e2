CREATE TABLE ext_micro_upsell_services (
    service_id      BIGINT UNSIGNED NOT NULL,
    expected_price  DECIMAL(17,2)   NOT NULL,
    expected_limits LONGTEXT        NOT NULL,
    updated_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (service_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
