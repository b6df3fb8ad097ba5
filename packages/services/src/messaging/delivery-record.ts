import type { MessageType } from '@touch-crm/contract';
import { type Executor, isDatabaseUnavailable } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import { sql } from 'drizzle-orm';
import { jobActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { recordEvents } from '../events/record.ts';
import { recordEventsCtes } from '../events/record-set.ts';
import { jobDb } from '../jobs/queue.ts';
import { at, uuids } from '../lib/sql.ts';
import { applyCarrierErrors, carrierFailuresOf } from './carrier-errors.ts';
import type { Answered, Recorded } from './delivery-types.ts';

export const SEND_JOB = 'sms.send';

/** Backoff before attempt `attempts + 1`: SMS_RETRY_DELAY doubled per attempt, capped. */
export const retryDelayMs = (deps: ServiceDeps, attempts: number) =>
  Math.min(deps.config.SMS_RETRY_MAX_DELAY, deps.config.SMS_RETRY_DELAY * 2 ** Math.max(0, attempts - 1));

/**
 * Retries are due on a grid (SMS_RETRY_DELAY, at most 1 s): the messages that failed within one
 * step share a start time, so they are claimed together by a few jobs, not one job per failure.
 */
const retrySlot = (deps: ServiceDeps, instant: number) => {
  const step = Math.min(1_000, deps.config.SMS_RETRY_DELAY);
  return new Date(Math.ceil(instant / step) * step);
};

/**
 * Gives the retries due at `slot` one delivery job per SMS_BATCH_SIZE messages. The jobs claim
 * whatever is due (no ids) and carry a key per slot and rank, so the outcome writes of every
 * worker add to the same few jobs instead of each sending its own.
 */
async function scheduleRetries(deps: ServiceDeps, tx: Executor, slot: Date): Promise<void> {
  const [due] = await tx.execute<{ n: number }>(
    sql`select count(*)::int as n from message_queue where status = 'QUEUED' and scheduled_for = ${at(slot)}`,
  );
  const keys = Array.from(
    { length: Math.ceil((due?.n ?? 0) / deps.config.SMS_BATCH_SIZE) },
    (_, rank) => `retry:${slot.toISOString()}:${rank}`,
  );
  if (keys.length === 0) return;
  const existing = await tx.execute<{ key: string }>(sql`
    select singleton_key as key from pgboss.job
     where name = ${SEND_JOB} and state in ('created', 'retry') and singleton_key = any(${`{${keys.join(',')}}`}::text[])`);
  const taken = new Set(existing.map((row) => row.key));
  for (const key of keys)
    if (!taken.has(key)) await deps.jobs.send(jobDb(tx), 'sms.send', {}, { startAfter: slot, singletonKey: key });
}

const TYPE_LABELS: Record<MessageType, string> = {
  WELCOME: 'welcome',
  BIRTHDAY: 'birthday',
  INACTIVITY: 'we miss you',
  CAMPAIGN: 'campaign',
  PROMOTION: 'promotion',
  MANUAL: 'message',
  MANUAL_MARKETING: 'message',
  OPT_OUT_CONFIRMATION: 'opt-out confirmation',
  OPT_IN_CONFIRMATION: 'opt-in confirmation',
  HELP: 'help',
  REPLY: 'reply',
};

/**
 * Writes what the carrier said: SENT / FAILED / back to QUEUED with backoff (and its job), plus a
 * `message.sent` or `message.failed` event per message (the customer's timeline). Only rows still
 * SENDING under the same attempt are written, so a worker whose claim was taken over cannot
 * overwrite the newer attempt, and writing the same outcomes twice changes nothing. Runs on
 * `executor` when given (the caller's transaction), else in a transaction of its own when it
 * schedules retries.
 */
export async function recordOutcomes(
  deps: ServiceDeps,
  answered: readonly Answered[],
  now: Date,
  executor?: Executor,
): Promise<Recorded[]> {
  if (answered.length === 0) return [];
  const values = answered.map(({ message, outcome }) => {
    const base = { id: message.id, attempt: message.attempts, pid: null, err: null, next_at: null };
    if (outcome.status === 'sent') return { ...base, status: 'SENT', pid: outcome.providerMessageId };
    if (outcome.status === 'failed' || message.attempts >= deps.config.SMS_MAX_ATTEMPTS) {
      const error =
        outcome.status === 'failed' ? outcome.error : `gave up after ${message.attempts} attempts: ${outcome.error}`;
      return { ...base, status: 'FAILED', err: error };
    }
    const nextAt = retrySlot(deps, now.getTime() + retryDelayMs(deps, message.attempts));
    return { ...base, status: 'QUEUED', err: outcome.error, next_at: nextAt };
  });
  const labels = sql.raw(
    `case upd.type ${Object.entries(TYPE_LABELS)
      .map(([type, label]) => `when '${type}' then '${label}'`)
      .join(' ')} end`,
  );
  // One statement: the outcomes, and for SENT and FAILED their `message.sent` / `message.failed`
  // events with audit rows and timeline entries (the rows recordEvents writes).
  const writeOutcomes = (tx: Executor) =>
    tx.execute<Recorded>(sql`
      with v as (
        select * from jsonb_to_recordset(${JSON.stringify(values)}::jsonb)
          as v(id uuid, status text, pid text, err text, next_at timestamptz, attempt int)
      ), upd as (
        update message_queue m
           set status = v.status::message_status,
               provider_message_id = coalesce(v.pid, m.provider_message_id),
               last_error = v.err,
               sent_at = case when v.status = 'SENT' then ${at(now)} else m.sent_at end,
               scheduled_for = coalesce(v.next_at, m.scheduled_for),
               worker_id = null,
               updated_at = ${at(now)}
          from v
         -- Found by primary key: the status compared as text, so the planner cannot take the partial
         -- index of SENDING rows instead (its statistics lag behind a campaign, and that index holds
         -- an entry for every message claimed since the last vacuum: each write would scan them all).
         where m.id = any(${uuids(answered.map(({ message }) => message.id))})
           and m.id = v.id and m.status::text = 'SENDING' and m.attempts = v.attempt
        returning m.id, m.status, m.type, m.customer_id, m.campaign_id, m.body, m.provider, m.provider_message_id,
                  m.last_error, m.attempts, m.scheduled_for, m.sent_at
      ), ${recordEventsCtes(
        'outcome',
        sql`
        select case when upd.status = 'SENT' then 'message.sent' else 'message.failed' end as type,
               'message' as entity_type, upd.id as entity_id, upd.customer_id,
               null::uuid as actor_user_id, ${SEND_JOB}::text as actor_job,
               jsonb_build_object('id', upd.id, 'customerId', upd.customer_id, 'campaignId', upd.campaign_id,
                                  'type', upd.type, 'status', upd.status, 'attempts', upd.attempts,
                                  'provider', upd.provider, 'providerMessageId', upd.provider_message_id,
                                  'lastError', upd.last_error, 'sentAt', upd.sent_at) as data,
               jsonb_build_object('status', jsonb_build_object('before', 'SENDING', 'after', upd.status)) as changes,
               case when upd.status = 'SENT' then 'SMS sent (' else 'SMS failed (' end || ${labels} || ')' as subject,
               case when upd.status = 'SENT' then upd.body else upd.last_error end as content,
               ${at(now)} as occurred_at
          from upd where upd.status in ('SENT', 'FAILED')`,
      )}
      select * from upd`);
  // What a carrier error code says about the recipient (opted out, undeliverable) goes with the outcome.
  const write = async (tx: Executor) => {
    const rows = [...(await writeOutcomes(tx))];
    await applyCarrierErrors(tx, carrierFailuresOf(answered, rows), now, SEND_JOB);
    return rows;
  };
  const writeWithRetries = async (tx: Executor) => {
    const rows = [...(await write(tx))];
    const slots = new Set(
      rows.filter((row) => row.status === 'QUEUED').map((row) => new Date(row.scheduled_for).getTime()),
    );
    for (const slot of slots) await scheduleRetries(deps, tx, new Date(slot));
    return rows;
  };
  if (executor) return writeWithRetries(executor);
  if (!values.some((value) => value.status === 'QUEUED') && carrierFailuresOf(answered).length === 0)
    return write(deps.db);
  return deps.db.transaction(writeWithRetries);
}

/** The SQLSTATE of a database error about the statement's data (classes 22, 23 and 54), not about the database. */
function refusedDataState(error: unknown): string | null {
  for (let link: unknown = error, depth = 0; link && depth < 4; link = (link as { cause?: unknown }).cause, depth++) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code)) return code;
  }
  return null;
}

