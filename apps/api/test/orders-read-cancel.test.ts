import {
  createTeam,
  insertCustomer,
  insertProduct,
  insertPromotion,
  startTestApi,
  type TestApi,
} from '@touch-crm/test-utils';
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

describe('GET /orders and GET /orders/{id}', () => {
  it('lists a rep’s customers’ orders only, with filters and sorting', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 1_000 });
    const mine = await insertCustomer(api.deps, team.rep.id);
    const theirs = await insertCustomer(api.deps, team.otherRep.id);
    const small = await placeOrder(team.rep, { customerId: mine.id, items: [{ productId: product.id, quantity: 1 }] });
    const big = await placeOrder(team.rep, {
      customerId: mine.id,
      items: [{ productId: product.id, quantity: 9 }],
      payment: { method: 'CASH' },
    });
    const other = await placeOrder(team.otherRep, {
      customerId: theirs.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    const ids = async (token: string, query: string) => {
      const res = await api.rest('GET', `/orders?${query}`, { token });
      expect(res.status).toBe(200);
      return res.body.items.map((o: { id: string }) => o.id);
    };
    expect(await ids(team.rep.token, `customerId=${mine.id}&sort=total`)).toEqual([small.body.id, big.body.id]);
    expect(await ids(team.rep.token, `customerId=${theirs.id}`)).toEqual([]);
    expect(await ids(team.manager.token, `customerId=${theirs.id}`)).toEqual([other.body.id]);
    expect(await ids(team.rep.token, `customerId=${mine.id}&status=PAID`)).toEqual([big.body.id]);
    expect(await ids(team.rep.token, `customerId=${mine.id}&minTotal=5000`)).toEqual([big.body.id]);
    expect(
      await ids(team.rep.token, `customerId=${mine.id}&createdFrom=${encodeURIComponent(big.body.createdAt)}`),
    ).toEqual([big.body.id]);
    const all = (await api.rest('GET', '/orders?pageSize=100', { token: team.otherRep.token })).body;
    expect(all.items.every((o: { customer: { id: string } }) => o.customer.id !== mine.id)).toBe(true);
  });

  it('shows items, transactions and the applied promotion', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 2_000 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const { held } = await assignTo(customer.id, { discountType: 'PERCENTAGE', discountValue: 25 });
    const placed = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 2 }],
      customerPromotionId: held.id,
      payment: { method: 'CARD' },
    });
    const res = await api.rest('GET', `/orders/${placed.body.id}`, { token: team.rep.token });
    expect(res.body).toMatchObject({
      id: placed.body.id,
      customer: { id: customer.id },
      subtotal: 4_000,
      discount: 1_000,
      total: 3_000,
      appliedPromotion: { id: held.id, status: 'REDEEMED' },
      items: [expect.objectContaining({ quantity: 2, lineTotal: 4_000 })],
      transactions: [expect.objectContaining({ kind: 'PAYMENT', amount: 3_000 })],
    });
    expect((await api.rest('GET', `/orders/${MISSING_ID}`, { token: team.rep.token })).status).toBe(404);
    expect((await api.rest('GET', '/orders/42', { token: team.rep.token })).status).toBe(400);
  });
});

describe('POST /orders/{id}/cancel', () => {
  it('restores the redeemed promotion, revokes unused rewards, refunds, reverses the totals, keeps the order', async () => {
    const firstPurchase = await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE' });
    const product = await insertProduct(api.deps, { unitPrice: 1_000 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const { held } = await assignTo(customer.id, { discountType: 'FIXED_AMOUNT', discountValue: 100 });
    const order = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 2 }],
      customerPromotionId: held.id,
      payment: { method: 'CARD', reference: 'T-1' },
    });
    const [reward] = earned(order, firstPurchase.id);

    const res = await api.rest('POST', `/orders/${order.body.id}/cancel`, {
      token: team.rep.token,
      body: { reason: 'Wrong size' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'CANCELLED', cancelReason: 'Wrong size', total: 1_900 });
    expect(res.body.transactions.map((t: { kind: string; amount: number }) => [t.kind, t.amount])).toEqual([
      ['PAYMENT', 1_900],
      ['REFUND', 1_900],
    ]);
    expect(await customerOf(customer.id)).toMatchObject({ orderCount: 0, totalSpent: 0, lastOrderAt: null });
    const detail = await api.rest('GET', `/customers/${customer.id}`, { token: team.rep.token });
    const active = detail.body.activePromotions.map((cp: { id: string }) => cp.id);
    expect(active).toContain(held.id);
    expect(active).not.toContain(reward?.id);
    expect((await holdings(customer.id, firstPurchase.id))[0]?.status).toBe('REVOKED');

    const again = await api.rest('POST', `/orders/${order.body.id}/cancel`, { token: team.rep.token, body: {} });
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe('ORDER_ALREADY_CANCELLED');

    // The next order is the first non-cancelled one again: it earns FIRST_PURCHASE back.
    const next = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(earned(next, firstPurchase.id)).toEqual([expect.objectContaining({ id: reward?.id, status: 'ACTIVE' })]);
    expect(await holdings(customer.id, firstPurchase.id)).toHaveLength(1);
  });

  it('keeps lastOrderAt at the latest remaining order', async () => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const first = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    const second = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    await api.rest('POST', `/orders/${second.body.id}/cancel`, { token: team.manager.token, body: {} });
    const after = await customerOf(customer.id);
    expect(after?.orderCount).toBe(1);
    expect(after?.lastOrderAt?.toISOString()).toBe(first.body.createdAt);
  });

  it('follows the scope: another rep gets 404, a manager may cancel', async () => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const order = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    const cancel = (token: string) => api.rest('POST', `/orders/${order.body.id}/cancel`, { token, body: {} });
    expect((await cancel(team.otherRep.token)).status).toBe(404);
    expect((await cancel(team.manager.token)).status).toBe(200);
  });
});

describe('who may place and read whose orders', () => {
  const cases = [
    { role: 'rep', target: 'own', create: 201, read: 200 },
    { role: 'rep', target: 'others', create: 404, read: 404 },
    { role: 'manager', target: 'others', create: 201, read: 200 },
    { role: 'admin', target: 'others', create: 201, read: 200 },
  ] as const;

  it.each(cases)('$role for $target customer: place $create, read $read', async (c) => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, (c.target === 'own' ? team.rep : team.otherRep).id);
    const existing = await placeOrder(c.target === 'own' ? team.rep : team.otherRep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    const user = team[c.role];
    expect(
      (await placeOrder(user, { customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] })).status,
    ).toBe(c.create);
    expect((await api.rest('GET', `/orders/${existing.body.id}`, { token: user.token })).status).toBe(c.read);
  });

  it('over tRPC as well', async () => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.otherRep.id);
    await expect(
      api
        .caller(team.rep.token)
        .orders.create({ customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const placed = await api
      .caller(team.otherRep.token)
      .orders.create({ customerId: customer.id, items: [{ productId: product.id, quantity: 2 }] });
    expect(placed.total).toBe(2_000);
  });
});
