import { index, pgTable, smallint, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.ts';

/**
 * What the RFM job computes for a customer (scores, segment, level), beside the wide `customers`
 * row so that scoring writes a narrow row and touches none of the customer's indexes or triggers.
 * `level_id` has no foreign key either: a trigger on customer_levels refuses deleting a level still
 * referenced here or changing its id. `updated_at` is set by its writers
 * (the job and the manual level edit) to the transaction's start at the latest, in milliseconds,
 * as `sync_updated_at` does for the synced tables; a customer's `updatedAt` is the later of the two rows'.
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
    updatedAt: timestamptz().notNull().defaultNow(),
  },
  // The sync keyset only: a level index (four values) cost the first scoring a third of its writes.
  (t) => [index('customer_rfm_updated_id_idx').on(t.updatedAt, t.customerId)],
);
