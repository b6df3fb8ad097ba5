-- Rate-limit counters are rewritten on every request and worth nothing after a crash (a window
-- restarts): skip the WAL. Room on each page keeps the per-request update a HOT update (no index
-- entry, no page split). drizzle-kit cannot declare either, hence this migration.
ALTER TABLE "rate_limit_counters" SET UNLOGGED;--> statement-breakpoint
ALTER TABLE "rate_limit_counters" SET (fillfactor = 50);