/**
 * What is written instead of an answer the database refused (text or an id it cannot store):
 * a retry or refusal keeps its kind with a reason we know to be storable, and an accepted send
 * is FAILED, as it may have reached the phone and a retry would send it again.
 */
function storableOutcome({ message, outcome }: Answered, state: string): Answered {
  const reason = `the carrier's answer could not be stored (SQLSTATE ${state})`;
  if (outcome.status === 'sent')
    return { message, outcome: { status: 'failed', error: `${reason}; not retried: it may have sent the SMS` } };
  return { message, outcome: { status: outcome.status, error: reason } };
}

/**
 * Writes each outcome on its own, after a group write failed: one answer the database refuses
 * must not hold back the others, which would stay SENDING and be sent again by recovery. An
 * answer refused for its data is written as storableOutcome says. Stops at the first failure that
 * is not about the data (the database is away) and returns the answers not written, in order;
 * writes none when the group's own failure (`cause`) already says the database is away.
 */
export async function recordEachOutcome(
  deps: ServiceDeps,
  answered: readonly Answered[],
  now: Date,
  recorded: Recorded[],
  cause: unknown,
): Promise<Answered[]> {
  if (isDatabaseUnavailable(cause)) return [...answered];
  for (const [index, one] of answered.entries()) {
    try {
      recorded.push(...(await recordOutcomes(deps, [one], now)));
    } catch (error) {
      const state = refusedDataState(error);
      if (!state) return answered.slice(index);
      try {
        recorded.push(...(await recordOutcomes(deps, [storableOutcome(one, state)], now)));
      } catch {
        return answered.slice(index);
      }
    }
  }
  return [];
}

