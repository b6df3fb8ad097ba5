import { REASON, ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName, schema } from '@touch-crm/db';
import { generateDataset } from '@touch-crm/db/dataset';
import { eq, sql } from 'drizzle-orm';
import { hashPassword } from '../auth/passwords.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, ForbiddenError } from '../errors.ts';
import { scoreRfm } from '../loyalty/rfm.ts';

export const DEMO_PASSWORD = 'Demo1234!';
export const DEMO_USERS = [
  { username: 'demo.manager', fullName: 'Morgan Manager', role: ROLE_NAMES.salesManager },
  { username: 'demo.rep1', fullName: 'Riley Rep', role: ROLE_NAMES.salesRep },
  { username: 'demo.rep2', fullName: 'Sam Seller', role: ROLE_NAMES.salesRep },
  { username: 'demo.rep3', fullName: 'Jordan Closer', role: ROLE_NAMES.salesRep },
] as const;

export interface DemoResult {
  users: { username: string; password: string; role: string }[];
  customers: number;
  orders: number;
  scored: number;
}

/**
 * Fills an empty database with a believable company (see the README): users, customers, a year
 * of orders, promotions of every kind, projects and tasks in every state, work logs, a finished
 * and a scheduled campaign, then RFM scoring. Refuses in production and when demo data exists.
 */
