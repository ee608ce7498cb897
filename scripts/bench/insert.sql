-- PostgreSQL's own ceiling: the same row our consent write path inserts, one autocommit INSERT per transaction.
\set n random(1, 1000000)
INSERT INTO consent_events (id, subject_id, purpose_id, decision, notice_version, method, source_ip, user_agent, recorded_at)
VALUES (gen_random_uuid(), 'bench-' || :n, 'marketing', 'granted', 1, 'api', '127.0.0.1', 'pgbench', now());
