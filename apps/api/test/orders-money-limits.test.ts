import { MONEY_MAX, MONEY_TOTAL_MAX } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { createTeam, insertCustomer, insertProduct, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { orderHelpers } from './support/orders.ts';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const { placeOrder, customerOf } = orderHelpers(() => api);

const orderCount = async () => (await api.deps.db.select({ n: count() }).from(schema.orders))[0]?.n;

describe('POST /orders: one order totals at most MONEY_MAX', () => {
  it('takes an order of exactly MONEY_MAX and refuses one above it with a 400 on items', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const pricey = await insertProduct(api.deps, { unitPrice: MONEY_MAX });
    const cheap = await insertProduct(api.deps, { unitPrice: 1 });

    const atLimit = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: pricey.id, quantity: 1 }],
    });
    expect(atLimit.status).toBe(201);
    expect(atLimit.body.total).toBe(MONEY_MAX);

    const before = await orderCount();
    for (const items of [
      [{ productId: pricey.id, quantity: 2 }],
      [
        { productId: pricey.id, quantity: 1 },
        { productId: cheap.id, quantity: 1 },
      ],
    ]) {
      const res = await placeOrder(team.rep, { customerId: customer.id, items });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ path: ['items'], message: expect.stringContaining(String(MONEY_MAX)) }),
      ]);
    }
    expect(await orderCount()).toBe(before);
    expect(await customerOf(customer.id)).toMatchObject({ orderCount: 1, totalSpent: MONEY_MAX });
  });
});

describe("a customer's total spend past MONEY_MAX", () => {
  it('is read and listed over REST and tRPC', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { lastName: 'Bigspender' });
    const pricey = await insertProduct(api.deps, { unitPrice: MONEY_MAX });
    for (let i = 0; i < 3; i++) {
      const res = await placeOrder(team.rep, {
        customerId: customer.id,
        items: [{ productId: pricey.id, quantity: 1 }],
      });
      expect(res.status).toBe(201);
    }
    const totalSpent = 3 * MONEY_MAX;

    const one = await api.rest('GET', `/customers/${customer.id}`, { token: team.rep.token });
    expect(one.status).toBe(200);
    expect(one.body.totalSpent).toBe(totalSpent);
    const page = await api.rest('GET', '/customers?search=Bigspender&pageSize=100', { token: team.rep.token });
    expect(page.status).toBe(200);
    expect(page.body.items).toEqual([expect.objectContaining({ id: customer.id, totalSpent })]);
    const cursor = await api.rest('GET', '/customers?search=Bigspender&limit=100', { token: team.rep.token });
    expect(cursor.status).toBe(200);
    expect(cursor.body.items).toEqual([expect.objectContaining({ id: customer.id, totalSpent })]);
    const filtered = await api.rest('GET', `/customers?search=Bigspender&minTotalSpent=${totalSpent}&pageSize=100`, {
      token: team.rep.token,
    });
    expect(filtered.body.items.map((c: { id: string }) => c.id)).toEqual([customer.id]);

    const trpc = api.caller(team.rep.token);
    expect((await trpc.customers.get({ id: customer.id })).totalSpent).toBe(totalSpent);
    const listed = await trpc.customers.list({ search: 'Bigspender', page: 1, pageSize: 100, sort: 'lastName' });
    expect(listed.items).toEqual([expect.objectContaining({ id: customer.id, totalSpent })]);
  });
});

describe("a customer's total spend stays exact", () => {
  it('refuses with a 400 on items an order that would take it past 2^53 - 1, and writes nothing', async () => {
    const nearTop = MONEY_TOTAL_MAX - MONEY_MAX + 1;
    const customer = await insertCustomer(api.deps, team.rep.id, { totalSpent: nearTop, status: 'CUSTOMER' });
    const pricey = await insertProduct(api.deps, { unitPrice: MONEY_MAX });
    const before = await orderCount();

    const res = await placeOrder(team.rep, { customerId: customer.id, items: [{ productId: pricey.id, quantity: 1 }] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: ['items'], message: expect.stringContaining(String(MONEY_TOTAL_MAX)) }),
    ]);
    expect(await orderCount()).toBe(before);
    expect((await customerOf(customer.id))?.totalSpent).toBe(nearTop);

    const fits = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: (await insertProduct(api.deps, { unitPrice: MONEY_MAX - 1 })).id, quantity: 1 }],
    });
    expect(fits.status).toBe(201);
    const read = await api.rest('GET', `/customers/${customer.id}`, { token: team.rep.token });
    expect(read.body.totalSpent).toBe(MONEY_TOTAL_MAX);
  });
});
