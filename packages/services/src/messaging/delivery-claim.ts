import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { enqueueDelivery } from '../jobs/queue.ts';
import { at, uuids } from '../lib/sql.ts';
import type { Target } from '../outbox/drain.ts';
import type { ClaimedMessage } from './delivery-types.ts';
import { cappedSql, lockCappedCustomers } from './frequency-cap.ts';
import { marketingTypesSql, SKIPPED_CUSTOMER_DELETED, SKIPPED_OPTED_OUT, SKIPPED_WITHDRAWN } from './policy.ts';
import { nextAllowedSql } from './quiet-hours.ts';

export const RATE_LIMIT_LOCK = 0x5a5_0001;

export interface Claim {
  claimed: ClaimedMessage[];
  skipped: number;
  deferred: number;
  /** The claim was cut short by the rate limit: more may be eligible right now. */
  limited: boolean;
  /** With nothing claimable under the rate limit: how long until the window frees. */
  waitMs: number;
}

/**
 * Claims messages for sending in one short transaction: locks the eligible QUEUED rows
 * (FOR UPDATE SKIP LOCKED, so two workers never claim the same message), skips messages to
 * deleted customers and to those who withdrew consent (all but the opt-out confirmation), defers
 * marketing during the recipient's quiet hours or over the frequency cap (to when a slot frees),
 * and marks the rest SENDING with `attempts + 1` and the claiming worker. `scheduled_for` becomes
 * the claim time: what the rate limit and the frequency cap count, and the lease of a claim made
 * outside a worker. SENDING rows are never claimed here: only the recovery pass hands them back.
 */
export async function claimMessages(
  deps: ServiceDeps,
  claimer: { provider: string; workerId: string | null },
  target: Target,
  limit: number,
): Promise<Claim> {
  const { config } = deps;
  return deps.db.transaction(async (tx) => {
    let allowance = limit;
    if (config.SMS_RATE_PER_SECOND > 0) {
      // One sliding one-second window for every worker: claims serialise on this lock and count
      // what was handed to the carrier in the last second (the claim time is in scheduled_for).
      await tx.execute(sql`select pg_advisory_xact_lock(${RATE_LIMIT_LOCK})`);
    }
    // The claim time is read once the lock is held, so no earlier claim can carry a later time.
    const now = deps.now();
    if (config.SMS_RATE_PER_SECOND > 0) {
      const [window] = await tx.execute<{ used: number; oldest: Date | null }>(sql`
        select count(*)::int as used, min(scheduled_for) as oldest
          from message_queue
         where status in ('SENDING', 'SENT', 'FAILED')
           and scheduled_for > ${at(new Date(now.getTime() - 1000))}`);
      const used = window?.used ?? 0;
      allowance = Math.min(limit, config.SMS_RATE_PER_SECOND - used);
      if (allowance <= 0) {
        const oldest = window?.oldest ? new Date(window.oldest).getTime() : now.getTime();
        return {
          claimed: [],
          skipped: 0,
          deferred: 0,
          limited: true,
          waitMs: Math.max(20, oldest + 1000 - now.getTime()),
        };
      }
    }
    const which = 'ids' in target ? sql`m.id = any(${uuids(target.ids)}) and ` : sql``;
    const locked = await lockCappedCustomers(tx, which, now, allowance);
    // Quiet hours where the recipient lives, as queueMessages scheduled them: a retry or a
    // message held by the cap must not go out at night there either.
    const quietUntil = nextAllowedSql(now, config.SMS_QUIET_HOURS, sql`coalesce(c.time_zone, ${config.APP_TIMEZONE})`);
    const rows = await tx.execute<
      ClaimedMessage & { action: 'send' | 'skipped' | 'deferred'; deferred_until: string | null }
    >(sql`
      with candidates as (
        select m.id, m.type, m.customer_id, m.scheduled_for, c.time_zone, ${quietUntil} as quiet_until, (c.id is not null and c.deleted_at is not null) as gone, coalesce(c.sms_opt_in, true) as opted_in
          from message_queue m
          left join customers c on c.id = m.customer_id
         where ${which} m.status = 'QUEUED' and m.scheduled_for <= ${at(now)}
         order by m.scheduled_for, m.id
         limit ${allowance}
           for update of m skip locked
      ), capped as (
        ${cappedSql(config, sql`candidates where customer_id is not null and type = any(${marketingTypesSql}) and not gone and opted_in and quiet_until <= ${at(now)}`, now, locked)}
      ), decided as (
        select candidates.id,
               case when gone then 'gone'
                    when type = any(${marketingTypesSql}) and not opted_in then 'opted_out'
                    when not opted_in and type <> 'OPT_OUT_CONFIRMATION' then 'withdrawn'
                    when type = any(${marketingTypesSql}) and quiet_until > ${at(now)} then 'quiet'
                    when capped.id is not null then 'capped'
                    else 'send' end as action,
               coalesce(capped.until, candidates.quiet_until) as until
          from candidates left join capped on capped.id = candidates.id
      ), skipped as (
        update message_queue m
           set status = 'SKIPPED',
               last_error = case d.action when 'gone' then ${SKIPPED_CUSTOMER_DELETED}
                                          when 'withdrawn' then ${SKIPPED_WITHDRAWN} else ${SKIPPED_OPTED_OUT} end,
               updated_at = ${at(now)}
          from decided d where m.id = d.id and d.action in ('gone', 'opted_out', 'withdrawn')
        returning m.id
      ), deferred as (
        update message_queue m set status = 'QUEUED', scheduled_for = d.until, updated_at = ${at(now)}
          from decided d where m.id = d.id and d.action in ('quiet', 'capped')
        returning m.id, m.scheduled_for
      ), claimed as (
        update message_queue m
           set status = 'SENDING', attempts = m.attempts + 1, scheduled_for = ${at(now)},
               provider = ${claimer.provider}, worker_id = ${claimer.workerId}::uuid, call_started_at = null,
               updated_at = ${at(now)}
          from decided d where m.id = d.id and d.action = 'send'
        returning m.id, m.phone, m.body, m.idempotency_key, m.attempts, m.type, m.customer_id, m.campaign_id
      )
      select 'send' as action, *, null::timestamptz as deferred_until from claimed
      union all select 'skipped', id, null, null, null, null, null, null, null, null from skipped
      union all select 'deferred', id, null, null, null, null, null, null, null, scheduled_for from deferred`);
    const claimed = rows.filter((row) => row.action === 'send');
    const deferred = rows.filter((row) => row.action === 'deferred');
    await enqueueDeferred(deps, tx, deferred);
    return {
      claimed,
      skipped: rows.filter((row) => row.action === 'skipped').length,
      deferred: deferred.length,
      limited: allowance < limit && rows.length === allowance,
      waitMs: 0,
    };
  });
}

