import { schema } from '@touch-crm/db';
import {
  createTeam,
  insertCustomer,
  insertPromotion,
  startTestApi,
  type TestApi,
  uniquePhone,
} from '@touch-crm/test-utils';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let levels: Record<string, string>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
  const rows = await api.deps.db.select().from(schema.customerLevels);
  levels = Object.fromEntries(rows.map((level) => [level.name, level.id]));
});
afterAll(() => api?.close());

const MISSING_ID = '00000000-0000-4000-8000-000000000000';
const timelineOf = (customerId: string) =>
  api.deps.db.select().from(schema.workLogs).where(eq(schema.workLogs.customerId, customerId));

describe('POST /customers', () => {
  it('creates a LEAD owned by the caller, phone in E.164, opted in to SMS, with a timeline entry', async () => {
    const res = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Grace', lastName: 'Hopper', phone: '(202) 555-0147', birthday: '1906-12-09' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      phone: '+12025550147',
      birthday: '1906-12-09',
      status: 'LEAD',
      smsOptIn: true,
      owner: { id: team.rep.id },
      level: null,
      orderCount: 0,
      totalSpent: 0,
      lastOrderAt: null,
      rfm: { score: null, segment: null },
      activePromotions: [],
    });
    const timeline = await timelineOf(res.body.id);
    expect(timeline.map((entry) => entry.eventType)).toEqual(['customer.created']);
  });

  it('answers an invalid phone with 400 on `phone`', async () => {
    const res = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'No', lastName: 'Phone', phone: '12345' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['phone']);
  });

  it.each([
    ['a birthday not in YYYY-MM-DD', { birthday: '09/12/1906' }, 'birthday'],
    ['an unknown status', { status: 'VIP' }, 'status'],
    ['a malformed email', { email: 'nope' }, 'email'],
    ['a malformed referrer id', { referredById: '42' }, 'referredById'],
    ['an unknown referrer', { referredById: MISSING_ID }, 'referredById'],
  ])('answers %s with 400 naming the field', async (_, change, field) => {
    const res = await api.rest('POST', '/customers', {
      token: team.manager.token,
      body: { firstName: 'A', lastName: 'B', phone: uniquePhone(), ...change },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual([field]);
  });

  it('refuses a second live customer with the same phone, naming the existing one only to who may read it', async () => {
    const existing = await insertCustomer(api.deps, team.rep.id);
    const body = { firstName: 'Twin', lastName: 'Phone', phone: existing.phone };
    const byManager = await api.rest('POST', '/customers', { token: team.manager.token, body });
    expect(byManager.status).toBe(409);
    expect(byManager.body.reason).toBe('PHONE_TAKEN');
    expect(byManager.body.details).toEqual({ existingCustomerId: existing.id });
    const byOwner = await api.rest('POST', '/customers', { token: team.rep.token, body });
    expect(byOwner.status).toBe(409);
    expect(byOwner.body.details).toEqual({ existingCustomerId: existing.id });
    const byOtherRep = await api.rest('POST', '/customers', { token: team.otherRep.token, body });
    expect(byOtherRep.status).toBe(409);
    expect(byOtherRep.body.details).toBeUndefined();
    expect(byOtherRep.text).not.toContain(existing.id);
  });

  it('lets only a caller with customers:create_all choose another owner', async () => {
    const body = { firstName: 'Owned', lastName: 'Elsewhere', ownerId: team.otherRep.id };
    const byRep = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { ...body, phone: uniquePhone() },
    });
    expect(byRep.status).toBe(403);
    const byManager = await api.rest('POST', '/customers', {
      token: team.manager.token,
      body: { ...body, phone: uniquePhone() },
    });
    expect(byManager.status).toBe(201);
    expect(byManager.body.owner.id).toBe(team.otherRep.id);
    const unknownOwner = await api.rest('POST', '/customers', {
      token: team.manager.token,
      body: { ...body, ownerId: MISSING_ID, phone: uniquePhone() },
    });
    expect(unknownOwner.status).toBe(400);
    expect(unknownOwner.body.errors[0].path).toEqual(['ownerId']);
  });

  it('records the referrer, who may belong to another rep', async () => {
    const referrer = await insertCustomer(api.deps, team.otherRep.id);
    const res = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Referred', lastName: 'Friend', phone: uniquePhone(), referredById: referrer.id },
    });
    expect(res.status).toBe(201);
    expect(res.body.referredById).toBe(referrer.id);
  });
});

