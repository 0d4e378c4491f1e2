-- Durable intake of panel events. Webhooks and the poller may both report the
-- same event, possibly many times; the unique key folds them into one row
-- (INSERT ... ON DUPLICATE KEY UPDATE last_seen_at, seen_count).
-- +goose Up
CREATE TABLE upsell_inbox (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    panel         VARCHAR(32)     NOT NULL,
    invoice_id    BIGINT UNSIGNED NOT NULL,
    -- Event kind, e.g. 'invoice.paid'.
    kind          VARCHAR(64)     NOT NULL,
    -- Which intake saw the event first.
    source        VARCHAR(16)     NOT NULL,
    first_seen_at DATETIME(6)     NOT NULL,
    last_seen_at  DATETIME(6)     NOT NULL,
    seen_count    INT UNSIGNED    NOT NULL DEFAULT 1,
    PRIMARY KEY (id),
    UNIQUE KEY upsell_inbox_event_uq (panel, invoice_id, kind),
    CONSTRAINT upsell_inbox_source_chk CHECK (source IN ('webhook', 'poller'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_inbox;
