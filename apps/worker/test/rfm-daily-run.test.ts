import { schema } from '@touch-crm/db';
import { type ServiceDeps, scoreRfm } from '@touch-crm/services';
import { createTeam, insertCustomer, rfmRowsById, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { customers, customerRfm, orders } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const DAY = 86_400_000;
const t0 = new Date('2026-06-01T02:00:00Z');
const t1 = new Date(t0.getTime() + 3 * DAY);
const deps = (now: Date): ServiceDeps => ({ ...api.deps, now: () => now });

async function customerWith(firstName: string, orderDaysAgo: number[], total = 10_00) {
  const customer = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', firstName });
  if (orderDaysAgo.length > 0)
    await api.deps.db.insert(orders).values(
      orderDaysAgo.map((daysAgo) => ({
        customerId: customer.id,
        status: 'PAID' as const,
        currency: 'USD',
        subtotal: total,
        total,
        createdAt: new Date(t0.getTime() - daysAgo * DAY),
      })),
    );
  return customer.id;
}

const kept = () => rfmRowsById(api.deps);

describe('RFM daily run: re-measures only the customers whose orders moved', () => {
  const ids: Record<string, string> = {};
  const id = (name: string) => ids[name] as string;

  beforeAll(async () => {
    const window = api.deps.config.RFM_WINDOW_DAYS;
    // A spread of buyers, so that quintiles have something to cut.
    for (let i = 1; i <= 8; i++) ids[`steady${i}`] = await customerWith(`Steady${i}`, [i, 10 * i, 20 * i], i * 10_00);
    ids.buyer = await customerWith('Buyer', [40]);
    ids.canceller = await customerWith('Canceller', [5, 6]);
    ids.shrinker = await customerWith('Shrinker', [7, 8, 9]);
    ids.giver = await customerWith('Giver', [11, 12]);
    ids.taker = await customerWith('Taker', [13]);
    ids.leaver = await customerWith('Leaver', [14, 15]);
    ids.returner = await customerWith('Returner', [16]);
    // One order leaves the window between the runs, another is dated after the first run.
    ids.ageing = await customerWith('Ageing', [window - 1, 30]);
    ids.early = await customerWith('Early', [50, -2]);
    await api.deps.db
      .update(customers)
      .set({ deletedAt: t0 })
      .where(eq(customers.id, id('returner')));

    const first = await scoreRfm(deps(t0), t0);
    expect(first.scored).toBeGreaterThan(10);
  });

  it('follows new, cancelled, deleted and moved orders, deleted and restored customers, the window and dated orders', async () => {
    const shrinkerOrders = await api.deps.db
      .select()
      .from(orders)
      .where(eq(orders.customerId, id('shrinker')));
    await api.deps.db.insert(orders).values({
      customerId: id('buyer'),
      status: 'PAID',
      currency: 'USD',
      subtotal: 500_00,
      total: 500_00,
      createdAt: t1,
    });
    await api.deps.db
      .update(orders)
      .set({ status: 'CANCELLED' })
      .where(eq(orders.customerId, id('canceller')));
    await api.deps.db.delete(orders).where(eq(orders.id, shrinkerOrders[0]?.id as string));
    await api.deps.db
      .update(orders)
      .set({ customerId: id('taker') })
      .where(eq(orders.customerId, id('giver')));
    await api.deps.db
      .update(customers)
      .set({ deletedAt: t1 })
      .where(eq(customers.id, id('leaver')));
    await api.deps.db
      .update(customers)
      .set({ deletedAt: null })
      .where(eq(customers.id, id('returner')));

    const daily = await scoreRfm(deps(t1), t1);
    expect(daily.cleared).toBe(2); // the canceller and the giver
    const afterDaily = await kept();
    expect(afterDaily[id('buyer')]).toMatchObject({ lastOrderAt: t1, windowOrders: 2, windowTotal: 510_00 });
    expect(afterDaily[id('shrinker')]).toMatchObject({ windowOrders: 2 });
    expect(afterDaily[id('taker')]).toMatchObject({ windowOrders: 3 });
    expect(afterDaily[id('returner')]).toMatchObject({ windowOrders: 1 });
    expect(afterDaily[id('ageing')]).toMatchObject({ windowOrders: 1 });
    expect(afterDaily[id('early')]).toMatchObject({ windowOrders: 2, lastOrderAt: new Date(t0.getTime() + 2 * DAY) });
    expect(await api.deps.db.execute(sql`select 1 from rfm_pending`)).toHaveLength(0);

    // Measuring every order from scratch at the same time finds nothing to change.
    await api.deps.db.execute(sql`delete from rfm_state`);
    const full = await scoreRfm(deps(t1), t1);
    expect(full).toMatchObject({ changed: 0, levelChanges: 0, cleared: 0 });
    expect(await kept()).toEqual(afterDaily);
  });

  it('scores from the kept measures, and measures everyone again when the window or the clock changes', async () => {
    // A kept measure no order has moved is what the next run scores from.
    await api.deps.db
      .update(customerRfm)
      .set({ windowOrders: 99 })
      .where(eq(customerRfm.customerId, id('steady1')));
    await scoreRfm(deps(t1), t1);
    expect((await kept())[id('steady1')]).toMatchObject({ windowOrders: 99 });
    // A run dated before the kept measures measures from every order.
    const earlier = new Date(t1.getTime() - DAY);
    await scoreRfm(deps(earlier), earlier);
    expect((await kept())[id('steady1')]).toMatchObject({ windowOrders: 3 });
    // So does a run over another window.
    await api.deps.db
      .update(customerRfm)
      .set({ windowOrders: 99 })
      .where(eq(customerRfm.customerId, id('steady1')));
    const narrow = { ...deps(t1), config: { ...api.deps.config, RFM_WINDOW_DAYS: 5 } };
    await scoreRfm(narrow, t1);
    expect((await kept())[id('steady1')]).toMatchObject({ windowOrders: 1 });
  });

  it('measures everyone again after the orders were truncated', async () => {
    await scoreRfm(deps(t1), t1);
    await api.deps.db.execute(sql`truncate orders cascade`);
    expect(await api.deps.db.execute(sql`select 1 from rfm_state`)).toHaveLength(0);
    const run = await scoreRfm(deps(t1), t1);
    expect(run.scored).toBe(0);
    // Every live customer's scores are cleared; a deleted customer is left as it was, as always.
    const scored = Object.entries(await kept()).filter(([, row]) => row.score !== null);
    expect(scored.map(([customerId]) => customerId)).toEqual([id('leaver')]);
  });
});