describe('GET /customers', () => {
  it('shows a sales rep only their own customers, and a manager everyone', async () => {
    const mine = await insertCustomer(api.deps, team.rep.id, { lastName: 'Scopetest' });
    const theirs = await insertCustomer(api.deps, team.otherRep.id, { lastName: 'Scopetest' });
    const ids = async (token: string) =>
      (await api.rest('GET', '/customers?search=scopetest', { token })).body.items.map((c: { id: string }) => c.id);
    expect(await ids(team.rep.token)).toEqual([mine.id]);
    expect(await ids(team.otherRep.token)).toEqual([theirs.id]);
    expect((await ids(team.manager.token)).sort()).toEqual([mine.id, theirs.id].sort());
    expect((await ids(team.admin.token)).sort()).toEqual([mine.id, theirs.id].sort());
  });

  it('searches name, email and phone case-insensitively, with or without phone punctuation', async () => {
    const customer = await insertCustomer(api.deps, team.manager.id, {
      firstName: 'Katherine',
      lastName: 'Johnson',
      email: 'kj@nasa.example',
      phone: '+12025550188',
    });
    for (const search of ['KATHERINE', 'johns', 'NASA.example', '202-555-0188', '5550188']) {
      const res = await api.rest('GET', `/customers?search=${encodeURIComponent(search)}`, {
        token: team.manager.token,
      });
      expect(res.body.items.map((c: { id: string }) => c.id)).toContain(customer.id);
    }
  });

  it('filters by status, level, owner, totals and dates, and sorts', async () => {
    const owner = team.manager.id;
    const tag = `Filter${Date.now()}`;
    const old = new Date('2024-01-10T00:00:00Z');
    const recent = new Date('2026-03-01T00:00:00Z');
    const big = await insertCustomer(api.deps, owner, {
      lastName: tag,
      status: 'CUSTOMER',
      levelId: levels.Gold,
      totalSpent: 90_000,
      orderCount: 3,
      lastOrderAt: recent,
    });
    const small = await insertCustomer(api.deps, owner, {
      lastName: tag,
      status: 'CUSTOMER',
      totalSpent: 1_000,
      orderCount: 1,
      lastOrderAt: old,
    });
    const lead = await insertCustomer(api.deps, owner, { lastName: tag, status: 'LEAD', createdAt: old });
    const query = async (filters: string) => {
      const res = await api.rest('GET', `/customers?search=${tag}&${filters}`, { token: team.manager.token });
      expect(res.status).toBe(200);
      return res.body.items.map((c: { id: string }) => c.id);
    };
    expect(await query('status=CUSTOMER&sort=-totalSpent')).toEqual([big.id, small.id]);
    expect(await query(`levelId=${levels.Gold}`)).toEqual([big.id]);
    expect(await query(`ownerId=${owner}&sort=totalSpent`)).toEqual([lead.id, small.id, big.id]);
    expect(await query('minTotalSpent=5000')).toEqual([big.id]);
    expect(await query('lastOrderBefore=2025-01-01T00:00:00Z')).toEqual([small.id]);
    expect(await query('lastOrderAfter=2025-01-01T00:00:00Z')).toEqual([big.id]);
    expect(await query('createdTo=2025-01-01T00:00:00Z')).toEqual([lead.id]);
    expect((await query('createdFrom=2025-01-01T00:00:00Z')).sort()).toEqual([big.id, small.id].sort());
    expect(await query('sort=-lastOrderAt')).toEqual([big.id, small.id, lead.id]);
  });

  it('paginates with the total and rejects bad query values with 400', async () => {
    const tag = `Page${Date.now()}`;
    for (let i = 0; i < 5; i++) await insertCustomer(api.deps, team.rep.id, { lastName: `${tag}${i}` });
    const page = await api.rest('GET', `/customers?search=${tag}&page=2&pageSize=2&sort=lastName`, {
      token: team.rep.token,
    });
    expect(page.body).toMatchObject({ total: 5, page: 2, pageSize: 2 });
    expect(page.body.items.map((c: { lastName: string }) => c.lastName)).toEqual([`${tag}2`, `${tag}3`]);
    for (const bad of ['pageSize=0', 'pageSize=101', 'status=VIP', 'levelId=gold', 'minTotalSpent=-1', 'sort=phone'])
      expect((await api.rest('GET', `/customers?${bad}`, { token: team.rep.token })).status).toBe(400);
  });
});

