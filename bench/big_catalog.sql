-- A studio-sized catalog for the analytics benchmarks: :companies companies × :projects
-- projects × :contents contents (default use: 200 × 5 × 10 = 10,000 contents), then fill
-- sessions with bulk_sessions.sql, which spreads them evenly over every content.
--   psql -v companies=200 -v projects=5 -v contents=10 -d DB -f bench/big_catalog.sql
--   (after `arv-analytics db upgrade` on an empty database)
\timing on
BEGIN;
INSERT INTO companies (name, slug, is_active, created_at, updated_at)
SELECT 'Client ' || c, 'client-' || c, true, now(), now() FROM generate_series(1, :companies) c;
INSERT INTO projects (company_id, name, slug, is_active, created_at, updated_at)
SELECT co.id, 'Campaign ' || p, 'campaign-' || p, true, now(), now()
FROM companies co, generate_series(1, :projects) p;
INSERT INTO ar_content (unique_id, project_id, company_id, title, is_active, created_at,
                        updated_at)
SELECT gen_random_uuid(), pr.id, pr.company_id, 'Poster ' || pr.id || '-' || k, true, now(), now()
FROM projects pr, generate_series(1, :contents) k;
COMMIT;
SELECT (SELECT count(*) FROM companies) AS companies, (SELECT count(*) FROM projects) AS projects,
       (SELECT count(*) FROM ar_content) AS contents;
