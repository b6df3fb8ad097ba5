import type { PlacedOrder } from '@touch-crm/contract';
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
import { and, count, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const MISSING_ID = '00000000-0000-4000-8000-000000000000';
const DAY = 86_400_000;

type Token = { token: string };
const placeOrder = (user: Token, body: object) => api.rest('POST', '/orders', { token: user.token, body });
const customerOf = async (id: string) =>
  (await api.deps.db.select().from(schema.customers).where(eq(schema.customers.id, id)))[0];
const holdings = (customerId: string, promotionId: string) =>
  api.deps.db
    .select()
    .from(schema.customerPromotions)
    .where(
      and(eq(schema.customerPromotions.customerId, customerId), eq(schema.customerPromotions.promotionId, promotionId)),
    );
const earned = (res: { body: PlacedOrder }, promotionId: string) =>
  res.body.assignedPromotions.filter((cp) => cp.promotion.id === promotionId);
async function assignTo(customerId: string, values: Parameters<typeof insertPromotion>[1] = {}) {
  const promotion = await insertPromotion(api.deps, values);
  const [held] = await api.deps.db
    .insert(schema.customerPromotions)
    .values({ customerId, promotionId: promotion.id, source: 'MANUAL' })
    .returning();
  return { promotion, held: held as typeof schema.customerPromotions.$inferSelect };
}

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
    expect(again.body.detail).toMatch(/already been used/);
  });

  it.each([
    ['another customer’s promotion', 'other'],
    ['an expired one', 'expired'],
    ['one whose promotion was switched off', 'inactive'],
    ['an unknown code', 'code'],
  ])('answers %s with 409 and writes nothing', async (_, kind) => {
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
              where c.relname = ${table} and not l.granted`
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
