-- What a service holds of an option: a value (dropdown, radio, checkbox), a
-- quantity (quantity, slider) or a text, with the price it was sold at on
-- its cycle (locked_price for the cycle, locked_hourly per hour), so a later
-- price change in the catalog never reprices a live service. custom_build
-- marks the selections of a Build-Your-Own service.
CREATE TABLE ext_configoptions_selections (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    service_id    BIGINT UNSIGNED NOT NULL,
    option_id     BIGINT UNSIGNED NOT NULL,
    value_id      BIGINT UNSIGNED NULL,
    quantity      BIGINT          NULL,
    text          TEXT            NULL,
    locked_price  DECIMAL(17,2)   NOT NULL DEFAULT 0,
    locked_hourly DECIMAL(17,4)   NOT NULL DEFAULT 0,
    cycle_type    VARCHAR(16)     NOT NULL,
    cycle_period  INT             NOT NULL,
    cycle_unit    VARCHAR(8)      NOT NULL,
    custom_build  TINYINT(1)      NOT NULL DEFAULT 0,
    created_at    DATETIME(6)     NOT NULL,
    updated_at    DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ext_configoptions_selections_service_option_uq (service_id, option_id),
    KEY ext_configoptions_selections_option_idx (option_id, value_id),
    KEY ext_configoptions_selections_value_idx (value_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
