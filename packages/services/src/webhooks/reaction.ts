import type { Executor } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import { type SQL, sql } from 'drizzle-orm';
import { jobDb } from '../jobs/queue.ts';

/** Deliveries per `webhooks.deliver` job (claimed together, sent concurrently). */
export const WEBHOOK_JOB_BATCH = 100;

/** An instant as the delivery body carries it: ISO 8601 in UTC with milliseconds, like `Date#toISOString`. */
const isoSql = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The delivery body, built from a domain event: `{ id, type, occurredAt, data }`. */
const payloadSql = (id: SQL, type: SQL, occurredAt: SQL, data: SQL) =>
  sql`jsonb_build_object('id', ${id}, 'type', ${type}, 'occurredAt', ${isoSql(occurredAt)}, 'data', ${data})`;

/**
 * The active subscriptions that asked for an event type (by name, or `*`). Changes to the
 * subscriptions themselves (`webhook.*`) are audited but never delivered: a subscription's URL
 * can carry a credential, and `*` subscribers are other parties.
 */
const subscribedTo = (type: SQL) =>
  sql`w.is_active and (${type} = any(w.events) or '*' = any(w.events)) and ${type} not like 'webhook.%'`;

/** Sends one job per WEBHOOK_JOB_BATCH deliveries through `tx`, so the jobs commit or vanish with them. */
export async function enqueueWebhookDeliveries(
  queue: JobQueue,
  tx: Executor,
  ids: readonly string[],
  startAfter?: Date,
): Promise<void> {
  if (ids.length === 0) return;
  const jobs = [];
  for (let start = 0; start < ids.length; start += WEBHOOK_JOB_BATCH)
    jobs.push({ payload: { deliveryIds: ids.slice(start, start + WEBHOOK_JOB_BATCH) }, startAfter });
  await queue.sendMany(jobDb(tx), 'webhooks.deliver', jobs);
}

/**
 * The webhook reaction to recorded events (`src`: event_id, type, data, occurred_at), as a CTE,
 * `name`, returning the deliveries written: one per (event, matching active subscription) with
 * the exact body to send. Each is delivered at least once: by the job sent for it or, where none
 * was (events recorded inside another statement), by the worker's recovery pass (every
 * WEBHOOK_RECOVERY_INTERVAL), which queues due deliveries no job covers. With no subscription it
 * writes nothing.
 */
export function webhookDeliveriesCtes(name: string, src: SQL): SQL {
  return sql`
    ${sql.raw(name)} as (
      insert into webhook_deliveries (webhook_id, event_id, event_type, payload, next_attempt_at, created_at, updated_at)
      select w.id, s.event_id, s.type, ${payloadSql(sql`s.event_id`, sql`s.type`, sql`s.occurred_at`, sql`s.data`)},
             s.occurred_at, s.occurred_at, s.occurred_at
        from ${src} s
        join webhooks w on ${subscribedTo(sql`s.type`)}
        -- A subscription deleted concurrently drops out (or waits) instead of failing the foreign key.
        for key share of w
      on conflict on constraint webhook_deliveries_once_per_event do nothing
      returning id)`;
}
