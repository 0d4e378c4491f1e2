-- Invoices upsell created on the panel and the module that owns each, written
-- with the invoice: paid-invoice events go back to that module, and the poller
-- watches only these invoices. idempotency_key is "<panel>:<invoice id>";
-- modules make their own creates idempotent (Micro-Upsell's order key).
-- +goose Up
CREATE TABLE upsell_panel_invoices (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    panel           VARCHAR(32)     NOT NULL,
    invoice_id      BIGINT UNSIGNED NOT NULL,
    -- Module that asked for the invoice; paid-invoice events go back to it.
    module          VARCHAR(64)     NOT NULL,
    idempotency_key VARCHAR(191)    NOT NULL,
    created_at      DATETIME(6)     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY upsell_panel_invoices_key_uq (idempotency_key),
    -- Looks up the owning module when the panel reports the invoice paid.
    UNIQUE KEY upsell_panel_invoices_invoice_uq (panel, invoice_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE IF EXISTS upsell_panel_invoices;
