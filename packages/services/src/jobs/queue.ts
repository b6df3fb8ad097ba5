import type { Executor } from '@touch-crm/db';
import { fromDrizzle, type JobDb, type JobQueue } from '@touch-crm/jobs';
import { sql } from 'drizzle-orm';

/** pg-boss's database adapter over a Drizzle transaction (or the pool): jobs commit with it. */
export const jobDb = (executor: Executor): JobDb => fromDrizzle(executor, sql);

/**
 * Queues delivery of the given messages: one `sms.send` job per `batchSize` ids, written
 * through `tx` so the jobs exist exactly when the messages do.
 */
export async function enqueueDelivery(
  queue: JobQueue,
  tx: Executor,
  ids: readonly string[],
  options: { batchSize: number; startAfter?: Date; priority?: number },
): Promise<void> {
  if (ids.length === 0) return;
  const jobs = [];
  for (let start = 0; start < ids.length; start += options.batchSize)
    jobs.push({
      payload: { messageIds: ids.slice(start, start + options.batchSize) },
      startAfter: options.startAfter,
      priority: options.priority,
    });
  await queue.sendMany(jobDb(tx), 'sms.send', jobs);
}
