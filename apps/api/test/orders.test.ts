import { schema } from '@touch-crm/db';
import {
  createTeam,
  insertCustomer,
  insertProduct,
  insertPromotion,
  startTestApi,
  type TestApi,
} from '@touch-crm/test-utils';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DAY, MISSING_ID, orderHelpers } from './support/orders.ts';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const { placeOrder, customerOf, holdings, earned, assignTo } = orderHelpers(() => api);

describe('done when: a new user, over REST alone', () => {
  it('creates a customer, a product and a FIRST_PURCHASE promotion, earns it, redeems it, sees the totals', async () => {
    const token = team.manager.token;
    const customer = await api.rest('POST', '/customers', {
      token,
      body: { firstName: 'Ada', lastName: 'Byron', phone: '+1 202 555 0100', ownerId: team.rep.id },
    });
    expect(customer.status).toBe(201);
    const product = await api.rest('POST', '/products', {
      token,
      body: { sku: 'NOTEBOOK-A5', name: 'Notebook A5', unitPrice: 2_500 },
    });
    expect(product.status).toBe(201);
    const promotion = await api.rest('POST', '/promotions', {
      token,
      body: {
        name: 'First purchase 20%',
        code: 'HELLO20',
        discountType: 'PERCENTAGE',
        discountValue: 20,
        conditionType: 'FIRST_PURCHASE',
        validityDays: 60,
      },
    });
    expect(promotion.status).toBe(201);

    const first = await api.rest('POST', '/orders', {
      token,
      body: {
        customerId: customer.body.id,
        items: [{ productId: product.body.id, quantity: 2 }],
        payment: { method: 'CARD', reference: 'pos-1' },
      },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      subtotal: 5_000,
      discount: 0,
      total: 5_000,
      status: 'PAID',
      appliedPromotion: null,
    });
    const [reward] = earned(first, promotion.body.id);
    expect(reward).toMatchObject({ status: 'ACTIVE', source: 'FIRST_PURCHASE', customerId: customer.body.id });

    const second = await api.rest('POST', '/orders', {
      token,
      body: {
        customerId: customer.body.id,
        items: [{ productId: product.body.id, quantity: 3 }],
        customerPromotionId: reward?.id,
      },
    });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({
      subtotal: 7_500,
      discount: 1_500,
      total: 6_000,
      status: 'PENDING',
      appliedPromotion: { id: reward?.id, status: 'REDEEMED', redeemedOrderId: second.body.id },
    });
    expect(earned(second, promotion.body.id)).toEqual([]);

    const totals = await api.rest('GET', `/customers/${customer.body.id}`, { token });
    expect(totals.body).toMatchObject({ orderCount: 2, totalSpent: 11_000, status: 'CUSTOMER' });
    expect(totals.body.lastOrderAt).toBe(second.body.createdAt);
    expect(totals.body.activePromotions.map((cp: { id: string }) => cp.id)).not.toContain(reward?.id);

    // The customer belongs to `rep`: `otherRep` sees neither the customer nor the order.
    expect((await api.rest('GET', `/customers/${customer.body.id}`, { token: team.otherRep.token })).status).toBe(404);
    expect((await api.rest('GET', `/orders/${second.body.id}`, { token: team.otherRep.token })).status).toBe(404);
    expect((await api.rest('GET', `/orders/${second.body.id}`, { token: team.rep.token })).status).toBe(200);
  });
});

describe('POST /orders: pricing', () => {
  it('prices from the catalogue, ignoring any price the client sends, and copies it onto the items', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 1_250, name: 'Mug' });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 4, unitPrice: 1 }],
      subtotal: 1,
      total: 1,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ subtotal: 5_000, total: 5_000, currency: 'USD', number: expect.any(Number) });
    expect(res.body.items).toEqual([
      expect.objectContaining({
        productId: product.id,
        sku: product.sku,
        productName: 'Mug',
        unitPrice: 1_250,
        quantity: 4,
        lineTotal: 5_000,
      }),
    ]);

    await api.rest('PUT', `/products/${product.id}`, {
      token: team.manager.token,
      body: { unitPrice: 9_999, name: 'Big mug' },
    });
    const later = await api.rest('GET', `/orders/${res.body.id}`, { token: team.rep.token });
    expect(later.body.items[0]).toMatchObject({ unitPrice: 1_250, productName: 'Mug' });
  });

  it('rounds a percentage discount half up to the minor unit', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 1_005 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const { held } = await assignTo(customer.id, { discountType: 'PERCENTAGE', discountValue: 10 });
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
      customerPromotionId: held.id,
    });
    // 10% of 10.05 is 1.005: half a cent rounds up.
    expect(res.body).toMatchObject({ subtotal: 1_005, discount: 101, total: 904 });
  });

  it('never discounts more than the subtotal', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 300 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const { held } = await assignTo(customer.id, { discountType: 'FIXED_AMOUNT', discountValue: 1_000 });
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
      customerPromotionId: held.id,
      payment: { method: 'CASH' },
    });
    expect(res.body).toMatchObject({ subtotal: 300, discount: 300, total: 0, status: 'PAID' });
  });

  it('is PAID with a payment transaction when paid, PENDING without one otherwise', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 800 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const paid = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
      payment: { method: 'BANK_TRANSFER', reference: 'INV-7' },
    });
    expect(paid.body.status).toBe('PAID');
    expect(paid.body.paidAt).toEqual(expect.any(String));
    expect(paid.body.transactions).toEqual([
      expect.objectContaining({
        kind: 'PAYMENT',
        method: 'BANK_TRANSFER',
        amount: 800,
        currency: 'USD',
        reference: 'INV-7',
      }),
    ]);
    const pending = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(pending.body).toMatchObject({ status: 'PENDING', paidAt: null, transactions: [] });
  });
});

