-- Fills ar_view_sessions with :n synthetic sessions over the last 365 days, fast: the
-- secondary indexes are dropped, the rows inserted in one statement, the indexes rebuilt
-- (a sorted build instead of row-by-row maintenance of six b-trees). For measuring
-- migrations and table sizes at scale, not analytics: the rollups are NOT filled.
--   psql -v n=10000000 -d DB -f bench/bulk_sessions.sql   (after `db upgrade` and
--   `arv-analytics demo --sessions 0`, which creates the catalog)
\timing on
BEGIN;
DROP INDEX ix_ar_view_sessions_ar_content_id_created_at, ix_ar_view_sessions_company_id_created_at,
  ix_ar_view_sessions_created_at, ix_ar_view_sessions_project_id_created_at,
  ix_ar_view_sessions_updated_at;
ALTER TABLE ar_view_sessions DROP CONSTRAINT uq_ar_view_sessions_session_id;
WITH content AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(project_id ORDER BY id) AS pids,
                        array_agg(company_id ORDER BY id) AS cids FROM ar_content),
rows AS (
  SELECT g, 1 + (hashint4(g) & 2147483647) % cardinality(c.ids) AS k,
         now() - make_interval(secs => (hashint4(g + 7) & 2147483647) % (365 * 86400)) AS at,
         c.ids, c.pids, c.cids
  FROM generate_series(1, :n) AS g, content c
)
INSERT INTO ar_view_sessions (ar_content_id, project_id, company_id, session_id, user_agent,
  device_type, browser, os, ip_address, country, duration_seconds, tracking_quality,
  video_played, created_at, updated_at, tracked_seconds, is_bot, visitor_hash)
SELECT ids[k], pids[k], cids[k], gen_random_uuid(),
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  (ARRAY['mobile', 'tablet', 'desktop'])[1 + g % 3], 'Mobile Safari', 'iOS',
  md5(g::text), (ARRAY['DE', 'GB', 'US', 'FR', 'RU'])[1 + g % 5], g % 300,
  (ARRAY['none', 'poor', 'fair', 'good'])[1 + g % 4], g % 2 = 0, at, at + interval '1 minute',
  g % 200, false, hashint8(g)
FROM rows
ORDER BY at;  -- the order the write path inserts them in: one day's rows lie together
ALTER TABLE ar_view_sessions ADD CONSTRAINT uq_ar_view_sessions_session_id UNIQUE (session_id);
CREATE INDEX ix_ar_view_sessions_ar_content_id_created_at ON ar_view_sessions (ar_content_id, created_at);
CREATE INDEX ix_ar_view_sessions_company_id_created_at ON ar_view_sessions (company_id, created_at);
CREATE INDEX ix_ar_view_sessions_created_at ON ar_view_sessions (created_at);
CREATE INDEX ix_ar_view_sessions_project_id_created_at ON ar_view_sessions (project_id, created_at);
CREATE INDEX ix_ar_view_sessions_updated_at ON ar_view_sessions (updated_at);
COMMIT;
VACUUM ANALYZE ar_view_sessions;
SELECT count(*) AS sessions, pg_size_pretty(pg_relation_size('ar_view_sessions')) AS heap,
       pg_size_pretty(pg_indexes_size('ar_view_sessions')) AS indexes,
       pg_size_pretty(pg_total_relation_size('ar_view_sessions')) AS total
FROM ar_view_sessions;
