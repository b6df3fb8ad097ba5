import type { Executor } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import { type SQL, sql } from 'drizzle-orm';
import { jobDb, registeredJobQueue } from '../jobs/queue.ts';
import { uuids } from '../messaging/policy.ts';

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
  queue: JobQueue | undefined,
  tx: Executor,
  ids: readonly string[],
  startAfter?: Date,
): Promise<void> {
  if (!queue || ids.length === 0) return;
  const jobs = [];
  for (let start = 0; start < ids.length; start += WEBHOOK_JOB_BATCH)
    jobs.push({ payload: { deliveryIds: ids.slice(start, start + WEBHOOK_JOB_BATCH) }, startAfter });
  await queue.sendMany(jobDb(tx), 'webhooks.deliver', jobs);
}

/**
 * The webhook reaction of `recordEvents`, in the caller's transaction: one INSERT … SELECT writes
 * a delivery per (event, matching active subscription) with the exact body to send, and their
 * jobs go on the queue through the same transaction. A rolled-back change therefore delivers
 * nothing; a committed one is always delivered (at least once). With no subscription it writes
 * nothing and sends no job. `for key share` makes a subscription deleted concurrently drop out of
 * the SELECT (or wait for this transaction) instead of failing the insert's foreign key.
 */
export async function queueWebhookDeliveries(tx: Executor, eventIds: readonly string[]): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const rows = await tx.execute<{ id: string }>(sql`
    insert into webhook_deliveries (webhook_id, event_id, event_type, payload, next_attempt_at, created_at, updated_at)
    select w.id, e.id, e.type, ${payloadSql(sql`e.id`, sql`e.type`, sql`e.occurred_at`, sql`e.data`)},
           e.occurred_at, e.occurred_at, e.occurred_at
      from domain_events e
      join webhooks w on ${subscribedTo(sql`e.type`)}
     where e.id = any(${uuids(eventIds)})
       for key share of w
    on conflict on constraint webhook_deliveries_once_per_event do nothing
    returning id`);
  const ids = rows.map((row) => row.id);
  // Without a registered queue (a script outside the API and worker) the deliveries are still
  // written; the worker's recovery pass hands due deliveries no job covers to a new job.
  await enqueueWebhookDeliveries(registeredJobQueue(), tx, ids);
  return ids;
}

/**
 * The same reaction for events recorded set-based (`recordEventsCtes`): a data-modifying CTE
 * writing the deliveries of every event of `src` (columns event_id, type, data, occurred_at) in
 * the caller's statement. Those deliveries get no job of their own (a CTE cannot send one); the
 * worker's recovery pass (every WEBHOOK_RECOVERY_INTERVAL) queues due deliveries no job covers.
 */
export function webhookDeliveriesCte(name: string, src: SQL): SQL {
  return sql`
    ${sql.raw(`${name}_webhooks`)} as (
      insert into webhook_deliveries (webhook_id, event_id, event_type, payload, next_attempt_at, created_at, updated_at)
      select w.id, s.event_id, s.type, ${payloadSql(sql`s.event_id`, sql`s.type`, sql`s.occurred_at`, sql`s.data`)},
             s.occurred_at, s.occurred_at, s.occurred_at
        from ${src} s
        join webhooks w on ${subscribedTo(sql`s.type`)}
      returning id)`;
}