describe('POST /orders: the customer', () => {
  it('updates orderCount, totalSpent and lastOrderAt, and turns a LEAD or PROSPECT into a CUSTOMER', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 700 });
    for (const status of ['LEAD', 'PROSPECT', 'INACTIVE'] as const) {
      const customer = await insertCustomer(api.deps, team.rep.id, { status });
      const res = await placeOrder(team.rep, {
        customerId: customer.id,
        items: [{ productId: product.id, quantity: 3 }],
      });
      const after = await customerOf(customer.id);
      expect(after).toMatchObject({
        orderCount: 1,
        totalSpent: 2_100,
        status: status === 'INACTIVE' ? 'INACTIVE' : 'CUSTOMER',
      });
      expect(after?.lastOrderAt?.toISOString()).toBe(res.body.createdAt);
    }
  });

  it('writes the order, the status change and earned promotions on the customer’s timeline', async () => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    await placeOrder(team.rep, { customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] });
    const timeline = await api.deps.db
      .select({ type: schema.workLogs.eventType, subject: schema.workLogs.subject })
      .from(schema.workLogs)
      .where(eq(schema.workLogs.customerId, customer.id));
    expect(timeline.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['order.placed', 'customer.status_changed']),
    );
    expect(timeline.find((entry) => entry.type === 'order.placed')?.subject).toMatch(/^Order #\d+ placed$/);
    const currency = api.deps.config.CURRENCY;
    const [placed] = await api.deps.db
      .select({ content: schema.workLogs.content })
      .from(schema.workLogs)
      .where(and(eq(schema.workLogs.customerId, customer.id), eq(schema.workLogs.eventType, 'order.placed')));
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    expect(placed?.content).toBe(
      `1 line(s), total ${(product.unitPrice / 10 ** (digits ?? 2)).toFixed(digits)} ${currency}`,
    );
  });

  it('welcomes a LEAD its first order makes a CUSTOMER, once, in the order’s transaction', async () => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id, { status: 'LEAD' });
    for (let i = 0; i < 2; i++)
      await placeOrder(team.rep, { customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] });
    const welcomes = await api.deps.db
      .select({ type: schema.messageQueue.type })
      .from(schema.messageQueue)
      .where(and(eq(schema.messageQueue.customerId, customer.id), eq(schema.messageQueue.type, 'WELCOME')));
    expect(welcomes).toHaveLength(1);
    expect((await customerOf(customer.id))?.welcomedAt).not.toBeNull();
  });

  it('records each earned promotion’s event as the answer shows it, with its audit row and timeline entry', async () => {
    const promotion = await insertPromotion(api.deps, { name: 'Welcome back', conditionType: 'FIRST_PURCHASE' });
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    const [assigned] = earned(res, promotion.id);
    const [event] = await api.deps.db
      .select()
      .from(schema.domainEvents)
      .where(
        and(eq(schema.domainEvents.type, 'promotion.assigned'), eq(schema.domainEvents.entityId, assigned?.id ?? '')),
      );
    expect(event).toMatchObject({ customerId: customer.id, actorUserId: team.rep.id, data: assigned });
    const audit = await api.deps.db
      .select()
      .from(schema.auditLog)
      .where(eq(schema.auditLog.eventId, event?.id ?? ''));
    expect(audit).toEqual([expect.objectContaining({ entityType: 'customer_promotion', action: 'assigned' })]);
    const timeline = await api.deps.db
      .select()
      .from(schema.workLogs)
      .where(eq(schema.workLogs.eventId, event?.id ?? ''));
    expect(timeline).toEqual([
      expect.objectContaining({
        subject: 'Promotion assigned: Welcome back',
        content: 'Earned with the first purchase',
      }),
    ]);
  });
});

