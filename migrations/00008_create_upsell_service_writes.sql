-- What upsell itself last wrote to each service, whichever module wrote it:
-- the recurring price (subject 'price', recorded in the transaction that
-- sets it) and each limit applied to the server (subject = the resource,
-- the value the provisioning panel reported back). A module comparing the
-- panel with what it last set reads this to tell another module's change
-- from the panel undoing upsell's (a recomputed price, a reset server).
-- +goose Up
CREATE TABLE upsell_service_writes (
    service_id  BIGINT UNSIGNED NOT NULL,
    subject     VARCHAR(32)     NOT NULL,
    price       DECIMAL(17, 2)  NULL,
    limit_value BIGINT          NULL,
    module      VARCHAR(64)     NOT NULL,
    written_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (service_id, subject),
    CONSTRAINT upsell_service_writes_value CHECK ((subject = 'price' AND price IS NOT NULL AND limit_value IS NULL)
        OR (subject <> 'price' AND price IS NULL AND limit_value IS NOT NULL))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_service_writes;
