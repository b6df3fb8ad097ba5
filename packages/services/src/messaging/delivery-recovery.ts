import type { MessageType } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { enqueueDelivery, jobDb } from '../jobs/queue.ts';
import { at } from '../lib/sql.ts';
import { hasWaitingJob } from '../outbox/recovery.ts';
import { completeFinishedCampaigns, SEND_JOB } from './delivery-record.ts';
import { priorityOf } from './policy.ts';

const INTERRUPTED = 'delivery interrupted (its worker stopped mid-send); sending again with the same idempotency key';

/**
 * A worker process's heartbeat, in database time (tests may move the application's clock). Beaten
 * every WORKER_HEARTBEAT_TIMEOUT / 5; the row goes when the worker stops.
 */
export async function beatHeartbeat(deps: ServiceDeps, worker: { id: string; host: string; pid: number }) {
  await deps.db.execute(sql`
    insert into worker_heartbeats (id, host, pid) values (${worker.id}::uuid, ${worker.host}, ${worker.pid})
    on conflict (id) do update set beat_at = now()`);
}

export async function removeHeartbeat(deps: ServiceDeps, workerId: string) {
  await deps.db.execute(sql`delete from worker_heartbeats where id = ${workerId}::uuid`);
}

/**
 * Messages held SENDING by a worker that is gone (no heartbeat within WORKER_HEARTBEAT_TIMEOUT)
 * go back to QUEUED with a job, within seconds instead of after the lease; the stale heartbeats
 * are removed. A heartbeat counts from the database's own start at the earliest, so the workers
 * that merely could not beat while PostgreSQL was down keep their claims. When a worker is found
 * dead, the messages its fetched jobs had not claimed yet are due with no job to run them (pg-boss
 * expires those jobs only after minutes): jobs that deliver whatever is due pick them up now.
 */
export async function releaseDeadWorkers(deps: ServiceDeps): Promise<number> {
  const timeout = `${deps.config.WORKER_HEARTBEAT_TIMEOUT} milliseconds`;
  return deps.db.transaction(async (tx) => {
    const dead = await tx.execute<{ id: string }>(sql`
      delete from worker_heartbeats
       where greatest(beat_at, pg_postmaster_start_time()) < now() - ${timeout}::interval
      returning id`);
    const rows = await tx.execute<{ id: string }>(sql`
      with orphaned as (
        select m.id from message_queue m
         where m.status = 'SENDING' and m.worker_id is not null
           and not exists (select 1 from worker_heartbeats h where h.id = m.worker_id)
         limit 5000
           for update of m skip locked
      )
      update message_queue m
         set status = 'QUEUED', scheduled_for = now(), worker_id = null, updated_at = now(), last_error = ${INTERRUPTED}
        from orphaned where m.id = orphaned.id
      returning m.id`);
    await enqueueDelivery(
      deps.jobs,
      tx,
      rows.map((row) => row.id),
      { batchSize: deps.config.SMS_BATCH_SIZE },
    );
    if (dead.length > 0) await sendDrainJobs(deps, tx, deps.now());
    return rows.length;
  });
}

/** One job per SMS_BATCH_SIZE messages due by `before` (at most 50), each delivering whatever is due. */
async function sendDrainJobs(deps: ServiceDeps, tx: Executor, before: Date): Promise<number> {
  const [due] = await tx.execute<{ n: number }>(sql`
    select count(*)::int as n from (select 1 from message_queue
                                     where status = 'QUEUED' and scheduled_for <= ${at(before)} limit 50000) due`);
  const count = due?.n ?? 0;
  const jobs = Math.min(50, Math.ceil(count / deps.config.SMS_BATCH_SIZE));
  for (let i = 0; i < jobs; i++) await deps.jobs.send(jobDb(tx), 'sms.send', {}, { priority: priorityOf('CAMPAIGN') });
  return count;
}

export interface RecoveryReport {
  /** SENDING messages whose claim outlived its lease, queued again. */
  requeued: number;
  /** Due messages no pending job covered, handed to a new job. */
  orphaned: number;
  campaignsCompleted: number;
}

/**
 * The worker's periodic safety net: a SENDING message claimed outside a worker (no heartbeat
 * vouches for it) more than SMS_SENDING_LEASE ago, or by anyone more than three leases ago (a
 * claim held that long is wedged), goes back to QUEUED with the same idempotency key and a job;
 * due messages with no delivery job at all get one; RUNNING campaigns whose messages are all
 * final are completed.
 */
export async function recoverMessages(deps: ServiceDeps): Promise<RecoveryReport> {
  const now = deps.now();
  const lease = deps.config.SMS_SENDING_LEASE;
  const stale = new Date(now.getTime() - lease);
  const wedged = new Date(now.getTime() - 3 * lease);
  const requeued = await deps.db.transaction(async (tx) => {
    const rows = await tx.execute<{ id: string; type: MessageType }>(sql`
      with stale as (
        select id from message_queue
         where status = 'SENDING'
           and ((worker_id is null and scheduled_for <= ${at(stale)}) or scheduled_for <= ${at(wedged)})
         order by scheduled_for limit 5000
           for update skip locked
      )
      update message_queue m
         set status = 'QUEUED', scheduled_for = ${at(now)}, updated_at = ${at(now)}, worker_id = null,
             last_error = ${INTERRUPTED}
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
    // deliver them is lost (a job of a dead worker, or a message written without a job).
    const overdue = new Date(now.getTime() - Math.max(2 * lease, 4_000));
    return (await hasWaitingJob(tx, SEND_JOB)) ? 0 : sendDrainJobs(deps, tx, overdue);
  });
  const campaignsCompleted = await deps.db.transaction((tx) => completeFinishedCampaigns(tx, deps.jobs, now));
  return { requeued, orphaned, campaignsCompleted };
}
