import { sql } from 'drizzle-orm';
import { bigint, customType, index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, now, timestamptz } from './columns.ts';

/** PostgreSQL's 64-bit transaction id, read and written as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * One row per committed change that matters outside its table, written in the
 * same transaction as the change (the outbox). Timeline, audit trail, webhooks
 * and automated messages are all derived from these.
 */
export const domainEvents = pgTable(
  'domain_events',
  {
    id: id(),
    /** Dotted name, e.g. `customer.created`, `order.placed`. */
    type: text().notNull(),
    entityType: text().notNull(),
    entityId: uuid().notNull(),
    /** The customer whose timeline shows this event, if any. */
    customerId: uuid(),
    actorUserId: uuid().references(() => users.id),
    /** The job's name when no user caused it. */
    actorJob: text(),
    data: jsonb().notNull(),
    occurredAt: timestamptz().notNull().default(now),
    /**
     * The writing transaction's id and the row's place in insert order: the event feed's order.
     * Events whose transaction is below the oldest one still running (pg_snapshot_xmin) are all
     * committed or gone, so the feed never shows a later-committing event after a cursor.
     */
    txId: xid8().notNull().default(sql`pg_current_xact_id()`),
    seq: bigint({ mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
  },
  (t) => [
    index('domain_events_feed_idx').on(t.txId, t.seq),
    index('domain_events_entity_idx').on(t.entityType, t.entityId, t.occurredAt),
    index('domain_events_customer_idx').on(t.customerId, t.occurredAt),
    index('domain_events_type_idx').on(t.type, t.occurredAt),
  ],
);

/** Field-level history: who changed what from what to what. Append-only. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    eventId: uuid().references(() => domainEvents.id),
    actorUserId: uuid().references(() => users.id),
    actorJob: text(),
    entityType: text().notNull(),
    entityId: uuid().notNull(),
    action: text().notNull(),
    /** `{ field: { before, after } }`; secrets and hashes are never included. */
    changes: jsonb().notNull().default({}),
    occurredAt: timestamptz().notNull().default(now),
  },
  (t) => [
    index('audit_log_entity_idx').on(t.entityType, t.entityId, t.occurredAt),
    index('audit_log_actor_idx').on(t.actorUserId, t.occurredAt),
    index('audit_log_occurred_idx').on(t.occurredAt),
  ],
);
