import { index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.ts';

/**
 * POSTs sent with an `Idempotency-Key` (issue 16): the first answer per principal and key, replayed
 * to retries until `expiresAt`. `status` is null while the first request still runs.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** `user:<id>` or `key:<hash prefix>`: whoever sent it, so two callers' keys never meet. */
    principal: text().notNull(),
    key: text().notNull(),
    /** SHA-256 of method, path and body: a retry must send the same request. */
    fingerprint: text().notNull(),
    status: integer(),
    responseBody: text(),
    contentType: text(),
    createdAt: timestamptz().notNull(),
    expiresAt: timestamptz().notNull(),
  },
  (t) => [primaryKey({ columns: [t.principal, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);

/**
 * Fixed-window request counters of the rate limits, one row per bucket (principal or client IP,
 * and the limit's name), shared by every API process. UNLOGGED (custom migration): counters lost
 * in a crash only restart a window, and unlogged writes skip the WAL on every request.
 */
export const rateLimitCounters = pgTable('rate_limit_counters', {
  bucket: text().primaryKey(),
  windowStart: timestamptz().notNull(),
  hits: integer().notNull(),
});
