-- One row per panel service, used as a per-service mutex across replicas:
-- INSERT IGNORE the row, then SELECT ... FOR UPDATE it inside the transaction
-- that changes the service. Row locks, unlike GET_LOCK, end with the
-- transaction, so a lock cannot outlive the work it protects.
-- +goose Up
CREATE TABLE upsell_service_locks (
    service_id BIGINT UNSIGNED NOT NULL,
    updated_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (service_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_service_locks;
