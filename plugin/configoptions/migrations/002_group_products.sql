-- The panel products a preset group applies to.
CREATE TABLE ext_configoptions_group_products (
    group_id   BIGINT UNSIGNED NOT NULL,
    product_id BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (group_id, product_id),
    KEY ext_configoptions_group_products_product_idx (product_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
