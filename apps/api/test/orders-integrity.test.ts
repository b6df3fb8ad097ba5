import { schema } from '@touch-crm/db';
import {
  createTeam,
  insertCustomer,
  insertProduct,
  insertPromotion,
  startTestApi,
  type TestApi,
  waitFor,
} from '@touch-crm/test-utils';
import { count, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MISSING_ID, orderHelpers } from './support/orders.ts';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const { placeOrder, customerOf, holdings, earned, assignTo } = orderHelpers(() => api);

async function tableCounts() {
  const tables = {
    orders: schema.orders,
    orderItems: schema.orderItems,
    transactions: schema.transactions,
    customerPromotions: schema.customerPromotions,
    domainEvents: schema.domainEvents,
  };
  const entries = await Promise.all(
    Object.entries(tables).map(async ([name, table]) => {
      const [row] = await api.deps.db.select({ n: count() }).from(table);
      return [name, row?.n] as const;
    }),
  );
  return Object.fromEntries(entries);
}

describe('POST /orders: bad input is a 4xx, never a 500, and writes nothing', () => {
  it.each([
    [
      'an unknown product',
      (ids: Ids) => ({ items: [{ productId: MISSING_ID, quantity: 1 }], customerId: ids.customer }),
      400,
    ],
    [
      'an inactive product',
      (ids: Ids) => ({ items: [{ productId: ids.inactive, quantity: 1 }], customerId: ids.customer }),
      400,
    ],
    ['quantity 0', (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 0 }], customerId: ids.customer }), 400],
    [
      'quantity 10^9',
      (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 1e9 }], customerId: ids.customer }),
      400,
    ],
    [
      'a fractional quantity',
      (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 1.5 }], customerId: ids.customer }),
      400,
    ],
    ['no items', (ids: Ids) => ({ items: [], customerId: ids.customer }), 400],
    [
      'a malformed customer id',
      (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 1 }], customerId: 'c-1' }),
      400,
    ],
    [
      'a malformed product id',
      (ids: Ids) => ({ items: [{ productId: '1; drop table', quantity: 1 }], customerId: ids.customer }),
      400,
    ],
    [
      'a malformed promotion id',
      (ids: Ids) => ({
        items: [{ productId: ids.product, quantity: 1 }],
        customerId: ids.customer,
        customerPromotionId: 'x',
      }),
      400,
    ],
    [
      'an unknown payment method',
      (ids: Ids) => ({
        items: [{ productId: ids.product, quantity: 1 }],
        customerId: ids.customer,
        payment: { method: 'GOLD' },
      }),
      400,
    ],
    [
      'a foreign customer',
      (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 1 }], customerId: ids.foreign }),
      404,
    ],
    [
      'an unknown customer',
      (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 1 }], customerId: MISSING_ID }),
      404,
    ],
    [
      'a deleted customer',
      (ids: Ids) => ({ items: [{ productId: ids.product, quantity: 1 }], customerId: ids.deleted }),
      404,
    ],
    [
      'a total beyond exact integers',
      (ids: Ids) => ({
        items: Array(100).fill({ productId: ids.pricey, quantity: 100_000 }),
        customerId: ids.customer,
      }),
      400,
    ],
  ])('%s', async (_, body, status) => {
    await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE' });
    const ids: Ids = {
      customer: (await insertCustomer(api.deps, team.rep.id)).id,
      foreign: (await insertCustomer(api.deps, team.otherRep.id)).id,
      deleted: (await insertCustomer(api.deps, team.rep.id, { deletedAt: new Date() })).id,
      product: (await insertProduct(api.deps)).id,
      inactive: (await insertProduct(api.deps, { isActive: false })).id,
      pricey: (await insertProduct(api.deps, { unitPrice: 1_000_000_000_000 })).id,
    };
    const before = await tableCounts();
    const res = await placeOrder(team.rep, body(ids));
    expect(res.status).toBe(status);
    if (status === 400) expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await tableCounts()).toEqual(before);
    expect(await customerOf(ids.customer)).toMatchObject({ orderCount: 0, totalSpent: 0, status: 'LEAD' });
  });

  it('a malformed JSON body', async () => {
    const res = await api.rest('POST', '/orders', { token: team.rep.token, rawBody: '{"customerId":' });
    expect(res.status).toBe(400);
  });
});
type Ids = Record<'customer' | 'foreign' | 'deleted' | 'product' | 'inactive' | 'pricey', string>;

