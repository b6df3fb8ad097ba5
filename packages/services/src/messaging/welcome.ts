import type { Executor } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import { type SQL, sql } from 'drizzle-orm';
import { enqueueDelivery } from '../jobs/queue.ts';
import { priorityOf, SKIPPED_WITHDRAWN } from './policy.ts';
import { renderStoredSql, TEMPLATE_VARIABLES } from './template-language.ts';

/**
 * The welcome reaction to recorded events (`src`: entity_type, entity_id, data, changes,
 * occurred_at), as CTEs whose last, `name`, returns the messages written. A customer event whose
 * customer is (or just became) a CUSTOMER welcomes them once per customer ever: marks
 * `welcomed_at` and writes the WELCOME message (SKIPPED when they withdrew consent). Whether one is actually written is decided
 * against the row: status CUSTOMER, not deleted, and never welcomed before.
 */
export function welcomeCtes(name: string, src: SQL): SQL {
  const welcomed = sql.raw(`${name}_customers`);
  const created = sql.raw(`${name}_created`);
  const body = renderStoredSql(sql`t.body`, TEMPLATE_VARIABLES.WELCOME, {
    firstName: sql`w.first_name`,
    lastName: sql`w.last_name`,
    level: sql`l.name`,
  });
  // Most customer events find the customer welcomed already and write nothing.
  return sql`
    ${welcomed} as (
      update customers c set welcomed_at = e.occurred_at
        from (select entity_id, min(occurred_at) as occurred_at from ${src}
               where entity_type = 'customer'
                 and (data->>'status' = 'CUSTOMER' or changes->'status'->>'after' = 'CUSTOMER')
               group by entity_id) e
       where c.id = e.entity_id and c.welcomed_at is null and c.status = 'CUSTOMER' and c.deleted_at is null
      returning c.id, c.first_name, c.last_name, c.phone, c.welcomed_at, c.sms_opt_in),
    -- A customer created welcomed (a bulk import sets welcomed_at with the row rather than update
    -- a thousand new rows again): their creation event still writes the message.
    ${created} as (
      select c.id, c.first_name, c.last_name, c.phone, c.welcomed_at, c.sms_opt_in
        from ${src} s
        join customers c on c.id = s.entity_id
       where s.type = 'customer.created' and c.welcomed_at = s.occurred_at and c.status = 'CUSTOMER'
         and c.deleted_at is null),
    ${sql.raw(name)} as (
      insert into message_queue (customer_id, phone, body, type, status, last_error, scheduled_for, idempotency_key,
                                 created_at, updated_at)
      select w.id, w.phone, ${body}, 'WELCOME', case when w.sms_opt_in then 'QUEUED' else 'SKIPPED' end::message_status,
             case when not w.sms_opt_in then ${SKIPPED_WITHDRAWN} end, w.welcomed_at, 'welcome:' || w.id, w.welcomed_at,
             w.welcomed_at
        from (select * from ${welcomed} union all select * from ${created}) w
        cross join message_templates t
        left join customer_rfm r on r.customer_id = w.id
        left join customer_levels l on l.id = r.level_id
       where t.type = 'WELCOME'
      on conflict (idempotency_key) do nothing
      returning id)`;
}

/** Queues delivery of welcome messages through `tx`, ahead of marketing. */
export const enqueueWelcomeMessages = (jobs: JobQueue, tx: Executor, ids: readonly string[]): Promise<void> =>
  enqueueDelivery(jobs, tx, ids, { batchSize: 500, priority: priorityOf('WELCOME') });
