-- Plugin catalog: every module and adapter the host knows about.
-- +goose Up
CREATE TABLE upsell_plugins (
    name       VARCHAR(64)  NOT NULL,
    kind       VARCHAR(16)  NOT NULL,
    -- Binary path relative to the plugin directory; '' for first-party
    -- built-ins, which run inside the upsell binary.
    path       VARCHAR(255) NOT NULL DEFAULT '',
    -- Hex SHA-256 of the binary, checked before it is executed; NULL for
    -- built-ins, which have no separate binary.
    sha256     CHAR(64)     NULL,
    version    VARCHAR(64)  NOT NULL DEFAULT '',
    enabled    BOOLEAN      NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (name),
    CONSTRAINT upsell_plugins_kind_chk CHECK (kind IN ('module', 'adapter')),
    -- A binary without a checksum would be executed unverified.
    CONSTRAINT upsell_plugins_sha256_chk CHECK ((path = '' AND sha256 IS NULL) OR (path <> '' AND sha256 IS NOT NULL))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_plugins;
