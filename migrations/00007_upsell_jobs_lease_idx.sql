-- Serves the workers' second claim query, which takes over jobs whose
-- replica died mid-run:
--   SELECT ... WHERE state = 'running' AND lease_until < ? ORDER BY lease_until
--   LIMIT 1 FOR UPDATE SKIP LOCKED
-- Without it that query scans, and may lock, every done job.
-- +goose Up
CREATE INDEX upsell_jobs_lease_idx ON upsell_jobs (state, lease_until);

-- +goose Down
DROP INDEX upsell_jobs_lease_idx ON upsell_jobs;
