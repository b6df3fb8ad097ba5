import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import { at, uuids } from '../lib/sql.ts';
import type { ClaimedMessage } from './delivery-types.ts';
import { marketingTypesSql, SKIPPED_CUSTOMER_DELETED, SKIPPED_OPTED_OUT, SKIPPED_WITHDRAWN } from './policy.ts';

export const CANCELLED_CAMPAIGN = 'campaign cancelled';

/**
 * The fence in front of the carrier: in one statement, marks the claimed messages whose calls are
 * about to start `call_started_at`, and returns the ids that may be called. A message is called
 * only if, at that moment, it is still this claim (SENDING under the same attempt and worker, not
 * re-queued by recovery or taken by another worker), not cancelled and not withdrawn from
 * (consent, deleted customer, cancelled campaign: it is written SKIPPED or CANCELLED here, as the
 * claim would have). STOP and cancel act on SENDING messages whose call has not started, and
 * their row locks order them against this update: whichever commits first wins.
 *
 * Only `call_started_at` changes for a message cleared to go (no indexed column), so the update
 * can stay on its heap page (HOT).
 */
export async function startCalls(
  executor: Executor,
  workerId: string | null,
  messages: readonly ClaimedMessage[],
  now: Date,
): Promise<Set<string>> {
  if (messages.length === 0) return new Set();
  const values = messages.map((message) => ({ id: message.id, attempt: message.attempts }));
  const rows = await executor.execute<{ id: string; status: string }>(sql`
    with v as (
      select * from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(id uuid, attempt int)
    ), decided as (
      select m.id,
             case when c.id is not null and c.deleted_at is not null then 'gone'
                  when m.type = any(${marketingTypesSql}) and not coalesce(c.sms_opt_in, true) then 'opted_out'
                  when not coalesce(c.sms_opt_in, true) and m.type <> 'OPT_OUT_CONFIRMATION' then 'withdrawn'
                  when k.status = 'CANCELLED' then 'cancelled'
                  else 'send' end as action
        from message_queue m
        join v on v.id = m.id
        left join customers c on c.id = m.customer_id
        left join campaigns k on k.id = m.campaign_id
       where m.id = any(${uuids(messages.map((message) => message.id))})
    )
    update message_queue m
       set call_started_at = case when d.action = 'send' then ${at(now)} end,
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
      from v, decided d
     where m.id = any(${uuids(messages.map((message) => message.id))})
       and m.id = v.id and d.id = v.id
       and m.status::text = 'SENDING' and m.attempts = v.attempt and m.call_started_at is null
       and m.worker_id is not distinct from ${workerId}::uuid
    returning m.id, m.status`);
  return new Set(rows.filter((row) => row.status === 'SENDING').map((row) => row.id));
}
