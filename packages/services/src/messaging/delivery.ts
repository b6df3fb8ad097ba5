import type { MessageType } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import { sql } from 'drizzle-orm';
import { jobActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { recordEvents } from '../events/record.ts';
import { recordEventsCtes } from '../events/record-set.ts';
import { enqueueDelivery, jobDb } from '../jobs/queue.ts';
import { mapLimit } from '../map-limit.ts';
import { at, marketingTypesSql, priorityOf, SKIPPED_CUSTOMER_DELETED, SKIPPED_OPTED_OUT, uuids } from './policy.ts';
import { inQuietHours, nextAllowedMinute } from './time.ts';

/** One SMS as a carrier receives it. */
export interface OutgoingSms {
  messageId: string;
  /** E.164. */
  to: string;
  body: string;
  /** Stable across retries and restarts: a carrier that honours it never sends the same message twice. */
  idempotencyKey: string;
}

/**
 * What a carrier call came to: accepted; worth retrying (timeout, network error, 5xx, 429);
 * or refused for good (4xx: bad number, blocked content …).
 */
export type SendOutcome =
  | { status: 'sent'; providerMessageId: string | null }
  | { status: 'retry'; error: string }
  | { status: 'failed'; error: string };

/** The one interface every SMS provider implements (console, http, twilio). */
export interface SmsProvider {
  readonly name: string;
  /** Never throws: every failure is an outcome. */
  send(sms: OutgoingSms): Promise<SendOutcome>;
  close?(): Promise<void>;
}

export interface DeliveryReport {
  sent: number;
  failed: number;
  /** Scheduled for another attempt with backoff. */
  retrying: number;
  skipped: number;
  /** Moved to the end of quiet hours. */
  deferred: number;
  /** Left for a later job by the rate limit. */
  postponed: number;
}

const emptyReport = (): DeliveryReport => ({ sent: 0, failed: 0, retrying: 0, skipped: 0, deferred: 0, postponed: 0 });

type ClaimedMessage = {
  id: string;
  phone: string;
  body: string;
  idempotency_key: string;
  attempts: number;
  type: MessageType;
  customer_id: string | null;
  campaign_id: string | null;
};

const RATE_LIMIT_LOCK = 0x5a5_0001;
const SEND_JOB = 'sms.send';

type Target = { ids: readonly string[] } | { due: true };

interface Claim {
  claimed: ClaimedMessage[];
  skipped: number;
  deferred: number;
  /** The claim was cut short by the rate limit: more may be eligible right now. */
  limited: boolean;
  /** With nothing claimable under the rate limit: how long until the window frees. */
  waitMs: number;
}

/**
 * Claims messages for sending in one short transaction: locks the eligible rows
 * (FOR UPDATE SKIP LOCKED, so two workers never claim the same message), skips marketing
 * messages to opted-out or deleted customers, defers marketing messages during quiet hours,
 * and marks the rest SENDING with `attempts + 1`. `scheduled_for` becomes the claim time:
 * it is the lease (a SENDING row older than SMS_SENDING_LEASE belongs to a worker that died)
 * and what the rate limit counts.
 */
async function claimMessages(deps: ServiceDeps, providerName: string, target: Target, limit: number): Promise<Claim> {
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
    const stale = new Date(now.getTime() - config.SMS_SENDING_LEASE);
    const quiet = inQuietHours(now, config.SMS_QUIET_HOURS, config.APP_TIMEZONE);
    const next = nextAllowedMinute(now, config.SMS_QUIET_HOURS, config.APP_TIMEZONE);
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
    const which =
      'ids' in target
        ? sql`m.id = any(${uuids(target.ids)}) and ((m.status = 'QUEUED' and m.scheduled_for <= ${at(now)})
                or (m.status = 'SENDING' and m.scheduled_for <= ${at(stale)}))`
        : sql`m.status = 'QUEUED' and m.scheduled_for <= ${at(now)}`;
    const rows = await tx.execute<ClaimedMessage & { action: 'send' | 'skipped' | 'deferred' }>(sql`
      with candidates as (
        select m.id, m.type, (c.id is not null and c.deleted_at is not null) as gone, coalesce(c.sms_opt_in, true) as opted_in
          from message_queue m
          left join customers c on c.id = m.customer_id
         where ${which}
         order by m.scheduled_for, m.id
         limit ${allowance}
           for update of m skip locked
      ), decided as (
        select id,
               case when gone then 'gone'
                    when type = any(${marketingTypesSql}) and not opted_in then 'opted_out'
                    when ${quiet} and type = any(${marketingTypesSql}) then 'quiet'
                    else 'send' end as action
          from candidates
      ), skipped as (
        update message_queue m
           set status = 'SKIPPED',
               last_error = case d.action when 'gone' then ${SKIPPED_CUSTOMER_DELETED} else ${SKIPPED_OPTED_OUT} end,
               updated_at = ${at(now)}
          from decided d where m.id = d.id and d.action in ('gone', 'opted_out')
        returning m.id
      ), deferred as (
        update message_queue m set status = 'QUEUED', scheduled_for = ${at(next)}, updated_at = ${at(now)}
          from decided d where m.id = d.id and d.action = 'quiet'
        returning m.id
      ), claimed as (
        update message_queue m
           set status = 'SENDING', attempts = m.attempts + 1, scheduled_for = ${at(now)}, provider = ${providerName},
               updated_at = ${at(now)}
          from decided d where m.id = d.id and d.action = 'send'
        returning m.id, m.phone, m.body, m.idempotency_key, m.attempts, m.type, m.customer_id, m.campaign_id
      )
      select 'send' as action, * from claimed
      union all select 'skipped', id, null, null, null, null, null, null, null from skipped
      union all select 'deferred', id, null, null, null, null, null, null, null from deferred`);
    const claimed = rows.filter((row) => row.action === 'send');
    const deferredIds = rows.filter((row) => row.action === 'deferred').map((row) => row.id);
    await enqueueDelivery(deps.jobs, tx, deferredIds, { batchSize: config.SMS_BATCH_SIZE, startAfter: next });
    return {
      claimed,
      skipped: rows.filter((row) => row.action === 'skipped').length,
      deferred: deferredIds.length,
      limited: allowance < limit && rows.length === allowance,
      waitMs: 0,
    };
  });
}

