-- One choice of a dropdown, radio or checkbox option. raw is what
-- provisioning receives. A value that selections point at is soft-deleted
-- (deleted_at) when the admin removes it, so those selections keep their
-- label and price. One without selections is deleted.
CREATE TABLE ext_configoptions_values (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    option_id         BIGINT UNSIGNED NOT NULL,
    label             VARCHAR(255)    NOT NULL,
    raw               VARCHAR(255)    NOT NULL DEFAULT '',
    hourly_price      DECIMAL(17,4)   NULL,
    monthly_price     DECIMAL(17,2)   NULL,
    quarterly_price   DECIMAL(17,2)   NULL,
    semi_annual_price DECIMAL(17,2)   NULL,
    annual_price      DECIMAL(17,2)   NULL,
    is_default        TINYINT(1)      NOT NULL DEFAULT 0,
    active            TINYINT(1)      NOT NULL DEFAULT 1,
    sort              INT             NOT NULL DEFAULT 0,
    deleted_at        DATETIME(6)     NULL,
    PRIMARY KEY (id),
    KEY ext_configoptions_values_option_idx (option_id, sort, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