export async function seedDemoData(
  deps: ServiceDeps,
  options: { customers: number; progress?: (step: string) => void },
): Promise<DemoResult> {
  const progress = options.progress ?? (() => {});
  if (deps.config.NODE_ENV === 'production')
    throw new ForbiddenError('Demo data is refused when NODE_ENV=production', REASON.DEMO_DATA_REFUSED);
  const [existing] = await deps.db
    .select({ id: schema.users.id })
    .from(schema.users)
    .where(eq(schema.users.username, DEMO_USERS[0].username));
  if (existing)
    throw new ConflictError(REASON.DEMO_DATA_PRESENT, 'Demo data is already there (user demo.manager exists)');

  const roles = await roleIdsByName(deps.db);
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  // One transaction: a failure leaves nothing behind, so the next run starts clean.
  await deps.db.$client.begin(async (tx) => {
    progress('users');
    const users = await tx<{ id: string; username: string }[]>`
      insert into users (username, full_name, email, password_hash, role_id)
      select * from unnest(${DEMO_USERS.map((u) => u.username)}::text[], ${DEMO_USERS.map((u) => u.fullName)}::text[],
                           ${DEMO_USERS.map((u) => `${u.username}@example.com`)}::text[],
                           ${DEMO_USERS.map(() => passwordHash)}::text[],
                           ${DEMO_USERS.map((u) => roles[u.role] as string)}::uuid[])
      returning id, username`;
    const repIds = users.filter((user) => user.username.startsWith('demo.rep')).map((user) => user.id);
    const manager = users.find((user) => user.username === 'demo.manager')?.id as string;

    progress(`${options.customers} customers and a year of orders`);
    await generateDataset(tx, repIds, { customers: options.customers, ordersPerCustomer: 4, products: 40 });

    progress('promotions, projects, tasks and work logs');
    await tx`
      insert into promotions (name, code, description, discount_type, discount_value, condition_type,
                              min_purchase_amount, customer_level_id, validity_days, created_by_id)
      values ('Welcome 10%', 'WELCOME10', 'Ten percent off the next order after the first', 'PERCENTAGE', 10,
              'FIRST_PURCHASE', null, null, 60, ${manager}),
             ('Big basket', 'BIG5', '$5 off after an order of $50 or more', 'FIXED_AMOUNT', 500, 'MIN_PURCHASE',
              5000, null, 30, ${manager}),
             ('Gold thank-you', 'GOLD15', 'Fifteen percent off for Gold customers', 'PERCENTAGE', 15, 'CUSTOMER_LEVEL',
              null, (select id from customer_levels where name = 'Gold'), 90, ${manager}),
             ('Referral reward', 'REFER20', '$20 off when a referred friend orders', 'FIXED_AMOUNT', 2000, 'REFERRAL',
              null, null, 90, ${manager}),
             ('VIP courtesy', 'VIP25', 'Given by hand to special customers', 'PERCENTAGE', 25, 'MANUAL',
              null, null, 30, ${manager})
      on conflict (code) do nothing`;
    await tx`
      insert into projects (name, description, customer_id, owner_id, status, start_date, due_date)
      select 'Account plan ' || c.last_name, 'Grow the account over the next quarter', c.id, c.owner_id,
             (array['PLANNED','ACTIVE','ON_HOLD','COMPLETED','CANCELLED'])[1 + (n % 5)]::project_status,
             current_date - (n % 60), current_date + 30 - (n % 60)
        from (select id, owner_id, last_name, (row_number() over (order by created_at))::int as n
                from customers where status = 'CUSTOMER' limit 40) c`;
    await tx`
      insert into tasks (title, project_id, customer_id, assignee_id, created_by_id, status, priority, due_at,
                         completed_at)
      select (array['Call to follow up','Send the proposal','Book a tasting','Prepare the quote'])[1 + n % 4]
               || ' (' || p.name || ')',
             p.id, p.customer_id, p.owner_id, p.owner_id,
             (array['TODO','IN_PROGRESS','DONE','CANCELLED'])[1 + n % 4]::task_status,
             (array['LOW','MEDIUM','HIGH','URGENT'])[1 + n % 4]::task_priority,
             now() + ((n % 21) - 7) * interval '1 day',
             case when n % 4 in (2, 3) then now() - (n % 5) * interval '1 day' end
        from (select p.*, (row_number() over (order by p.id, k))::int as n
                from projects p cross join generate_series(1, 4) k) p`;
    await tx`
      insert into work_logs (customer_id, user_id, type, subject, content, occurred_at, duration_minutes)
      select c.id, c.owner_id,
             (array['CALL','MEETING','EMAIL','NOTE','VISIT'])[1 + n % 5]::work_log_type,
             (array['Checked in about the last order','Tasting at the shop','Sent the new catalogue',
                    'Prefers oat milk','Visited the office'])[1 + n % 5],
             null, now() - (n % 90) * interval '1 day' - (n % 480) * interval '1 minute', 5 + n % 55
        from (select id, owner_id, (row_number() over (order by id))::int as n from customers
               where status in ('CUSTOMER', 'PROSPECT') limit ${Math.max(50, Math.floor(options.customers / 5))}) c`;
    const [finished] = await tx<{ id: string }[]>`
      insert into campaigns (name, message, audience, status, started_at, completed_at, created_by_id)
      values ('Spring sale', 'Hi {{firstName}}, spring blends are in: 20% off this week.', '{"statuses":["CUSTOMER"]}',
              'COMPLETED', now() - interval '60 days', now() - interval '60 days', ${manager})
      returning id`;
    await tx`
      insert into message_queue (customer_id, phone, body, type, campaign_id, status, attempts, provider,
                                 scheduled_for, sent_at, idempotency_key, created_at)
      select c.id, c.phone, 'Hi ' || c.first_name || ', spring blends are in: 20% off this week.', 'CAMPAIGN',
             ${finished?.id as string}, 'SENT', 1, 'console', now() - interval '60 days', now() - interval '60 days',
             'campaign:' || ${finished?.id as string} || ':' || c.id, now() - interval '60 days'
        from customers c where c.status = 'CUSTOMER' and c.sms_opt_in limit 200`;
    await tx`update campaigns set audience_count = (select count(*) from message_queue where campaign_id = ${finished?.id as string})
              where id = ${finished?.id as string}`;
    await tx`
      insert into campaigns (name, message, audience, status, scheduled_at, created_by_id)
      values ('Holiday offer', '{{firstName}}, our holiday gift boxes are here. Reply STOP to opt out.',
              '{"statuses":["CUSTOMER"],"segments":["Champions","Loyal"]}', 'SCHEDULED', now() + interval '7 days',
              ${manager})`;
  });
  await deps.db.$client`analyze`;
  progress('RFM scores, segments and levels');
  const rfm = await scoreRfm(deps, deps.now());
  const [counts] = await deps.db.execute<{ customers: number; orders: number }>(
    sql`select (select count(*)::int from customers) as customers, (select count(*)::int from orders) as orders`,
  );
  return {
    users: DEMO_USERS.map((user) => ({ username: user.username, password: DEMO_PASSWORD, role: user.role })),
    customers: counts?.customers ?? 0,
    orders: counts?.orders ?? 0,
    scored: rfm.scored,
  };
}
