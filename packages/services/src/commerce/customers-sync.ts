import type { SyncPage } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, asc, count, eq, gt, or, type SQL, sql } from 'drizzle-orm';
import type { PgSelect } from 'drizzle-orm/pg-core';
import { cursorPage, cursorWindow, type SyncDeps, type SyncInput } from '../lib/page.ts';

const { customers, customerRfm } = schema;

/**
 * A customer's sync time: the later of its row's `updated_at` and its RFM row's (the RFM job
 * writes only customer_rfm, yet a rescored customer must reach every syncing client).
 */
export const customerUpdatedAt = sql`greatest(${customers.updatedAt}, ${customerRfm.updatedAt})`;

/**
 * What the RFM job and the manual level edit write as customer_rfm.updated_at: what the
 * `sync_updated_at` trigger gives the synced tables (never before the transaction's start, in
 * milliseconds), written directly so the job's rows pay no trigger.
 */
export const rfmUpdatedAt = (now: Date) =>
  sql`date_trunc('milliseconds', greatest(${now.toISOString()}::timestamptz, now()))`;

/** Code-point order: ISO times and lower-case uuids sort as PostgreSQL sorts the values. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Cursor mode of the customer list, as `syncPageOf` answers it, over the customer's sync time
 * (`customerUpdatedAt`). That is a greatest of two indexed columns, so the keyset is read as two
 * streams, each through its own `(updated_at, id)` index: the customers whose own row is the later
 * (or who have no RFM row), and those whose RFM row is. Each customer is in exactly one stream, at
 * its sync time, so the first `limit` of each, merged, hold the first `limit` overall.
 * `rows` is the list's SELECT (joining customer_rfm), `where` its filters.
 */
export async function syncCustomersPage<Q extends PgSelect, Item extends { id: string; updatedAt: string }>(
  deps: SyncDeps,
  input: SyncInput,
  rows: () => Q,
  where: SQL | undefined,
  toItems: (rows: Q['_']['result']) => Item[],
): Promise<SyncPage<Item>> {
  const { limit, window, cursors } = await cursorWindow(deps, 'customers', input);
  const ownRowLater = or(
    sql`${customerRfm.updatedAt} is null`,
    sql`${customers.updatedAt} >= ${customerRfm.updatedAt}`,
  );
  const [own, rfm, totals] = await Promise.all([
    rows()
      .where(and(where, ownRowLater, window(customers.updatedAt, customers.id)))
      .orderBy(asc(customers.updatedAt), asc(customers.id))
      .limit(limit),
    rows()
      .where(
        and(
          where,
          gt(customerRfm.updatedAt, customers.updatedAt),
          window(customerRfm.updatedAt, customerRfm.customerId),
        ),
      )
      .orderBy(asc(customerRfm.updatedAt), asc(customerRfm.customerId))
      .limit(limit),
    deps.db
      .select({ total: count() })
      .from(customers)
      .leftJoin(customerRfm, eq(customerRfm.customerId, customers.id))
      .where(and(where, window(customerUpdatedAt, customers.id))),
  ]);
  const items = [...toItems(own), ...toItems(rfm)]
    .sort((a, b) => compare(a.updatedAt, b.updatedAt) || compare(a.id, b.id))
    .slice(0, limit);
  return cursorPage(cursors, items, totals[0]?.total ?? 0, limit, input.cursor);
}