describe('GET /customers items, built as JSON in PostgreSQL', () => {
  it('are exactly what customers.get and cursor mode give, with and without level, RFM, owner fields and promotions', async () => {
    const tag = `Items${Date.now()}`;
    const bare = await insertCustomer(api.deps, team.rep.id, { lastName: tag });
    const referrer = await insertCustomer(api.deps, team.rep.id, { lastName: tag, email: null });
    const full = await insertCustomer(api.deps, team.rep.id, {
      lastName: tag,
      email: 'full@example.com',
      birthday: '1990-02-28',
      gender: 'FEMALE',
      address: '1 Main St',
      notes: 'notes "quoted" \\ and ünïcode',
      status: 'CUSTOMER',
      smsOptIn: false,
      timeZone: 'America/New_York',
      phoneUndeliverableAt: new Date('2026-01-02T03:04:05.006Z'),
      manualLevelId: levels.Gold,
      referredById: referrer.id,
      orderCount: 7,
      totalSpent: 123_456_789,
      levelId: levels.Gold,
      rfmRecency: 5,
      rfmFrequency: 4,
      rfmMonetary: 3,
      rfmScore: 12,
      rfmSegment: 'Champions',
      rfmScoredAt: new Date('2026-02-03T04:05:06.789Z'),
    });
    // Scores but no level; the RFM row written after the customer's, so it gives updatedAt.
    const scored = await insertCustomer(api.deps, team.rep.id, { lastName: tag, rfmScore: 3, rfmSegment: 'At risk' });
    await api.deps.db
      .update(schema.customerRfm)
      .set({ updatedAt: new Date(scored.updatedAt.getTime() + 1) })
      .where(eq(schema.customerRfm.customerId, scored.id));
    // Microseconds are cut to milliseconds as Date#toISOString would.
    await api.deps.db.execute(
      sql`update customers set last_order_at = '2026-03-04 05:06:07.999999+00' where id = ${full.id}`,
    );
    const promotion = await insertPromotion(api.deps);
    await api.deps.db
      .insert(schema.customerPromotions)
      .values({ customerId: full.id, promotionId: promotion.id, source: 'MANUAL' });

    const ids = [bare.id, referrer.id, full.id, scored.id];
    const page = await api.rest('GET', `/customers?search=${tag}&sort=lastName&pageSize=100`, {
      token: team.rep.token,
    });
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(4);
    const cursor = await api.rest('GET', `/customers?search=${tag}&limit=100`, { token: team.rep.token });
    const trpc = await api
      .caller(team.rep.token)
      .customers.list({ search: tag, page: 1, pageSize: 100, sort: 'lastName' });
    const byId = (items: { id: string }[]): Record<string, object> =>
      Object.fromEntries(items.map((item) => [item.id, item]));
    const listed = byId(page.body.items);
    expect(Object.keys(listed).sort()).toEqual([...ids].sort());
    expect(byId(cursor.body.items)).toEqual(listed);
    expect(byId(trpc.items)).toEqual(listed);
    for (const id of ids) {
      const { activePromotions, ...detail } = (await api.rest('GET', `/customers/${id}`, { token: team.rep.token }))
        .body;
      expect(listed[id]).toStrictEqual(detail);
      expect(Object.keys(listed[id] ?? {})).toEqual(Object.keys(detail));
    }
    expect(listed[full.id]).toMatchObject({
      lastOrderAt: '2026-03-04T05:06:07.999Z',
      phoneUndeliverableAt: '2026-01-02T03:04:05.006Z',
      totalSpent: 123_456_789,
      level: { id: levels.Gold, name: 'Gold' },
      rfm: {
        recency: 5,
        frequency: 4,
        monetary: 3,
        score: 12,
        segment: 'Champions',
        scoredAt: '2026-02-03T04:05:06.789Z',
      },
    });
    expect(listed[bare.id]).toMatchObject({ level: null, rfm: { score: null, scoredAt: null }, email: null });
    expect(listed[scored.id]).toMatchObject({ level: null, rfm: { score: 3, segment: 'At risk', recency: null } });
  });

  it('answers an empty page past the end with the total', async () => {
    const tag = `Past${Date.now()}`;
    await insertCustomer(api.deps, team.rep.id, { lastName: tag });
    const res = await api.rest('GET', `/customers?search=${tag}&page=3&pageSize=1`, { token: team.rep.token });
    expect(res.body).toEqual({ items: [], total: 1, page: 3, pageSize: 1, nextCursor: null });
  });
});

