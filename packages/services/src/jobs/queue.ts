import type { Executor } from '@touch-crm/db';
import { fromDrizzle, type JobDb, type JobQueue } from '@touch-crm/jobs';
import { sql } from 'drizzle-orm';

/**
 * The process's job queue, registered once at start-up by the API and the worker.
 *
 * Services get it as `deps.jobs`; the one exception is `recordEvents(tx, events)`, whose
 * signature every service already calls without deps: the reactions it runs in the caller's
 * transaction (the welcome message) read the queue from here instead of changing that
 * signature. Sending only uses pg-boss to build its INSERT; the statement runs on the
 * caller's transaction, so whichever registered instance builds it, the job commits or
 * vanishes with that transaction.
 */
let registered: JobQueue | undefined;

export function registerJobQueue(queue: JobQueue | undefined): void {
  registered = queue;
}

export const registeredJobQueue = (): JobQueue | undefined => registered;

/** pg-boss's database adapter over a Drizzle transaction (or the pool): jobs commit with it. */
export const jobDb = (executor: Executor): JobDb => fromDrizzle(executor, sql);

/**
 * Queues delivery of the given messages: one `sms.send` job per `batchSize` ids, written
 * through `tx` so the jobs exist exactly when the messages do.
 */
export async function enqueueDelivery(
  queue: JobQueue | undefined,
  tx: Executor,
  ids: readonly string[],
  options: { batchSize: number; startAfter?: Date; priority?: number },
): Promise<void> {
  if (!queue || ids.length === 0) return;
  const jobs = [];
  for (let start = 0; start < ids.length; start += options.batchSize)
    jobs.push({
      payload: { messageIds: ids.slice(start, start + options.batchSize) },
      startAfter: options.startAfter,
      priority: options.priority,
    });
  await queue.sendMany(jobDb(tx), 'sms.send', jobs);
}