describe('POST /orders: automatic promotions', () => {
  it('FIRST_PURCHASE on the first order only, usable from the next order', async () => {
    const promotion = await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE' });
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const first = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(first.body.discount).toBe(0);
    expect(earned(first, promotion.id)).toHaveLength(1);
    const second = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(earned(second, promotion.id)).toHaveLength(0);
    expect(await holdings(customer.id, promotion.id)).toHaveLength(1);
  });

  it('MIN_PURCHASE when the order total reaches the threshold', async () => {
    const promotion = await insertPromotion(api.deps, {
      conditionType: 'MIN_PURCHASE',
      minPurchaseAmount: 5_000,
      discountType: 'FIXED_AMOUNT',
      discountValue: 500,
    });
    const product = await insertProduct(api.deps, { unitPrice: 2_500 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const below = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(earned(below, promotion.id)).toHaveLength(0);
    const exactly = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 2 }],
    });
    expect(earned(exactly, promotion.id)).toHaveLength(1);
  });

  it('REFERRAL goes to the referrer when the referred customer places a first order, not at sign-up', async () => {
    const promotion = await insertPromotion(api.deps, { conditionType: 'REFERRAL' });
    const product = await insertProduct(api.deps);
    const referrer = await insertCustomer(api.deps, team.otherRep.id);
    const signUp = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'New', lastName: 'Friend', phone: '+12025550161', referredById: referrer.id },
    });
    expect(await holdings(referrer.id, promotion.id)).toHaveLength(0);

    const first = await placeOrder(team.rep, {
      customerId: signUp.body.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(earned(first, promotion.id)).toEqual([
      expect.objectContaining({ customerId: referrer.id, source: 'REFERRAL', sourceOrderId: first.body.id }),
    ]);
    await placeOrder(team.rep, { customerId: signUp.body.id, items: [{ productId: product.id, quantity: 1 }] });
    expect(await holdings(referrer.id, promotion.id)).toHaveLength(1);
    expect(await holdings(signUp.body.id, promotion.id)).toHaveLength(0);
  });

  it('only from promotions active and within their dates, expiring at validityDays or endsAt, whichever is first', async () => {
    const endsSoon = new Date(Date.now() + 2 * DAY);
    const capped = await insertPromotion(api.deps, {
      conditionType: 'FIRST_PURCHASE',
      validityDays: 30,
      endsAt: endsSoon,
    });
    const week = await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE', validityDays: 7 });
    const off = await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE', isActive: false });
    const ended = await insertPromotion(api.deps, {
      conditionType: 'FIRST_PURCHASE',
      endsAt: new Date(Date.now() - 1),
    });
    const future = await insertPromotion(api.deps, {
      conditionType: 'FIRST_PURCHASE',
      startsAt: new Date(Date.now() + DAY),
    });
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
    });
    expect(earned(res, capped.id)[0]?.expiresAt).toBe(endsSoon.toISOString());
    const weekReward = earned(res, week.id)[0];
    expect(
      new Date(weekReward?.expiresAt as string).getTime() - new Date(weekReward?.assignedAt as string).getTime(),
    ).toBe(7 * DAY);
    for (const closed of [off, ended, future]) expect(earned(res, closed.id)).toHaveLength(0);
  });
});

describe('POST /orders: redeeming a promotion', () => {
  it('redeems by code, whatever its case, once', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 2_000 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const code = `SAVE${Date.now()}`;
    await assignTo(customer.id, { code, discountType: 'FIXED_AMOUNT', discountValue: 250 });
    const order = {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
      promotionCode: code.toLowerCase(),
    };
    const first = await placeOrder(team.rep, order);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ discount: 250, total: 1_750, appliedPromotion: { promotion: { code } } });
    const again = await placeOrder(team.rep, order);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      reason: 'PROMOTION_ALREADY_REDEEMED',
      detail: 'The promotion has already been used',
    });
  });

  it.each([
    ['another customer’s promotion', 'other', 'PROMOTION_NOT_ASSIGNED'],
    ['an expired one', 'expired', 'PROMOTION_UNAVAILABLE'],
    ['one whose promotion was switched off', 'inactive', 'PROMOTION_UNAVAILABLE'],
    ['an unknown code', 'code', 'PROMOTION_NOT_ASSIGNED'],
  ])('answers %s with 409 and writes nothing', async (_, kind, reason) => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const owner = kind === 'other' ? await insertCustomer(api.deps, team.rep.id) : customer;
    const { held } = await assignTo(owner.id, { isActive: kind !== 'inactive' });
    if (kind === 'expired')
      await api.deps.db
        .update(schema.customerPromotions)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(schema.customerPromotions.id, held.id));
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
      ...(kind === 'code' ? { promotionCode: 'NO-SUCH-CODE' } : { customerPromotionId: held.id }),
    });
    expect(res.status).toBe(409);
    expect(res.body.reason).toBe(reason);
    expect((await customerOf(customer.id))?.orderCount).toBe(0);
    const [after] = await api.deps.db
      .select()
      .from(schema.customerPromotions)
      .where(eq(schema.customerPromotions.id, held.id));
    expect(after?.status).toBe('ACTIVE');
  });

  it('takes a code or a customer promotion id, not both', async () => {
    const product = await insertProduct(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await placeOrder(team.rep, {
      customerId: customer.id,
      items: [{ productId: product.id, quantity: 1 }],
      promotionCode: 'ANY',
      customerPromotionId: MISSING_ID,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['customerPromotionId']);
  });
});