describe('GET /customers/{id}', () => {
  it('returns level, owner, totals, RFM fields and only the usable promotions', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, {
      levelId: levels.Silver,
      orderCount: 2,
      totalSpent: 4_500,
      rfmRecency: 5,
      rfmFrequency: 3,
      rfmMonetary: 4,
      rfmScore: 12,
      rfmSegment: 'Loyal',
      rfmScoredAt: new Date(),
    });
    const usable = await insertPromotion(api.deps);
    const used = await insertPromotion(api.deps);
    const expired = await insertPromotion(api.deps);
    const switchedOff = await insertPromotion(api.deps, { isActive: false });
    await api.deps.db.insert(schema.customerPromotions).values([
      { customerId: customer.id, promotionId: usable.id, source: 'MANUAL' },
      { customerId: customer.id, promotionId: used.id, source: 'MANUAL', status: 'REDEEMED' },
      { customerId: customer.id, promotionId: expired.id, source: 'MANUAL', expiresAt: new Date(Date.now() - 1000) },
      { customerId: customer.id, promotionId: switchedOff.id, source: 'MANUAL' },
    ]);

    const res = await api.rest('GET', `/customers/${customer.id}`, { token: team.rep.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      level: { id: levels.Silver, name: 'Silver', rank: 2 },
      owner: { id: team.rep.id, fullName: expect.any(String) },
      orderCount: 2,
      totalSpent: 4_500,
      rfm: { recency: 5, frequency: 3, monetary: 4, score: 12, segment: 'Loyal' },
    });
    expect(res.body.activePromotions.map((p: { promotion: { id: string } }) => p.promotion.id)).toEqual([usable.id]);
  });

  it('answers 404 for an unknown or deleted customer and 400 for a malformed id', async () => {
    const deleted = await insertCustomer(api.deps, team.rep.id, { deletedAt: new Date() });
    expect((await api.rest('GET', `/customers/${deleted.id}`, { token: team.rep.token })).status).toBe(404);
    expect((await api.rest('GET', `/customers/${MISSING_ID}`, { token: team.rep.token })).status).toBe(404);
    expect((await api.rest('GET', '/customers/123', { token: team.rep.token })).status).toBe(400);
  });
});

describe('PUT /customers/{id}', () => {
  it('changes only the given fields, clears with null, and records status changes on the timeline', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { email: 'old@example.com', notes: 'keep' });
    const res = await api.rest('PUT', `/customers/${customer.id}`, {
      token: team.rep.token,
      body: { email: null, status: 'PROSPECT', phone: '202 555 0199' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ email: null, notes: 'keep', status: 'PROSPECT', phone: '+12025550199' });
    const events = (await timelineOf(customer.id)).map((entry) => entry.eventType).sort();
    expect(events).toEqual(['customer.status_changed', 'customer.updated']);
  });

  it('on a new level assigns that level’s promotions, once, and records the level change', async () => {
    const gold = await insertPromotion(api.deps, { conditionType: 'CUSTOMER_LEVEL', customerLevelId: levels.Gold });
    const silver = await insertPromotion(api.deps, {
      conditionType: 'CUSTOMER_LEVEL',
      customerLevelId: levels.Silver,
    });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await api.rest('PUT', `/customers/${customer.id}`, {
      token: team.manager.token,
      body: { levelId: levels.Gold },
    });
    expect(res.status).toBe(200);
    expect(res.body.level.name).toBe('Gold');
    const held = res.body.activePromotions.map((p: { promotion: { id: string }; source: string }) => p.promotion.id);
    expect(held).toContain(gold.id);
    expect(held).not.toContain(silver.id);

    await api.rest('PUT', `/customers/${customer.id}`, { token: team.manager.token, body: { levelId: levels.Silver } });
    await api.rest('PUT', `/customers/${customer.id}`, { token: team.manager.token, body: { levelId: levels.Gold } });
    const rows = await api.deps.db
      .select()
      .from(schema.customerPromotions)
      .where(eq(schema.customerPromotions.customerId, customer.id));
    expect(rows.filter((row) => row.promotionId === gold.id)).toHaveLength(1);
    expect(rows.filter((row) => row.promotionId === silver.id)).toHaveLength(1);
    const timeline = (await timelineOf(customer.id)).map((entry) => entry.eventType);
    expect(timeline.filter((type) => type === 'customer.level_changed')).toHaveLength(3);
    expect(timeline.filter((type) => type === 'promotion.assigned')).toHaveLength(2);
  });

  it('lets only a caller with customers:update_all give a customer to another owner', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const byRep = await api.rest('PUT', `/customers/${customer.id}`, {
      token: team.rep.token,
      body: { ownerId: team.otherRep.id },
    });
    expect(byRep.status).toBe(403);
    const byManager = await api.rest('PUT', `/customers/${customer.id}`, {
      token: team.manager.token,
      body: { ownerId: team.otherRep.id },
    });
    expect(byManager.body.owner.id).toBe(team.otherRep.id);
  });

  it('refuses a phone another live customer has (409), an unknown level and self-referral (400)', async () => {
    const [a, b] = [await insertCustomer(api.deps, team.rep.id), await insertCustomer(api.deps, team.rep.id)];
    const put = (body: object) => api.rest('PUT', `/customers/${a.id}`, { token: team.manager.token, body });
    expect((await put({ phone: b.phone })).status).toBe(409);
    expect((await put({ levelId: MISSING_ID })).status).toBe(400);
    expect((await put({ referredById: a.id })).status).toBe(400);
  });
});