/** One delivery job per batch of deferred messages due at the same time (quiet hours end, a cap slot frees). */
async function enqueueDeferred(
  deps: ServiceDeps,
  tx: Executor,
  deferred: { id: string; deferred_until: string | null }[],
) {
  const byStart = Map.groupBy(deferred, (row) => new Date(row.deferred_until ?? 0).getTime());
  for (const [start, rows] of byStart)
    await enqueueDelivery(
      deps.jobs,
      tx,
      rows.map((row) => row.id),
      { batchSize: deps.config.SMS_BATCH_SIZE, startAfter: new Date(start) },
    );
}

/**
 * Hands claimed messages that never reached the carrier back to QUEUED (their attempt not
 * counted), due at `when`, with a job. Only rows still SENDING under the same attempt move.
 */
export async function releaseClaims(
  deps: ServiceDeps,
  tx: Executor,
  messages: readonly ClaimedMessage[],
  when: Date,
): Promise<number> {
  if (messages.length === 0) return 0;
  const values = messages.map((message) => ({ id: message.id, attempt: message.attempts }));
  const rows = await tx.execute<{ id: string }>(sql`
    update message_queue m
       set status = 'QUEUED', attempts = m.attempts - 1, scheduled_for = ${at(when)}, worker_id = null,
           call_started_at = null, updated_at = ${at(deps.now())}
      from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(id uuid, attempt int)
     where m.id = v.id and m.status = 'SENDING' and m.attempts = v.attempt
    returning m.id`);
  await enqueueDelivery(
    deps.jobs,
    tx,
    rows.map((row) => row.id),
    { batchSize: deps.config.SMS_BATCH_SIZE, startAfter: when },
  );
  return rows.length;
}
