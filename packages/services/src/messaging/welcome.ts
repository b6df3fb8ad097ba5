import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import { enqueueDelivery, registeredJobQueue } from '../jobs/queue.ts';
import { at, priorityOf, uuids } from './policy.ts';
import { renderStoredSql, TEMPLATE_VARIABLES } from './templates.ts';

/** What the welcome reaction needs from a recorded event. */
export interface RecordedCustomerEvent {
  entityType: string;
  entityId: string;
  data: Record<string, unknown>;
  changes?: Record<string, { before: unknown; after: unknown }>;
}

/**
 * A customer event that may call for the welcome message: the customer as recorded is (or
 * just became) a CUSTOMER. Whether one is actually sent is decided against the row: status
 * CUSTOMER, not deleted, and never welcomed before.
 */
export const callsForWelcome = (event: RecordedCustomerEvent) =>
  event.entityType === 'customer' && (event.data?.status === 'CUSTOMER' || event.changes?.status?.after === 'CUSTOMER');

/**
 * Welcomes the given customers, once per customer ever, in the caller's transaction: marks
 * `welcomed_at`, writes the WELCOME message and its delivery job. A rolled-back creation
 * therefore leaves no message and no job; a committed one always has both.
 */
export async function queueWelcomeMessages(tx: Executor, customerIds: readonly string[], now: Date): Promise<string[]> {
  if (customerIds.length === 0) return [];
  // One statement: most customer events find the customer welcomed already and write nothing.
  const body = renderStoredSql(sql`t.body`, TEMPLATE_VARIABLES.WELCOME, {
    firstName: sql`w.first_name`,
    lastName: sql`w.last_name`,
    level: sql`l.name`,
  });
  const rows = await tx.execute<{ id: string }>(sql`
    with w as (
      update customers c set welcomed_at = ${at(now)}
       where c.id = any(${uuids([...new Set(customerIds)])}) and c.welcomed_at is null
         and c.status = 'CUSTOMER' and c.deleted_at is null
      returning c.id, c.first_name, c.last_name, c.phone, c.level_id
    )
    insert into message_queue (customer_id, phone, body, type, status, scheduled_for, idempotency_key, created_at, updated_at)
    select w.id, w.phone, ${body}, 'WELCOME', 'QUEUED', ${at(now)}, 'welcome:' || w.id, ${at(now)}, ${at(now)}
      from w
      cross join message_templates t
      left join customer_levels l on l.id = w.level_id
     where t.type = 'WELCOME'
    on conflict (idempotency_key) do nothing
    returning id`);
  const ids = rows.map((row) => row.id);
  // Without a registered queue (a script outside the API and worker) the message is still
  // written; the worker's recovery pass queues delivery of messages no job covers.
  await enqueueDelivery(registeredJobQueue(), tx, ids, { batchSize: 500, priority: priorityOf('WELCOME') });
  return ids;
}