describe('POST /orders under concurrency', () => {
  it('20 simultaneous first orders: FIRST_PURCHASE assigned exactly once, totals exact', async () => {
    const promotion = await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE' });
    const product = await insertProduct(api.deps, { unitPrice: 1_234 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        placeOrder(i % 2 ? team.rep : team.manager, {
          customerId: customer.id,
          items: [{ productId: product.id, quantity: i + 1 }],
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.filter((r) => earned(r, promotion.id).length === 1)).toHaveLength(1);
    expect(await holdings(customer.id, promotion.id)).toHaveLength(1);
    expect(await customerOf(customer.id)).toMatchObject({
      orderCount: 20,
      totalSpent: 1_234 * 210,
      status: 'CUSTOMER',
    });
  });

  it('two simultaneous orders redeeming one promotion: exactly one succeeds, the other gets 409', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 1_000 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const { held } = await assignTo(customer.id);
    const results = await Promise.all(
      [team.rep, team.manager].map((user) =>
        placeOrder(user, {
          customerId: customer.id,
          items: [{ productId: product.id, quantity: 1 }],
          customerPromotionId: held.id,
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const winner = results.find((r) => r.status === 201);
    const [after] = await api.deps.db
      .select()
      .from(schema.customerPromotions)
      .where(eq(schema.customerPromotions.id, held.id));
    expect(after).toMatchObject({ status: 'REDEEMED', redeemedOrderId: winner?.body.id });
    expect(await customerOf(customer.id)).toMatchObject({ orderCount: 1, totalSpent: 900 });
  });
});

describe('POST /orders answers from its own transaction', () => {
  it('returns without waiting behind transactions queued for its tables after it commits', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 1_500 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const sql = postgres(api.databaseUrl, { max: 2, onnotice: () => {} });
    const [events, items] = await Promise.all([sql.reserve(), sql.reserve()]);
    const waitingFor = (table: string) =>
      waitFor(
        async () =>
          (
            await events`select 1 from pg_locks l join pg_class c on c.oid = l.relation
              where c.relname = ${table} and not l.granted
                and l.database = (select oid from pg_database where datname = current_database())`
          ).length > 0,
        { what: `a lock wait on ${table}` },
      );
    try {
      // The order's transaction pauses at its events, after writing its items…
      await events`begin`;
      await events`lock table domain_events in share mode`;
      let answered: Awaited<ReturnType<typeof placeOrder>> | undefined;
      const placing = placeOrder(team.rep, {
        customerId: customer.id,
        items: [{ productId: product.id, quantity: 2 }],
        payment: { method: 'CARD' },
      }).then((res) => {
        answered = res;
      });
      await waitingFor('domain_events');
      // …while a transaction that locks its items queues behind it, as a burst's later ones do.
      await items`begin`;
      const exclusive = items`lock table order_items in access exclusive mode`.execute();
      await waitingFor('order_items');
      await events`commit`;
      await exclusive;
      // The order has committed and its items are locked against any later reader.
      const res = await waitFor(() => answered, { what: 'the order response', timeoutMs: 5_000 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ customer: { id: customer.id }, total: 3_000, items: [{ quantity: 2 }] });
      await items`commit`;
      await placing;
    } finally {
      events.release();
      items.release();
      await sql.end({ timeout: 1 });
    }
  });

  it('a burst of 50 parallel orders: each answer is the order as stored, numbers unique, totals exact', async () => {
    const products = await Promise.all([1_000, 2_500].map((unitPrice) => insertProduct(api.deps, { unitPrice })));
    const buyers = await Promise.all(Array.from({ length: 5 }, () => insertCustomer(api.deps, team.rep.id)));
    const requests = Array.from({ length: 50 }, (_, i) => ({
      customerId: (buyers[i % 5] as { id: string }).id,
      items: [{ productId: (products[i % 2] as { id: string }).id, quantity: (i % 3) + 1 }],
      ...(i % 2 ? { payment: { method: 'CASH' } } : {}),
    }));
    const results = await Promise.all(requests.map((body, i) => placeOrder(i % 2 ? team.rep : team.manager, body)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    for (const [i, res] of results.entries()) {
      const request = requests[i] as (typeof requests)[number];
      const unitPrice = i % 2 ? 2_500 : 1_000;
      expect(res.body).toMatchObject({
        customer: { id: request.customerId },
        status: request.payment ? 'PAID' : 'PENDING',
        total: unitPrice * ((i % 3) + 1),
        items: [{ productId: request.items[0]?.productId, quantity: (i % 3) + 1 }],
        transactions: request.payment ? [{ kind: 'PAYMENT', method: 'CASH' }] : [],
      });
      const { assignedPromotions, ...detail } = res.body;
      expect(Array.isArray(assignedPromotions)).toBe(true);
      expect(detail).toEqual((await api.rest('GET', `/orders/${res.body.id}`, { token: team.manager.token })).body);
    }
    expect(new Set(results.map((r) => r.body.number)).size).toBe(50);
    for (const buyer of buyers) {
      const placed = results.filter((r) => r.body.customer.id === buyer.id);
      expect(await customerOf(buyer.id)).toMatchObject({
        orderCount: 10,
        totalSpent: placed.reduce((sum, r) => sum + r.body.total, 0),
      });
    }
  });
});
