import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, timestamps, timestamptz } from './columns.ts';
import { importStatus, webhookDeliveryStatus } from './enums.ts';
import { domainEvents } from './events.ts';

/** Outbound webhook subscriptions: domain events are POSTed, signed, to `url`. */
export const webhooks = pgTable(
  'webhooks',
  {
    id: id(),
    url: text().notNull(),
    /** Event types (`order.placed` …) or `*` for all. */
    events: text().array().notNull(),
    description: text(),
    isActive: boolean().notNull().default(true),
    /** HMAC-SHA256 signing key; shown once at creation and rotation, never listed. */
    secret: text().notNull(),
    secretRotatedAt: timestamptz(),
    /** When deliveries started failing without a success since; a day of it disables the subscription. */
    failingSince: timestamptz(),
    disabledAt: timestamptz(),
    disabledReason: text(),
    createdById: uuid().references(() => users.id),
    ...timestamps,
  },
  (t) => [index('webhooks_active_idx').on(t.isActive)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    webhookId: uuid()
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The event delivered; null for pings. */
    eventId: uuid().references(() => domainEvents.id),
    eventType: text().notNull(),
    /** The exact body sent: `{ id, type, occurredAt, data }`. */
    payload: jsonb().notNull(),
    status: webhookDeliveryStatus().notNull().default('PENDING'),
    attempts: integer().notNull().default(0),
    responseStatus: integer(),
    /** The start of the receiver's answer, kept small. */
    responseBody: text(),
    durationMs: integer(),
    lastError: text(),
    nextAttemptAt: timestamptz(),
    deliveredAt: timestamptz(),
    ...timestamps,
  },
  (t) => [
    unique('webhook_deliveries_once_per_event').on(t.webhookId, t.eventId),
    index('webhook_deliveries_webhook_created_idx').on(t.webhookId, t.createdAt),
    index('webhook_deliveries_status_idx').on(t.status, t.nextAttemptAt),
  ],
);

/** A CSV import: its options, progress counters and the uploaded file until it is processed. */
export const imports = pgTable(
  'imports',
  {
    id: id(),
    kind: text().notNull().default('customers'),
    status: importStatus().notNull().default('QUEUED'),
    dryRun: boolean().notNull().default(false),
    filename: text(),
    /** The uploaded CSV; cleared once processed. */
    content: text(),
    rowsTotal: integer(),
    rowsRead: integer().notNull().default(0),
    created: integer().notNull().default(0),
    updated: integer().notNull().default(0),
    failed: integer().notNull().default(0),
    error: text(),
    createdById: uuid()
      .notNull()
      .references(() => users.id),
    startedAt: timestamptz(),
    completedAt: timestamptz(),
    ...timestamps,
  },
  (t) => [
    index('imports_created_by_idx').on(t.createdById, t.createdAt),
    check(
      'imports_counts_nonnegative',
      sql`${t.rowsRead} >= 0 and ${t.created} >= 0 and ${t.updated} >= 0 and ${t.failed} >= 0`,
    ),
  ],
);

export const importErrors = pgTable(
  'import_errors',
  {
    id: id(),
    importId: uuid()
      .notNull()
      .references(() => imports.id, { onDelete: 'cascade' }),
    /** 1-based data row number (the header is row 0). */
    rowNumber: integer().notNull(),
    field: text(),
    message: text().notNull(),
  },
  (t) => [index('import_errors_import_row_idx').on(t.importId, t.rowNumber)],
);
