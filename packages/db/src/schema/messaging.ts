import type { CampaignAudience } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, now, timestamps, timestamptz } from './columns.ts';
import { customers } from './customers.ts';
import { campaignStatus, messageDirection, messageStatus, messageType } from './enums.ts';
import { promotions } from './promotions.ts';

export const campaigns = pgTable(
  'campaigns',
  {
    id: id(),
    name: text().notNull(),
    /** Template text with {{variables}}. */
    message: text().notNull(),
    /** Audience filter as sent by the client (statuses, levelIds, segments, …). */
    audience: jsonb().$type<CampaignAudience>().notNull().default({}),
    promotionId: uuid().references(() => promotions.id),
    status: campaignStatus().notNull().default('DRAFT'),
    scheduledAt: timestamptz(),
    startedAt: timestamptz(),
    completedAt: timestamptz(),
    cancelledAt: timestamptz(),
    audienceCount: integer(),
    createdById: uuid().references(() => users.id),
    ...timestamps,
  },
  (t) => [index('campaigns_status_scheduled_idx').on(t.status, t.scheduledAt)],
);

export const messageQueue = pgTable(
  'message_queue',
  {
    id: id(),
    customerId: uuid().references(() => customers.id),
    phone: text().notNull(),
    body: text().notNull(),
    direction: messageDirection().notNull().default('OUTBOUND'),
    type: messageType().notNull(),
    campaignId: uuid().references(() => campaigns.id),
    status: messageStatus().notNull().default('QUEUED'),
    attempts: integer().notNull().default(0),
    lastError: text(),
    provider: text(),
    providerMessageId: text(),
    scheduledFor: timestamptz().notNull().default(now),
    sentAt: timestamptz(),
    /** When the carrier's receipt said DELIVERED or UNDELIVERED; a late, older receipt never overwrites it. */
    deliveryReportedAt: timestamptz(),
    /** The carrier's error code (Twilio's `ErrorCode`), from a failed send or an undelivered receipt. */
    carrierErrorCode: text(),
    /** Unique per logical message (e.g. `birthday:<customer>:<year>`); also sent to the carrier. */
    idempotencyKey: text().notNull().unique(),
    /** The worker process holding the claim while SENDING (null: claimed outside a worker, lease applies). */
    workerId: uuid(),
    /**
     * When this claim's carrier call was cleared to start (the fence re-checked claim, campaign and
     * consent); null while SENDING means claimed but not called, which STOP and cancel still stop.
     */
    callStartedAt: timestamptz(),
    ...timestamps,
  },
  (t) => [
    index('message_queue_updated_id_idx').on(t.updatedAt, t.id),
    index('message_queue_customer_idx').on(t.customerId, t.createdAt),
    index('message_queue_campaign_status_idx').on(t.campaignId, t.status),
    index('message_queue_status_scheduled_idx').on(t.status, t.scheduledFor),
    index('message_queue_type_idx').on(t.type),
    index('message_queue_provider_message_idx').on(t.provider, t.providerMessageId),
    index('message_queue_sending_worker_idx').on(t.workerId).where(sql`${t.status} = 'SENDING'`),
    // The frequency cap counts a customer's marketing messages handed to the carrier in a window
    // (their claim time is in scheduled_for); the claim and the campaign preview read this index.
    index('message_queue_marketing_sent_idx')
      .on(t.customerId, t.scheduledFor)
      .where(
        sql`${t.type} in ('BIRTHDAY', 'INACTIVITY', 'CAMPAIGN', 'PROMOTION', 'MANUAL_MARKETING') and ${t.status} in ('SENDING', 'SENT', 'DELIVERED', 'UNDELIVERED')`,
      ),
    check('message_queue_attempts_nonnegative', sql`${t.attempts} >= 0`),
  ],
);

export const messageTemplates = pgTable('message_templates', {
  type: messageType().primaryKey(),
  body: text().notNull(),
  updatedById: uuid().references(() => users.id),
  ...timestamps,
});

/**
 * One row per running worker process, beaten every WORKER_HEARTBEAT_TIMEOUT / 5. Messages a worker
 * holds SENDING are released as soon as its heartbeat is stale (it died), not after the lease.
 */
export const workerHeartbeats = pgTable('worker_heartbeats', {
  id: uuid().primaryKey(),
  host: text().notNull(),
  pid: integer().notNull(),
  startedAt: timestamptz().notNull().default(now),
  beatAt: timestamptz().notNull().default(now),
});
