CREATE TABLE ext_micro_upsell_package_prices (
    package_id    BIGINT UNSIGNED NOT NULL,
    currency      CHAR(3)         NOT NULL,
    monthly_price DECIMAL(17,2)   NOT NULL,
    PRIMARY KEY (package_id, currency)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