/**
 * Completes RUNNING campaigns none of whose messages is waiting or in flight. Run after the
 * outcomes commit, so of two workers finishing one campaign at once the later sees both.
 */
export async function completeFinishedCampaigns(
  executor: Executor,
  jobs: JobQueue,
  now: Date,
  campaignIds?: readonly string[],
): Promise<number> {
  if (campaignIds && campaignIds.length === 0) return 0;
  const rows = await executor.execute<{ id: string }>(sql`
    update campaigns c set status = 'COMPLETED', completed_at = ${at(now)}, updated_at = ${at(now)}
     where c.status = 'RUNNING' ${campaignIds ? sql`and c.id = any(${uuids(campaignIds)})` : sql``}
       and not exists (select 1 from message_queue m where m.campaign_id = c.id and m.status in ('QUEUED', 'SENDING'))
    returning c.id, c.name`);
  if (rows.length > 0)
    await recordEvents(
      { tx: executor, jobs },
      rows.map((row) => ({
        type: 'campaign.completed',
        entityType: 'campaign',
        entityId: row.id,
        actor: jobActor(SEND_JOB),
        data: { id: row.id, status: 'COMPLETED', completedAt: now.toISOString() },
        changes: { status: { before: 'RUNNING', after: 'COMPLETED' } },
        occurredAt: now,
      })),
    );
  return rows.length;
}
