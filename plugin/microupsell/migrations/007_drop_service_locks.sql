-- The per-service lock table is unused since purchases and applies take the
-- host's one lock per service (Provision.LockService): dropped.
DROP TABLE IF EXISTS ext_micro_upsell_service_locks;
