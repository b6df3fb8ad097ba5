import { schema } from '@touch-crm/db';
import { inArray, sql } from 'drizzle-orm';
import { jobActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { recordEvents } from '../events/record.ts';
import { jobDb } from '../jobs/queue.ts';
import { at, uuids } from '../lib/sql.ts';
import { mapLimit } from '../map-limit.ts';
import { drainOutbox, type OutboxChannel, type Target } from '../outbox/drain.ts';
import { hasWaitingJob } from '../outbox/recovery.ts';
import { sendWebhookRequest, type WebhookAttempt, type WebhookSender } from './http.ts';
import { enqueueWebhookDeliveries, WEBHOOK_JOB_BATCH } from './reaction.ts';
import { webhookHeaders } from './signing.ts';
import { toWebhook } from './subscriptions.ts';
import { type UrlPolicy, urlPolicyOf } from './url-safety.ts';

const DELIVER_JOB = 'webhooks.deliver';

export interface WebhookDeliveryReport {
  succeeded: number;
  /** Gave up, or refused for good (4xx, redirect, forbidden address, inactive subscription). */
  failed: number;
  /** Scheduled for another attempt with backoff. */
  retrying: number;
  /** Subscriptions disabled after failing for WEBHOOK_DISABLE_AFTER. */
  disabled: number;
  /** Left for a follow-up job by the time budget. */
  postponed: number;
}

type Claimed = {
  id: string;
  webhook_id: string;
  event_id: string | null;
  event_type: string;
  payload: Record<string, unknown>;
  attempts: number;
  url: string;
  secret: string;
};

/**
 * How long a claimed batch belongs to its worker: long enough to send all of it `concurrency` at
 * a time, each request taking up to WEBHOOK_TIMEOUT, and write the outcomes. A worker that dies
 * mid-batch leaves its deliveries PENDING with this as their next attempt, so they are sent again
 * (same event id) once the lease runs out.
 */
const leaseMs = (deps: ServiceDeps, batch: number, concurrency: number) =>
  (Math.ceil(batch / concurrency) + 1) * deps.config.WEBHOOK_TIMEOUT + 5_000;

/** Backoff before attempt `attempts + 1`: WEBHOOK_RETRY_DELAY doubled per attempt, capped. */
export const webhookRetryDelayMs = (deps: ServiceDeps, attempts: number) =>
  Math.min(deps.config.WEBHOOK_RETRY_MAX_DELAY, deps.config.WEBHOOK_RETRY_DELAY * 2 ** Math.max(0, attempts - 1));

/**
 * Claims due deliveries in one statement: locks them (FOR UPDATE SKIP LOCKED, so two workers
 * never send the same delivery at once), counts the attempt and moves `next_attempt_at` to the
 * end of the lease. Deliveries of a subscription switched off since are FAILED instead (pings,
 * which an administrator asks for, go out regardless).
 */
async function claimDeliveries(deps: ServiceDeps, target: Target, limit: number, concurrency: number) {
  const now = deps.now();
  const lease = new Date(now.getTime() + leaseMs(deps, limit, concurrency));
  const which = 'ids' in target ? sql`d.id = any(${uuids(target.ids)}) and` : sql``;
  const rows = await deps.db.execute<Claimed & { action: 'send' | 'dropped' }>(sql`
    with c as (
      select d.id from webhook_deliveries d
       where ${which} d.status = 'PENDING' and d.next_attempt_at <= ${at(now)}
       order by d.next_attempt_at, d.id
       limit ${limit}
         for update of d skip locked
    ), dropped as (
      update webhook_deliveries d
         set status = 'FAILED', next_attempt_at = null, updated_at = ${at(now)},
             last_error = 'not sent: the subscription is ' ||
                          case when w.disabled_at is not null then 'disabled (' || w.disabled_reason || ')' else 'inactive' end
        from c, webhooks w
       where d.id = c.id and w.id = d.webhook_id and not w.is_active and d.event_id is not null
      returning d.id
    ), claimed as (
      update webhook_deliveries d
         set attempts = d.attempts + 1, next_attempt_at = ${at(lease)}, updated_at = ${at(now)}
        from c, webhooks w
       where d.id = c.id and w.id = d.webhook_id and (w.is_active or d.event_id is null)
      returning d.id, d.webhook_id, d.event_id, d.event_type, d.payload, d.attempts, w.url, w.secret
    )
    select 'send' as action, * from claimed
    union all
    select 'dropped', id, null, null, null, null, null, null, null from dropped`);
  return {
    claimed: rows.filter((row) => row.action === 'send') as Claimed[],
    dropped: rows.filter((row) => row.action === 'dropped').length,
  };
}

const humanDuration = (ms: number) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;

/**
 * Writes the attempts' outcomes in one transaction: SUCCEEDED / FAILED / back to PENDING with
 * backoff (and its job); the subscriptions' health (a success clears `failing_since`, a failure
 * starts it); and a subscription failing for WEBHOOK_DISABLE_AFTER without a success is disabled,
 * with why, and a `webhook.disabled` event. Only deliveries still PENDING under the same attempt
 * are written, so a worker whose lease was taken over cannot overwrite the newer attempt.
 */
async function recordAttempts(
  deps: ServiceDeps,
  claimed: readonly Claimed[],
  attempts: readonly WebhookAttempt[],
): Promise<Omit<WebhookDeliveryReport, 'postponed'>> {
  const now = deps.now();
  const max = deps.config.WEBHOOK_MAX_ATTEMPTS;
  const values = claimed.map((delivery, index) => {
    const attempt = attempts[index] as WebhookAttempt;
    const giveUp = attempt.outcome === 'retry' && delivery.attempts >= max;
    const outcome = giveUp ? 'final' : attempt.outcome;
    return {
      id: delivery.id,
      attempt: delivery.attempts,
      outcome,
      status: attempt.status,
      body: attempt.body,
      err: giveUp ? `gave up after ${delivery.attempts} attempts: ${attempt.error}` : attempt.error,
      duration: attempt.durationMs,
      next_at:
        outcome === 'retry'
          ? new Date(now.getTime() + webhookRetryDelayMs(deps, delivery.attempts)).toISOString()
          : null,
    };
  });
  const disableAfter = deps.config.WEBHOOK_DISABLE_AFTER;
  const cutoff = new Date(now.getTime() - disableAfter);
  return deps.db.transaction(async (tx) => {
    const [result] = await tx.execute<{
      written: { id: string; outcome: string; next_at: string | null }[] | null;
      disabled: { id: string }[] | null;
    }>(sql`
      with v as (
        select * from jsonb_to_recordset(${JSON.stringify(values)}::jsonb)
          as v(id uuid, attempt int, outcome text, status int, body text, err text, duration int, next_at timestamptz)
      ), upd as (
        update webhook_deliveries d
           set status = case v.outcome when 'success' then 'SUCCEEDED' when 'retry' then 'PENDING' else 'FAILED' end
                        ::webhook_delivery_status,
               response_status = v.status, response_body = v.body, duration_ms = v.duration, last_error = v.err,
               next_attempt_at = v.next_at,
               delivered_at = case when v.outcome = 'success' then ${at(now)} else d.delivered_at end,
               updated_at = ${at(now)}
          from v
         where d.id = v.id and d.status = 'PENDING' and d.attempts = v.attempt
        returning d.id, d.webhook_id, v.outcome, v.next_at, v.err
      ), per_webhook as (
        select u.webhook_id, bool_or(u.outcome = 'success') as succeeded,
               (array_agg(u.err order by u.outcome) filter (where u.outcome <> 'success'))[1] as last_error,
               w.is_active, coalesce(w.failing_since, ${at(now)}) as failing_since
          from upd u join webhooks w on w.id = u.webhook_id
         group by u.webhook_id, w.is_active, w.failing_since
      ), health as (
        update webhooks w
           set failing_since = case when p.succeeded then null else p.failing_since end,
               is_active = w.is_active and (p.succeeded or p.failing_since > ${at(cutoff)}),
               disabled_at = case when not p.succeeded and p.is_active and p.failing_since <= ${at(cutoff)}
                                  then ${at(now)} else w.disabled_at end,
               disabled_reason = case when not p.succeeded and p.is_active and p.failing_since <= ${at(cutoff)}
                                      then 'deliveries failed for ' || ${humanDuration(disableAfter)}::text
                                           || ' without a success (failing since '
                                           || to_char(p.failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                                           || '); last error: ' || coalesce(p.last_error, 'unknown')
                                      else w.disabled_reason end
          from per_webhook p
         where w.id = p.webhook_id
        returning w.id, (not p.succeeded and p.is_active and p.failing_since <= ${at(cutoff)}) as disabled_now
      )
      select (select jsonb_agg(jsonb_build_object('id', id, 'outcome', outcome, 'next_at', next_at)) from upd) as written,
             (select jsonb_agg(jsonb_build_object('id', id)) from health where disabled_now) as disabled`);
    const written = result?.written ?? [];
    const disabled = result?.disabled ?? [];
    // Retries: one job per due time (and batch), through this transaction.
    const retries = new Map<string, string[]>();
    for (const row of written)
      if (row.outcome === 'retry' && row.next_at)
        retries.set(row.next_at, [...(retries.get(row.next_at) ?? []), row.id]);
    for (const [when, ids] of retries) await enqueueWebhookDeliveries(deps.jobs, tx, ids, new Date(when));
    if (disabled.length > 0) {
      const rows = await tx
        .select()
        .from(schema.webhooks)
        .where(
          inArray(
            schema.webhooks.id,
            disabled.map((webhook) => webhook.id),
          ),
        );
      await recordEvents(
        { tx, jobs: deps.jobs },
        rows.map((row) => ({
          type: 'webhook.disabled',
          entityType: 'webhook',
          entityId: row.id,
          actor: jobActor(DELIVER_JOB),
          data: toWebhook(row),
          changes: {
            isActive: { before: true, after: false },
            disabledReason: { before: null, after: row.disabledReason },
          },
          occurredAt: now,
        })),
      );
    }
    return {
      succeeded: written.filter((row) => row.outcome === 'success').length,
      failed: written.filter((row) => row.outcome === 'final').length,
      retrying: written.filter((row) => row.outcome === 'retry').length,
      disabled: disabled.length,
    };
  });
}

export interface DeliverWebhooksOptions {
  /** The deliveries of the job(s); without them, whatever is due. */
  deliveryIds?: readonly string[];
  /** Stop claiming new batches after this long (the rest goes to a follow-up job). */
  timeBudgetMs?: number;
  /** Requests in flight at once (default WEBHOOK_CONCURRENCY). */
  concurrency?: number;
  /** Instead of real HTTP (tests, benchmarks). */
  send?: WebhookSender;
}

/** Sends one claimed delivery with a fresh timestamp and signature; a thrown error is an attempt to retry. */
function sendDelivery(
  deps: ServiceDeps,
  send: WebhookSender,
  policy: UrlPolicy,
  delivery: Claimed,
): Promise<WebhookAttempt> {
  const body = JSON.stringify(delivery.payload);
  const headers = webhookHeaders(
    {
      id: delivery.id,
      eventId: String(delivery.payload.id ?? delivery.event_id ?? delivery.id),
      eventType: delivery.event_type,
      secret: delivery.secret,
    },
    body,
    new Date(),
  );
  return send({ url: delivery.url, body, headers, timeoutMs: deps.config.WEBHOOK_TIMEOUT, policy }).catch(
    (error: unknown): WebhookAttempt => ({
      outcome: 'retry',
      status: null,
      body: null,
      error: `send failed: ${String(error)}`,
      durationMs: 0,
    }),
  );
}

/**
 * Delivers webhooks through the outbox drain: claim a batch, POST each (WEBHOOK_CONCURRENCY at a
 * time) with a fresh timestamp and signature, record the batch's outcomes, repeat. At least once:
 * a worker that dies after the receiver answered but before the outcome is written sends again
 * after the lease, with the same event id for the receiver to recognise.
 */
export async function deliverWebhooks(
  deps: ServiceDeps,
  options: DeliverWebhooksOptions = {},
): Promise<WebhookDeliveryReport> {
  const report: WebhookDeliveryReport = { succeeded: 0, failed: 0, retrying: 0, disabled: 0, postponed: 0 };
  const send = options.send ?? sendWebhookRequest;
  const policy = urlPolicyOf(deps.config);
  const concurrency = options.concurrency ?? deps.config.WEBHOOK_CONCURRENCY;
  const channel: OutboxChannel<Claimed> = {
    batchSize: WEBHOOK_JOB_BATCH,
    claim: async (target, limit) => {
      const { claimed, dropped } = await claimDeliveries(deps, target, limit, concurrency);
      report.failed += dropped;
      return { claimed, settled: dropped };
    },
    deliver: async (claimed) => {
      const attempts = await mapLimit(claimed, concurrency, (delivery) => sendDelivery(deps, send, policy, delivery));
      const outcome = await recordAttempts(deps, claimed, attempts);
      report.succeeded += outcome.succeeded;
      report.failed += outcome.failed;
      report.retrying += outcome.retrying;
      report.disabled += outcome.disabled;
    },
    postpone: (ids) =>
      deps.db.transaction(async (tx) => {
        if (!ids) await deps.jobs.send(jobDb(tx), DELIVER_JOB, {});
        else await enqueueWebhookDeliveries(deps.jobs, tx, ids);
      }),
  };
  report.postponed += await drainOutbox(channel, {
    ids: options.deliveryIds,
    timeBudgetMs: options.timeBudgetMs ?? 60_000,
  });
  return report;
}

/**
 * The worker's periodic pass: due PENDING deliveries that no waiting job covers get a drain job.
 * That covers deliveries written set-based (`recordEventsCtes`, which cannot send jobs), written
 * by a script with no queue, or whose worker died mid-request (once their lease runs out).
 */
export async function recoverWebhookDeliveries(deps: ServiceDeps): Promise<{ queued: boolean }> {
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    if (await hasWaitingJob(tx, DELIVER_JOB)) return { queued: false };
    const [state] = await tx.execute<{ due: boolean }>(sql`
      select exists (select 1 from webhook_deliveries where status = 'PENDING' and next_attempt_at <= ${at(now)}) as due`);
    if (!state?.due) return { queued: false };
    await deps.jobs.send(jobDb(tx), DELIVER_JOB, {});
    return { queued: true };
  });
}
