-- One choice a client makes. The *_unit_price columns price one unit of a
-- quantity or slider option, and NULL means "not offered on that cycle". Hourly
-- prices keep four decimals (0.0015 per hour), the others two, as the panel
-- stores amounts. An option is never soft-deleted: one that has selections
-- cannot be removed at all, only deactivated.
CREATE TABLE ext_configoptions_options (
    id                     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    group_id               BIGINT UNSIGNED NOT NULL,
    name                   VARCHAR(255)    NOT NULL,
    description            TEXT            NOT NULL,
    type                   VARCHAR(16)     NOT NULL,
    provisioning_key       VARCHAR(64)     NOT NULL DEFAULT '',
    required               TINYINT(1)      NOT NULL DEFAULT 0,
    active                 TINYINT(1)      NOT NULL DEFAULT 1,
    min_qty                BIGINT          NOT NULL DEFAULT 0,
    max_qty                BIGINT          NOT NULL DEFAULT 0,
    step                   BIGINT          NOT NULL DEFAULT 0,
    unit                   VARCHAR(32)     NOT NULL DEFAULT '',
    hourly_unit_price      DECIMAL(17,4)   NULL,
    monthly_unit_price     DECIMAL(17,2)   NULL,
    quarterly_unit_price   DECIMAL(17,2)   NULL,
    semi_annual_unit_price DECIMAL(17,2)   NULL,
    annual_unit_price      DECIMAL(17,2)   NULL,
    sort                   INT             NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    KEY ext_configoptions_options_group_idx (group_id, sort, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
