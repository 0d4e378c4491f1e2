-- The per-service lock table is unused since option changes take the host's
-- one lock per service (Provision.LockService): dropped.
DROP TABLE IF EXISTS ext_configoptions_service_locks;