/** Backoff before attempt `attempts + 1`: SMS_RETRY_DELAY doubled per attempt, capped. */
export const retryDelayMs = (deps: ServiceDeps, attempts: number) =>
  Math.min(deps.config.SMS_RETRY_MAX_DELAY, deps.config.SMS_RETRY_DELAY * 2 ** Math.max(0, attempts - 1));

const TYPE_LABELS: Record<MessageType, string> = {
  WELCOME: 'welcome',
  BIRTHDAY: 'birthday',
  INACTIVITY: 'we miss you',
  CAMPAIGN: 'campaign',
  PROMOTION: 'promotion',
  MANUAL: 'message',
};

type Recorded = {
  id: string;
  status: 'SENT' | 'FAILED' | 'QUEUED';
  type: MessageType;
  customer_id: string | null;
  campaign_id: string | null;
  body: string;
  provider: string | null;
  provider_message_id: string | null;
  last_error: string | null;
  attempts: number;
  scheduled_for: Date;
  sent_at: Date | null;
};

/**
 * Writes what the carrier said, in one transaction: SENT / FAILED / back to QUEUED with
 * backoff (and its job), plus a `message.sent` or `message.failed` event per message (the
 * customer's timeline). Only rows still SENDING under the same attempt are written, so a
 * worker whose lease was taken over cannot overwrite the newer attempt.
 */
