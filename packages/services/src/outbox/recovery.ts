import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';

/**
 * Whether a job of `name` is waiting to run now. Jobs in hand are not counted: a live worker
 * claims its items the moment it takes a job, so due items with no waiting job are left over
 * (by a dead worker, a statement that could not send a job, or a script with no queue).
 */
export async function hasWaitingJob(tx: Executor, name: string): Promise<boolean> {
  const [pending] = await tx.execute<{ any: boolean }>(sql`
    select exists (select 1 from pgboss.job
                    where name = ${name} and state in ('created', 'retry') and start_after <= now()) as any`);
  return pending?.any ?? false;
}
