-- A group is a set of options sold together: a preset group adds options to
-- the panel products linked in ext_configoptions_group_products, a
-- build_your_own group is the configurator of one service type. Groups are
-- soft-deleted (deleted_at) so the selections and checkouts that name them
-- stay readable.
CREATE TABLE ext_configoptions_groups (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name         VARCHAR(255)    NOT NULL,
    description  TEXT            NOT NULL,
    mode         VARCHAR(16)     NOT NULL,
    service_type VARCHAR(32)     NULL,
    active       TINYINT(1)      NOT NULL DEFAULT 1,
    sort         INT             NOT NULL DEFAULT 0,
    deleted_at   DATETIME(6)     NULL,
    created_at   DATETIME(6)     NOT NULL,
    updated_at   DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    KEY ext_configoptions_groups_list_idx (deleted_at, mode, sort, id),
    KEY ext_configoptions_groups_name_idx (name, mode)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
