import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, smallint, text, uuid } from 'drizzle-orm/pg-core';
import { money, now, timestamptz } from './columns.ts';

/**
 * What the RFM job computes for a customer (scores, segment, level), beside the wide `customers`
 * row so that scoring writes a narrow row and touches none of the customer's indexes or triggers.
 * `level_id` has no foreign key either: a trigger on customer_levels refuses deleting a level still
 * referenced here or changing its id. `updated_at` is set by its writers
 * (the job and the manual level edit) to the transaction's start at the latest, in milliseconds,
 * as `sync_updated_at` does for the synced tables; a customer's `updatedAt` is the later of the two rows'.
 *
 * The measures the scores come from (last order, orders and total in the window) are kept too, as
 * of `rfm_state.measured_at`: a daily run re-measures only the customers `rfm_pending` names and
 * those whose orders entered or left the window since, then scores everyone from these columns.
 */
export const customerRfm = pgTable(
  'customer_rfm',
  {
    /** No foreign key (a check per written row): a trigger on customers deletes the row with its customer. */
    customerId: uuid().primaryKey(),
    recency: smallint(),
    frequency: smallint(),
    monetary: smallint(),
    score: smallint(),
    segment: text(),
    levelId: uuid(),
    scoredAt: timestamptz(),
    updatedAt: timestamptz().notNull().default(now),
    /** Time of the last non-cancelled order (null: none). */
    lastOrderAt: timestamptz(),
    /** Non-cancelled orders in the window, and their total in minor units. */
    windowOrders: integer(),
    windowTotal: money(),
  },
  // The sync keyset only: a level index (four values) cost the first scoring a third of its writes.
  (t) => [index('customer_rfm_updated_id_idx').on(t.updatedAt, t.customerId)],
);

/**
 * Customers whose stored measures may be stale: appended by statement triggers on `orders` (any
 * insert, delete or change of customer, status, total or time) and on `customers` (deleted or
 * restored), emptied by each RFM run. No key: appending never waits on a run taking rows out.
 */
export const rfmPending = pgTable('rfm_pending', {
  customerId: uuid().notNull(),
});

/** One row: when and with which window the measures in customer_rfm were taken (none: the next run measures all). */
export const rfmState = pgTable(
  'rfm_state',
  {
    id: boolean().primaryKey().default(true),
    measuredAt: timestamptz().notNull(),
    windowDays: integer().notNull(),
  },
  (t) => [check('rfm_state_one_row', sql`${t.id}`)],
);
