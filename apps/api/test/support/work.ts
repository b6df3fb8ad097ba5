import { schema } from '@touch-crm/db';
import { jobActor, recordEvent, userActor } from '@touch-crm/services';
import { createTeam, createUser, insertCustomer, type RoleName, type TestApi, unique } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';

export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/**
 * The team (rep, otherRep, manager, admin), one customer each for the reps, and a user
 * whose role holds no permission at all (for the 403 cases).
 */
export async function workFixture(api: TestApi) {
  const team = await createTeam(api.deps);
  const [repCustomer, otherCustomer] = await Promise.all([
    insertCustomer(api.deps, team.rep.id, { firstName: 'Rita' }),
    insertCustomer(api.deps, team.otherRep.id, { firstName: 'Otto' }),
  ]);
  const roleName = unique('Nobody');
  await api.deps.db.insert(schema.roles).values({ name: roleName, description: 'no permissions' });
  const nobody = await createUser(api.deps, { role: roleName as RoleName });
  return { ...team, nobody, repCustomer, otherCustomer };
}

/** Row counts of everything these endpoints write, to prove a refused request wrote nothing. */
export async function workRowCounts(api: TestApi) {
  const [row] = await api.deps.db.execute<Record<string, number>>(sql`
    select (select count(*) from projects)::int as projects,
           (select count(*) from tasks)::int as tasks,
           (select count(*) from work_logs)::int as work_logs,
           (select count(*) from domain_events)::int as domain_events,
           (select count(*) from audit_log)::int as audit_log`);
  return row;
}

/**
 * An order placed for a customer, written the way the order service records it: the row and
 * its `order.placed` event (which puts it on the timeline) in one transaction.
 */
export async function placeOrder(api: TestApi, customerId: string, byUserId: string | null, total = 4_200) {
  return api.deps.db.transaction(async (tx) => {
    const [order] = await tx
      .insert(schema.orders)
      .values({ customerId, createdById: byUserId, currency: 'USD', subtotal: total, total, status: 'PAID' })
      .returning();
    if (!order) throw new Error('order insert failed');
    await recordEvent(
      { tx, jobs: api.deps.jobs },
      {
        type: 'order.placed',
        entityType: 'order',
        entityId: order.id,
        actor: byUserId ? userActor({ id: byUserId }) : jobActor('test'),
        data: { id: order.id, number: order.number, total },
        customerId,
        timeline: { subject: `Order #${order.number} placed`, content: `Total ${(total / 100).toFixed(2)} USD` },
        occurredAt: api.deps.now(),
      },
    );
    return order;
  });
}