async function recordOutcomes(
  deps: ServiceDeps,
  claimed: readonly ClaimedMessage[],
  outcomes: readonly SendOutcome[],
  now: Date,
): Promise<Recorded[]> {
  const values = claimed.map((message, index) => {
    const outcome = outcomes[index] as SendOutcome;
    if (outcome.status === 'sent')
      return {
        id: message.id,
        status: 'SENT',
        pid: outcome.providerMessageId,
        err: null,
        next_at: null,
        attempt: message.attempts,
      };
    if (outcome.status === 'failed' || message.attempts >= deps.config.SMS_MAX_ATTEMPTS) {
      const error =
        outcome.status === 'failed' ? outcome.error : `gave up after ${message.attempts} attempts: ${outcome.error}`;
      return { id: message.id, status: 'FAILED', pid: null, err: error, next_at: null, attempt: message.attempts };
    }
    const nextAt = new Date(now.getTime() + retryDelayMs(deps, message.attempts));
    return {
      id: message.id,
      status: 'QUEUED',
      pid: null,
      err: outcome.error,
      next_at: nextAt,
      attempt: message.attempts,
    };
  });
  const labels = sql.raw(
    `case upd.type ${Object.entries(TYPE_LABELS)
      .map(([type, label]) => `when '${type}' then '${label}'`)
      .join(' ')} end`,
  );
  // One statement per group: the outcomes, and for SENT and FAILED their `message.sent` /
  // `message.failed` events with audit rows and timeline entries (the rows recordEvents writes).
  const write = (executor: Executor) =>
    executor.execute<Recorded>(sql`
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
               updated_at = ${at(now)}
          from v
         where m.id = v.id and m.status = 'SENDING' and m.attempts = v.attempt
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
  const retrying = values.some((value) => value.status === 'QUEUED');
  if (!retrying) return [...(await write(deps.db))];
  return deps.db.transaction(async (tx) => {
    const rows = await write(tx);
    const retries = new Map<number, string[]>();
    for (const row of rows) {
      if (row.status !== 'QUEUED') continue;
      const when = new Date(row.scheduled_for).getTime();
      retries.set(when, [...(retries.get(when) ?? []), row.id]);
    }
    for (const [when, ids] of retries)
      await enqueueDelivery(deps.jobs, tx, ids, { batchSize: deps.config.SMS_BATCH_SIZE, startAfter: new Date(when) });
    return [...rows];
  });
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

/** Outcomes are written in small groups as answers arrive: at most this many wait … */
const FLUSH_AFTER_COUNT = 50;
/** … or this long, so a worker that dies loses little knowledge of what the carrier already has. */
const FLUSH_AFTER_MS = 25;

/**
 * Calls the carrier for each claimed message (`concurrency` at a time) and writes the outcomes as
 * they arrive, in groups (FLUSH_AFTER_COUNT answers or FLUSH_AFTER_MS, whichever first), one
 * transaction at a time. What a worker killed mid-batch can leave SENDING after the carrier
 * accepted it is therefore bounded by the calls in flight plus one group being written.
 */
async function sendAndRecord(
  deps: ServiceDeps,
  provider: SmsProvider,
  claimed: readonly ClaimedMessage[],
  concurrency: number,
): Promise<Recorded[]> {
  const recorded: Recorded[] = [];
  let pending: { message: ClaimedMessage; outcome: SendOutcome }[] = [];
  let writing: Promise<void> = Promise.resolve();
  let failure: unknown;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return writing;
    const group = pending;
    pending = [];
    writing = writing
      .then(async () => {
        if (failure) return;
        recorded.push(
          ...(await recordOutcomes(
            deps,
            group.map((item) => item.message),
            group.map((item) => item.outcome),
            deps.now(),
          )),
        );
      })
      .catch((error: unknown) => {
        failure ??= error;
      });
    return writing;
  };
  await mapLimit(claimed, concurrency, async (message) => {
    const outcome = await provider
      .send({ messageId: message.id, to: message.phone, body: message.body, idempotencyKey: message.idempotency_key })
      .catch((error: unknown): SendOutcome => ({ status: 'retry', error: `provider error: ${String(error)}` }));
    pending.push({ message, outcome });
    if (pending.length >= FLUSH_AFTER_COUNT) void flush();
    else timer ??= setTimeout(() => void flush(), FLUSH_AFTER_MS);
  });
  await flush();
  // A failed write leaves its messages SENDING: the lease brings them back (same idempotency key).
  if (failure) throw failure;
  return recorded;
}

export interface DeliverOptions {
  /** The messages of the job(s); without them, whatever is due. */
  messageIds?: readonly string[];
  /** Stop starting new batches after this long (the rest is left to a follow-up job). */
  timeBudgetMs?: number;
  /** Carrier calls in flight at once (default SMS_CONCURRENCY). */
  concurrency?: number;
}

/**
 * Delivers messages: claim a batch, call the carrier for each (SMS_CONCURRENCY at a time),
 * record the outcomes, repeat. At most one carrier call per message per claim; a message
 * whose worker dies mid-call stays SENDING until its lease expires, then is sent again with
 * the same idempotency key (see README: delivery guarantees).
 */
export async function deliverMessages(
  deps: ServiceDeps,
  provider: SmsProvider,
  options: DeliverOptions = {},
): Promise<DeliveryReport> {
  const { config } = deps;
  const report = emptyReport();
  const started = Date.now();
  const budget = options.timeBudgetMs ?? 60_000;
  const batch = config.SMS_BATCH_SIZE;
  const chunks: Target[] = [];
  if (options.messageIds) {
    const ids = [...new Set(options.messageIds)];
    for (let start = 0; start < ids.length; start += batch) chunks.push({ ids: ids.slice(start, start + batch) });
  }
  const drain = !options.messageIds;
  let chunkIndex = 0;
  let target: Target | undefined = drain ? { due: true } : chunks[0];
  const campaigns = new Set<string>();

  while (target) {
    if (Date.now() - started > budget) {
      // Out of time: hand what is left to a fresh job rather than holding this one.
      const rest = drain ? [] : chunks.slice(chunkIndex).flatMap((chunk) => ('ids' in chunk ? [...chunk.ids] : []));
      await deps.db.transaction(async (tx) => {
        if (drain) await deps.jobs.send(jobDb(tx), 'sms.send', {});
        else await enqueueDelivery(deps.jobs, tx, rest, { batchSize: batch });
      });
      report.postponed += rest.length;
      break;
    }
    const claim = await claimMessages(deps, provider.name, target, batch);
    report.skipped += claim.skipped;
    report.deferred += claim.deferred;
    if (claim.claimed.length > 0) {
      const recorded = await sendAndRecord(
        deps,
        provider,
        claim.claimed,
        options.concurrency ?? config.SMS_CONCURRENCY,
      );
      for (const row of recorded) {
        if (row.status === 'SENT') report.sent += 1;
        else if (row.status === 'FAILED') report.failed += 1;
        else report.retrying += 1;
        if (row.campaign_id) campaigns.add(row.campaign_id);
      }
    }
    if (claim.waitMs > 0) {
      // Rate limit reached: wait for the window (bounded by the time budget), then try again.
      await new Promise((resolve) => setTimeout(resolve, claim.waitMs));
      continue;
    }
    const handled = claim.claimed.length + claim.skipped + claim.deferred;
    // Keep claiming this chunk while the rate limit cut it short; a drain keeps going while
    // batches come back full.
    if ((claim.limited && handled > 0) || (drain && handled === batch)) continue;
    chunkIndex += 1;
    target = drain ? undefined : chunks[chunkIndex];
  }
  if (campaigns.size > 0) await completeFinishedCampaigns(deps.db, deps.jobs, deps.now(), [...campaigns]);
  return report;
}

export interface RecoveryReport {
  /** SENDING messages whose lease expired (their worker died), queued again. */
  requeued: number;
  /** Due messages no pending job covered, handed to a new job. */
  orphaned: number;
  campaignsCompleted: number;
}

/**
 * The worker's periodic safety net: messages left SENDING by a worker that died go back to
 * QUEUED (same idempotency key) with a job; due messages with no delivery job at all get one;
 * RUNNING campaigns whose messages are all final are completed.
 */
export async function recoverMessages(deps: ServiceDeps): Promise<RecoveryReport> {
  const now = deps.now();
  const stale = new Date(now.getTime() - deps.config.SMS_SENDING_LEASE);
  const requeued = await deps.db.transaction(async (tx) => {
    const rows = await tx.execute<{ id: string; type: MessageType }>(sql`
      with stale as (
        select id from message_queue
         where status = 'SENDING' and scheduled_for <= ${at(stale)}
         order by scheduled_for limit 5000
           for update skip locked
      )
      update message_queue m
         set status = 'QUEUED', scheduled_for = ${at(now)}, updated_at = ${at(now)},
             last_error = 'delivery interrupted (its worker stopped mid-send); sending again with the same idempotency key'
        from stale where m.id = stale.id
      returning m.id, m.type`);
    await enqueueDelivery(
      deps.jobs,
      tx,
      rows.map((row) => row.id),
      { batchSize: deps.config.SMS_BATCH_SIZE },
    );
    return rows.length;
  });
  const orphaned = await deps.db.transaction(async (tx) => {
    // Due for a while (twice the lease) and no delivery job waiting to run: whatever was meant to
    // deliver them is lost (a job of a dead worker, or a message written without a job). Jobs in
    // hand are not counted: a live worker claims its messages the moment it takes a job.
    const overdue = new Date(now.getTime() - Math.max(2 * deps.config.SMS_SENDING_LEASE, 4_000));
    const [state] = await tx.execute<{ pending: boolean; due: number }>(sql`
      select exists (select 1 from pgboss.job
                      where name = ${SEND_JOB} and state in ('created', 'retry') and start_after <= now()) as pending,
             (select count(*)::int from (select 1 from message_queue
                                          where status = 'QUEUED' and scheduled_for <= ${at(overdue)}
                                          limit 50000) due) as due`);
    if (!state || state.pending || state.due === 0) return 0;
    const jobs = Math.min(50, Math.ceil(state.due / deps.config.SMS_BATCH_SIZE));
    for (let i = 0; i < jobs; i++)
      await deps.jobs.send(jobDb(tx), 'sms.send', {}, { priority: priorityOf('CAMPAIGN') });
    return state.due;
  });
  const campaignsCompleted = await deps.db.transaction((tx) => completeFinishedCampaigns(tx, deps.jobs, now));
  return { requeued, orphaned, campaignsCompleted };
}
