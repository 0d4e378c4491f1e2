CREATE TABLE ext_micro_upsell_service_locks (
    service_id BIGINT UNSIGNED NOT NULL,
    updated_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (service_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
