-- The HTTP side's own role, dwh_api (created with the others by deploy/postgres/init): it
-- reads everything the pages and the API show, queues and cancels jobs (their attempts are
-- written by the jobs' triggers) and keeps idempotency keys; it cannot load, replace, drop
-- or delete anything else. Granted here, where the tables are made, when the role exists;
-- a later migration that adds a table the HTTP side reads grants it here too.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dwh_api') THEN
        GRANT USAGE ON SCHEMA ops, dwh, dwh_history TO dwh_api;
        GRANT SELECT ON ALL TABLES IN SCHEMA ops, dwh TO dwh_api;
        GRANT SELECT ON dwh_history.versions TO dwh_api;
        GRANT SELECT ON public._sqlx_migrations TO dwh_api;
        GRANT INSERT, UPDATE ON ops.jobs, ops.job_attempts TO dwh_api;
        GRANT INSERT, UPDATE, DELETE ON ops.idempotency TO dwh_api;
        -- The day tables the loads create (their leaves carry no grant; the parent's is
        -- the one checked).
        ALTER DEFAULT PRIVILEGES IN SCHEMA dwh GRANT SELECT ON TABLES TO dwh_api;
    END IF;
END
$$;
