-- The provider's console: who did it, and sessions ended by signing out.
-- Every audit entry written during an admin's request carries the admin
-- ("admin:7" for the panel's admin 7, "admin:token" for the admin token);
-- NULL for clients, jobs and the host's own entries.
-- An admin session signed out is refused on every replica until it would
-- have expired anyway (its row is pruned after).
-- +goose Up
ALTER TABLE upsell_audit ADD COLUMN actor VARCHAR(64) NULL AFTER plugin;
CREATE TABLE upsell_admin_signouts (
    session_hash BINARY(32)  NOT NULL,
    expires_at   DATETIME(6) NOT NULL,
    PRIMARY KEY (session_hash),
    KEY upsell_admin_signouts_expires_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_admin_signouts;
ALTER TABLE upsell_audit DROP COLUMN actor;
