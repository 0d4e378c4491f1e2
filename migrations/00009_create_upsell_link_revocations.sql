-- Client links revoked per user: every link of user_id issued at or before
-- revoked_at (in whole seconds) is refused, on every replica. A later
-- revocation moves revoked_at forward, never back. Each replica keeps a
-- copy of the rows recent enough to matter (a link issued before
-- now - security.link_ttl has expired anyway), read again every few seconds.
-- +goose Up
CREATE TABLE upsell_link_revocations (
    user_id    BIGINT UNSIGNED NOT NULL,
    revoked_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (user_id),
    KEY upsell_link_revocations_revoked_idx (revoked_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_link_revocations;
