-- Append-only audit log: the application only ever INSERTs here. Money
-- appears in this schema only inside data, as decimal strings.
-- +goose Up
CREATE TABLE upsell_audit (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    -- Plugin that acted, or 'host'.
    plugin     VARCHAR(64)     NOT NULL,
    action     VARCHAR(64)     NOT NULL,
    service_id BIGINT UNSIGNED NULL,
    user_id    BIGINT UNSIGNED NULL,
    -- What the entry is about when that is not a service, e.g. 'invoice:42'.
    subject    VARCHAR(191)    NOT NULL DEFAULT '',
    message    TEXT            NOT NULL,
    data       LONGTEXT        NULL,
    created_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    -- A service's history, newest first, paged by id.
    KEY upsell_audit_service_idx (service_id, id),
    KEY upsell_audit_subject_idx (subject),
    CONSTRAINT upsell_audit_data_chk CHECK (data IS NULL OR JSON_VALID(data))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_audit;
