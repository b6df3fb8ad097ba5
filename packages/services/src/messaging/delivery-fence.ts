import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { at, uuids } from '../lib/sql.ts';
import { RATE_LIMIT_LOCK } from './delivery-claim.ts';
import type { ClaimedMessage } from './delivery-types.ts';
import { marketingTypesSql, SKIPPED_CUSTOMER_DELETED, SKIPPED_OPTED_OUT, SKIPPED_WITHDRAWN } from './policy.ts';

export const CANCELLED_CAMPAIGN = 'campaign cancelled';

/** Cleared to call; or to call once the rate limit's window frees (`waitMs`); the rest are not to be called. */
export interface Started {
  go: Set<string>;
  wait: Set<string>;
  waitMs: number;
}

/**
 * Runs the fence for `messages`. With SMS_RATE_PER_SECOND, call starts are what the limit counts:
 * under the rate-limit lock, only as many as the last second leaves are cleared (their claim time
 * in `scheduled_for` becomes the call's start); the others wait, still claimed, for the window.
 */
export async function startCalls(
  deps: ServiceDeps,
  workerId: string | null,
  messages: readonly ClaimedMessage[],
): Promise<Started> {
  const rate = deps.config.SMS_RATE_PER_SECOND;
  if (rate <= 0) return { ...(await fence(deps.db, workerId, messages, deps.now())), waitMs: 0 };
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${RATE_LIMIT_LOCK})`);
    const now = deps.now();
    // Calls started in the last second: a started call's row keeps its start in scheduled_for.
    const [window] = await tx.execute<{ used: number; oldest: Date | null }>(sql`
      select count(*)::int as used, min(scheduled_for) as oldest
        from message_queue
       where status in ('SENDING', 'SENT', 'FAILED') and scheduled_for > ${at(new Date(now.getTime() - 1000))}
         and call_started_at is not null`);
    const allowance = Math.max(0, rate - (window?.used ?? 0));
    const oldest = window?.oldest ? new Date(window.oldest).getTime() : now.getTime();
    const started = await fence(tx, workerId, messages, now, allowance);
    return { ...started, waitMs: Math.max(20, oldest + 1000 - now.getTime()) };
  });
}

/**
 * The fence in front of the carrier: in one statement, marks the claimed messages whose calls are
 * about to start `call_started_at`, and returns the ids that may be called. A message is called
 * only if, at that moment, it is still this claim (SENDING under the same attempt and worker, not
 * re-queued by recovery or taken by another worker), not cancelled and not withdrawn from
 * (consent, deleted customer, cancelled campaign: it is written SKIPPED or CANCELLED here, as the
 * claim would have). STOP and cancel act on SENDING messages whose call has not started, and
 * their row locks order them against this update: whichever commits first wins.
 *
 * Without a rate limit only `call_started_at` changes for a message cleared to go (no indexed
 * column), so the update can stay on its heap page (HOT). With one (`allowance`), at most that
 * many are cleared, their `scheduled_for` becoming the call's start; the rest are left to wait.
 */
async function fence(
  executor: Executor,
  workerId: string | null,
  messages: readonly ClaimedMessage[],
  now: Date,
  allowance?: number,
): Promise<{ go: Set<string>; wait: Set<string> }> {
  if (messages.length === 0) return { go: new Set(), wait: new Set() };
  // The claim's own columns (type, customer, campaign) come with the ids: the rows are read once,
  // by the update.
  const values = messages.map((message) => ({
    id: message.id,
    attempt: message.attempts,
    type: message.type,
    customer_id: message.customer_id,
    campaign_id: message.campaign_id,
  }));
  const limited = allowance !== undefined;
  const rows = await executor.execute<{ id: string; status: string }>(sql`
    with judged as (
      select v.id, v.attempt,
             case when c.id is not null and c.deleted_at is not null then 'gone'
                  when v.type = any(${marketingTypesSql}) and not coalesce(c.sms_opt_in, true) then 'opted_out'
                  when not coalesce(c.sms_opt_in, true) and v.type <> 'OPT_OUT_CONFIRMATION' then 'withdrawn'
                  when k.status = 'CANCELLED' then 'cancelled'
                  else 'send' end as action
        from jsonb_to_recordset(${JSON.stringify(values)}::jsonb)
               as v(id uuid, attempt int, type message_type, customer_id uuid, campaign_id uuid)
        left join customers c on c.id = v.customer_id
        left join campaigns k on k.id = v.campaign_id
    ), decided as (
      select id, attempt,
             case when ${limited} and action = 'send'
                       and row_number() over (partition by action = 'send' order by id) > ${allowance ?? 0}
                  then 'wait' else action end as action
        from judged
    ), upd as (
      update message_queue m
         set call_started_at = case when d.action = 'send' then ${at(now)} end,
             scheduled_for = case when ${limited} and d.action = 'send' then ${at(now)} else m.scheduled_for end,
             status = case d.action when 'send' then m.status
                                    when 'cancelled' then 'CANCELLED'::message_status
                                    else 'SKIPPED'::message_status end,
             last_error = case d.action when 'send' then m.last_error
                                        when 'gone' then ${SKIPPED_CUSTOMER_DELETED}
                                        when 'opted_out' then ${SKIPPED_OPTED_OUT}
                                        when 'withdrawn' then ${SKIPPED_WITHDRAWN}
                                        else ${CANCELLED_CAMPAIGN} end,
             worker_id = case when d.action = 'send' then m.worker_id end,
             updated_at = case when d.action = 'send' then m.updated_at else ${at(now)} end
        from decided d
       where m.id = any(${uuids(messages.map((message) => message.id))}) and m.id = d.id and d.action <> 'wait'
         and m.status::text = 'SENDING' and m.attempts = d.attempt and m.call_started_at is null
         and m.worker_id is not distinct from ${workerId}::uuid
      returning m.id, m.status::text as status
    )
    select id, status from upd
    union all select id, 'WAIT' from decided where action = 'wait'`);
  const idsWith = (status: string) => new Set(rows.filter((row) => row.status === status).map((row) => row.id));
  return { go: idsWith('SENDING'), wait: idsWith('WAIT') };
}
