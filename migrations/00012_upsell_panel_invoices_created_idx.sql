-- Serves the console's overview, which reads the invoices upsell created in
-- a date range (orders per day, the ids whose revenue it sums):
--   SELECT invoice_id, module, created_at FROM upsell_panel_invoices
--   WHERE panel = ? AND created_at >= ?
-- The index covers the query, so its cost is the rows in the range, not the
-- table's history.
-- +goose Up
CREATE INDEX upsell_panel_invoices_created_idx ON upsell_panel_invoices (panel, created_at, module, invoice_id);

-- +goose Down
DROP INDEX upsell_panel_invoices_created_idx ON upsell_panel_invoices;