describe('DELETE /customers/{id}', () => {
  it('soft-deletes: hidden from get and lists, row and timeline kept, phone free again', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await api.rest('DELETE', `/customers/${customer.id}`, { token: team.manager.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: customer.id, outcome: 'DELETED' });
    expect((await api.rest('GET', `/customers/${customer.id}`, { token: team.manager.token })).status).toBe(404);
    const list = await api.rest('GET', `/customers?search=${customer.lastName}`, { token: team.manager.token });
    expect(list.body.total).toBe(0);
    const [row] = await api.deps.db.select().from(schema.customers).where(eq(schema.customers.id, customer.id));
    expect(row?.deletedAt).toBeInstanceOf(Date);
    expect((await timelineOf(customer.id)).map((entry) => entry.eventType)).toContain('customer.deleted');

    const reuse = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'New', lastName: 'Owner', phone: customer.phone },
    });
    expect(reuse.status).toBe(201);
    expect((await api.rest('DELETE', `/customers/${customer.id}`, { token: team.manager.token })).status).toBe(404);
  });
});

describe('who may do what to whose customer', () => {
  // rep owns `own`; otherRep owns `others`. 403 = lacks the permission, 404 = outside their scope.
  const cases = [
    { role: 'rep', target: 'own', get: 200, update: 200, remove: 403 },
    { role: 'rep', target: 'others', get: 404, update: 404, remove: 403 },
    { role: 'otherRep', target: 'own', get: 404, update: 404, remove: 403 },
    { role: 'manager', target: 'own', get: 200, update: 200, remove: 200 },
    { role: 'manager', target: 'others', get: 200, update: 200, remove: 200 },
    { role: 'admin', target: 'others', get: 200, update: 200, remove: 200 },
  ] as const;

  it.each(cases)('$role on $target customer: get $get, update $update, delete $remove', async (c) => {
    const owner = c.target === 'own' ? team.rep : team.otherRep;
    const customer = await insertCustomer(api.deps, owner.id);
    const token = team[c.role].token;
    expect((await api.rest('GET', `/customers/${customer.id}`, { token })).status).toBe(c.get);
    expect(
      (await api.rest('PUT', `/customers/${customer.id}`, { token, body: { notes: `edited by ${c.role}` } })).status,
    ).toBe(c.update);
    expect((await api.rest('DELETE', `/customers/${customer.id}`, { token })).status).toBe(c.remove);
    const [row] = await api.deps.db
      .select({ notes: schema.customers.notes, deletedAt: schema.customers.deletedAt })
      .from(schema.customers)
      .where(and(eq(schema.customers.id, customer.id)));
    expect(row?.notes).toBe(c.update === 200 ? `edited by ${c.role}` : null);
    expect(row?.deletedAt !== null).toBe(c.remove === 200);
  });

  it('works the same over tRPC', async () => {
    const theirs = await insertCustomer(api.deps, team.otherRep.id);
    await expect(api.caller(team.rep.token).customers.get({ id: theirs.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(api.caller(team.rep.token).customers.delete({ id: theirs.id })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const mine = await api.caller(team.otherRep.token).customers.get({ id: theirs.id });
    expect(mine.id).toBe(theirs.id);
  });
});

describe('JSON bodies keep their types on the REST mirror', () => {
  it('stores smsOptIn false as false, and rejects the string "false", over REST and then tRPC', async () => {
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Opt', lastName: 'Out', phone: uniquePhone(), smsOptIn: false },
    });
    expect(created.status).toBe(201);
    expect(created.body.smsOptIn).toBe(false);
    const stringly = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Opt', lastName: 'Out', phone: uniquePhone(), smsOptIn: 'false' },
    });
    expect(stringly.status).toBe(400);
    expect(stringly.body.errors[0].path).toEqual(['smsOptIn']);
    await expect(
      api.caller(team.rep.token).customers.create({
        firstName: 'Opt',
        lastName: 'Out',
        phone: uniquePhone(),
        smsOptIn: 'false' as unknown as boolean,
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
