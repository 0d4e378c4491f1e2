-- Revives paid-invoice jobs that an earlier upsell parked as dead only
-- because the panel did not call the invoice paid yet: a webhook had come
-- before the payment, the module refused the unpaid invoice until the
-- attempts ran out, and once the client paid neither the poller (the invoice
-- had an inbox row) nor a new webhook (not new) delivered it again.
--
-- Upsell now records an invoice only once the panel calls it paid, and
-- forgets a job whose invoice is not paid instead of retrying it. A revived
-- job runs once more with a fresh budget: if the invoice is paid by now it is
-- applied, and if not, the worker forgets the job and its inbox row, so the
-- poller and the next webhook find the invoice once it is paid.
--
-- The rows are told apart by the error Micro-Upsell gave for an unpaid
-- invoice ("invoice <number> is <status> with <paid> of <total> paid"), the
-- only module that failed on one; Configurable Options answered such an event
-- as not handled instead. The data change cannot be undone: Down does
-- nothing.
-- +goose Up
UPDATE upsell_jobs
SET state = 'pending', attempts = 0, run_after = UTC_TIMESTAMP(6), lease_owner = NULL, lease_until = NULL,
    last_error = CONCAT('revived by migration 00010, the invoice was not paid: ', last_error), updated_at = UTC_TIMESTAMP(6)
WHERE kind = 'event' AND state = 'dead'
  AND payload LIKE '%"kind":"invoice.paid"%'
  AND last_error LIKE '%invoice % is % with % of % paid%';

-- +goose Down
SELECT 1;
