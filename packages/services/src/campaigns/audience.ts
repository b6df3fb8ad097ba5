import type { CampaignAudience } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { type SQL, sql } from 'drizzle-orm';
import { uuids } from '../lib/sql.ts';

const textArray = (values: readonly string[]) =>
  sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;

/** The audience filter as a condition on `customers c` (live customers only). */
export function audienceWhere(audience: CampaignAudience): SQL {
  const conditions: SQL[] = [sql`c.deleted_at is null`];
  if (audience.statuses) conditions.push(sql`c.status::text = any(${textArray(audience.statuses)})`);
  if (audience.levelIds)
    conditions.push(
      sql`exists (select 1 from customer_rfm r where r.customer_id = c.id and r.level_id = any(${uuids(audience.levelIds)}))`,
    );
  if (audience.ownerIds) conditions.push(sql`c.owner_id = any(${uuids(audience.ownerIds)})`);
  if (audience.segments)
    conditions.push(
      sql`exists (select 1 from customer_rfm r where r.customer_id = c.id and r.segment = any(${textArray(audience.segments)}))`,
    );
  if (audience.lastOrderBefore) conditions.push(sql`c.last_order_at < ${audience.lastOrderBefore}::timestamptz`);
  if (audience.lastOrderAfter) conditions.push(sql`c.last_order_at > ${audience.lastOrderAfter}::timestamptz`);
  if (audience.minTotalSpent !== undefined) conditions.push(sql`c.total_spent >= ${audience.minTotalSpent}`);
  if (audience.birthdayMonth !== undefined)
    conditions.push(sql`extract(month from c.birthday) = ${audience.birthdayMonth}::int`);
  return sql.join(conditions, sql` and `);
}

export async function audienceSize(executor: Executor, audience: CampaignAudience): Promise<number> {
  const [row] = await executor.execute<{ n: number }>(
    sql`select count(*)::int as n from customers c where ${audienceWhere(audience)}`,
  );
  return row?.n ?? 0;
}
