-- Rate-limit counters are rewritten on every request and worth nothing after a crash (a window
-- restarts): skip the WAL. drizzle-kit cannot declare an UNLOGGED table, hence this migration.
ALTER TABLE "rate_limit_counters" SET UNLOGGED;
