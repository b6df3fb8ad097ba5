import { schema } from '@touch-crm/db';
import { assignLevelPromotions, jobActor } from '@touch-crm/services';
import { createTeam, insertCustomer, insertPromotion, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { eq, inArray } from 'drizzle-orm';
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
const DAY = 86_400_000;
const heldBy = (promotionId: string) =>
  api.deps.db.select().from(schema.customerPromotions).where(eq(schema.customerPromotions.promotionId, promotionId));

describe('POST /promotions', () => {
  it('creates a promotion of each condition type, storing the code upper-case', async () => {
    const bodies = [
      {
        name: 'Welcome',
        code: 'welcome10',
        discountType: 'PERCENTAGE',
        discountValue: 10,
        conditionType: 'FIRST_PURCHASE',
      },
      {
        name: 'Big basket',
        discountType: 'FIXED_AMOUNT',
        discountValue: 500,
        conditionType: 'MIN_PURCHASE',
        minPurchaseAmount: 10_000,
        validityDays: 30,
      },
      {
        name: 'Gold perk',
        discountType: 'PERCENTAGE',
        discountValue: 15,
        conditionType: 'CUSTOMER_LEVEL',
        customerLevelId: levels.Gold,
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '2027-01-01T00:00:00Z',
      },
      { name: 'Thanks for the referral', discountType: 'FIXED_AMOUNT', discountValue: 1000, conditionType: 'REFERRAL' },
      { name: 'Goodwill', discountType: 'PERCENTAGE', discountValue: 100, conditionType: 'MANUAL', isActive: false },
    ];
    for (const body of bodies) {
      const res = await api.rest('POST', '/promotions', { token: team.manager.token, body });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ ...body, code: body.code?.toUpperCase() ?? null, ...datesOf(body) });
    }
  });

  it.each([
    ['a percentage over 100', { discountValue: 101 }, 'discountValue'],
    ['a zero discount', { discountValue: 0 }, 'discountValue'],
    ['MIN_PURCHASE without minPurchaseAmount', { conditionType: 'MIN_PURCHASE' }, 'minPurchaseAmount'],
    ['CUSTOMER_LEVEL without a level', { conditionType: 'CUSTOMER_LEVEL' }, 'customerLevelId'],
    ['a level on another condition', { customerLevelId: MISSING_ID }, 'customerLevelId'],
    ['an unknown level', { conditionType: 'CUSTOMER_LEVEL', customerLevelId: MISSING_ID }, 'customerLevelId'],
    ['endsAt before startsAt', { startsAt: '2026-05-01T00:00:00Z', endsAt: '2026-04-01T00:00:00Z' }, 'endsAt'],
    ['a code with spaces', { code: 'NO SPACES' }, 'code'],
    ['validityDays of 0', { validityDays: 0 }, 'validityDays'],
  ])('answers %s with 400 naming the field', async (_, change, field) => {
    const res = await api.rest('POST', '/promotions', {
      token: team.manager.token,
      body: { name: 'Bad', discountType: 'PERCENTAGE', discountValue: 10, conditionType: 'MANUAL', ...change },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((issue: { path: string[] }) => issue.path[0])).toContain(field);
  });

  it('refuses a code already in use, whatever its case, with 409', async () => {
    const body = {
      name: 'Spring',
      code: 'SPRING',
      discountType: 'PERCENTAGE',
      discountValue: 5,
      conditionType: 'MANUAL',
    };
    expect((await api.rest('POST', '/promotions', { token: team.admin.token, body })).status).toBe(201);
    const again = await api.rest('POST', '/promotions', {
      token: team.manager.token,
      body: { ...body, code: 'spring' },
    });
    expect(again.status).toBe(409);
  });

  it('is forbidden to sales reps', async () => {
    const res = await api.rest('POST', '/promotions', {
      token: team.rep.token,
      body: { name: 'Mine', discountType: 'PERCENTAGE', discountValue: 50, conditionType: 'MANUAL' },
    });
    expect(res.status).toBe(403);
  });
});

function datesOf(body: { startsAt?: string; endsAt?: string }) {
  return {
    startsAt: body.startsAt ? new Date(body.startsAt).toISOString() : null,
    endsAt: body.endsAt ? new Date(body.endsAt).toISOString() : null,
  };
}

describe('GET /promotions', () => {
  it('lets every role read; `active` means usable now and conditionType filters', async () => {
    const tag = `List${Date.now()}`;
    const open = await insertPromotion(api.deps, { name: `${tag} open`, conditionType: 'REFERRAL' });
    const ended = await insertPromotion(api.deps, { name: `${tag} ended`, endsAt: new Date(Date.now() - DAY) });
    const future = await insertPromotion(api.deps, { name: `${tag} future`, startsAt: new Date(Date.now() + DAY) });
    const off = await insertPromotion(api.deps, { name: `${tag} off`, isActive: false });
    const ids = async (token: string, query: string) =>
      (await api.rest('GET', `/promotions?search=${tag}&sort=name&${query}`, { token })).body.items.map(
        (p: { id: string }) => p.id,
      );
    for (const user of [team.rep, team.manager, team.admin])
      expect(await ids(user.token, 'active=true')).toEqual([open.id]);
    expect(await ids(team.rep.token, 'active=false')).toEqual([ended.id, future.id, off.id]);
    expect(await ids(team.rep.token, 'conditionType=REFERRAL')).toEqual([open.id]);
  });
});

describe('GET /promotions/{id}', () => {
  it('returns the promotion, 404 when unknown', async () => {
    const promotion = await insertPromotion(api.deps);
    expect((await api.rest('GET', `/promotions/${promotion.id}`, { token: team.rep.token })).body.id).toBe(
      promotion.id,
    );
    expect((await api.rest('GET', `/promotions/${MISSING_ID}`, { token: team.rep.token })).status).toBe(404);
  });
});

describe('PUT /promotions/{id}', () => {
  it('validates the merged promotion as a whole', async () => {
    const promotion = await insertPromotion(api.deps);
    const put = (body: object, token = team.manager.token) =>
      api.rest('PUT', `/promotions/${promotion.id}`, { token, body });
    const incomplete = await put({ conditionType: 'MIN_PURCHASE' });
    expect(incomplete.status).toBe(400);
    expect(incomplete.body.errors[0].path).toEqual(['minPurchaseAmount']);
    const complete = await put({ conditionType: 'MIN_PURCHASE', minPurchaseAmount: 2_000 });
    expect(complete.body).toMatchObject({ conditionType: 'MIN_PURCHASE', minPurchaseAmount: 2_000 });
    expect((await put({ discountType: 'FIXED_AMOUNT', discountValue: 250 })).status).toBe(200);
    expect((await put({ discountType: 'PERCENTAGE' })).status).toBe(400);
    expect((await put({ name: 'Renamed' }, team.rep.token)).status).toBe(403);
  });
});

describe('DELETE /promotions/{id}', () => {
  it('removes a promotion never assigned, and deactivates one that was, keeping its history', async () => {
    const unused = await insertPromotion(api.deps);
    const removed = await api.rest('DELETE', `/promotions/${unused.id}`, { token: team.manager.token });
    expect(removed.body).toEqual({ id: unused.id, outcome: 'DELETED' });

    const assigned = await insertPromotion(api.deps);
    const customer = await insertCustomer(api.deps, team.rep.id);
    await api.rest('POST', `/promotions/${assigned.id}/assign`, {
      token: team.manager.token,
      body: { customerIds: [customer.id] },
    });
    const kept = await api.rest('DELETE', `/promotions/${assigned.id}`, { token: team.manager.token });
    expect(kept.body).toEqual({ id: assigned.id, outcome: 'DEACTIVATED' });
    const after = await api.rest('GET', `/promotions/${assigned.id}`, { token: team.manager.token });
    expect(after.body.isActive).toBe(false);
    expect(await heldBy(assigned.id)).toHaveLength(1);
    expect((await api.rest('DELETE', `/promotions/${assigned.id}`, { token: team.rep.token })).status).toBe(403);
  });
});

describe('POST /promotions/{id}/assign', () => {
  it('assigns, skips who already holds it or is unknown, and is idempotent', async () => {
    const promotion = await insertPromotion(api.deps, { validityDays: 7 });
    const [a, b] = [await insertCustomer(api.deps, team.rep.id), await insertCustomer(api.deps, team.otherRep.id)];
    const deleted = await insertCustomer(api.deps, team.rep.id, { deletedAt: new Date() });
    const assign = (customerIds: string[]) =>
      api.rest('POST', `/promotions/${promotion.id}/assign`, { token: team.manager.token, body: { customerIds } });

    const first = await assign([a.id]);
    expect(first.status).toBe(200);
    expect(first.body.assigned).toHaveLength(1);
    const expiresIn = new Date(first.body.assigned[0].expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(7 * DAY - 60_000);
    expect(expiresIn).toBeLessThanOrEqual(7 * DAY);

    const second = await assign([a.id, b.id, MISSING_ID, deleted.id, b.id]);
    expect(second.body.assigned.map((cp: { customerId: string }) => cp.customerId)).toEqual([b.id]);
    expect(second.body.assigned[0]).toMatchObject({
      status: 'ACTIVE',
      source: 'MANUAL',
      promotion: { id: promotion.id },
    });
    expect(second.body.skipped).toEqual([
      { customerId: a.id, reason: 'ALREADY_ASSIGNED' },
      { customerId: MISSING_ID, reason: 'NOT_FOUND' },
      { customerId: deleted.id, reason: 'NOT_FOUND' },
    ]);
    expect(await heldBy(promotion.id)).toHaveLength(2);
  });

  it('lets a sales rep assign only to their own customers, reporting others as not found', async () => {
    const promotion = await insertPromotion(api.deps);
    const [mine, theirs] = [
      await insertCustomer(api.deps, team.rep.id),
      await insertCustomer(api.deps, team.otherRep.id),
    ];
    const res = await api.rest('POST', `/promotions/${promotion.id}/assign`, {
      token: team.rep.token,
      body: { customerIds: [mine.id, theirs.id] },
    });
    expect(res.status).toBe(200);
    expect(res.body.assigned.map((cp: { customerId: string }) => cp.customerId)).toEqual([mine.id]);
    expect(res.body.skipped).toEqual([{ customerId: theirs.id, reason: 'NOT_FOUND' }]);
  });

  it('caps expiry at the promotion’s end when that comes before validityDays', async () => {
    const endsAt = new Date(Date.now() + 3 * DAY);
    const promotion = await insertPromotion(api.deps, { validityDays: 30, endsAt });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await api.rest('POST', `/promotions/${promotion.id}/assign`, {
      token: team.rep.token,
      body: { customerIds: [customer.id] },
    });
    expect(res.body.assigned[0].expiresAt).toBe(endsAt.toISOString());
  });

  it('answers 409 for an inactive, ended or not yet started promotion and 404 for an unknown one', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const body = { customerIds: [customer.id] };
    for (const values of [
      { isActive: false },
      { endsAt: new Date(Date.now() - 1) },
      { startsAt: new Date(Date.now() + DAY) },
    ]) {
      const promotion = await insertPromotion(api.deps, values);
      const res = await api.rest('POST', `/promotions/${promotion.id}/assign`, { token: team.manager.token, body });
      expect(res.status).toBe(409);
      expect(await heldBy(promotion.id)).toHaveLength(0);
    }
    expect(
      (await api.rest('POST', `/promotions/${MISSING_ID}/assign`, { token: team.manager.token, body })).status,
    ).toBe(404);
  });

  it('takes 1 to 1000 well-formed customer ids', async () => {
    const promotion = await insertPromotion(api.deps);
    const assign = (customerIds: unknown) =>
      api.rest('POST', `/promotions/${promotion.id}/assign`, { token: team.manager.token, body: { customerIds } });
    expect((await assign([])).status).toBe(400);
    expect((await assign(['nope'])).status).toBe(400);
    expect((await assign(Array.from({ length: 1001 }, () => MISSING_ID))).status).toBe(400);
    const thousand = await assign(Array.from({ length: 1000 }, () => crypto.randomUUID()));
    expect(thousand.status).toBe(200);
    expect(thousand.body.skipped).toHaveLength(1000);
  });

  it('never duplicates under concurrent calls', async () => {
    const promotion = await insertPromotion(api.deps);
    const customers = await Promise.all(Array.from({ length: 5 }, () => insertCustomer(api.deps, team.rep.id)));
    const customerIds = customers.map((c) => c.id);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api.rest('POST', `/promotions/${promotion.id}/assign`, {
          token: i % 2 ? team.manager.token : team.rep.token,
          body: { customerIds },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    const assignedTotal = results.reduce((sum, r) => sum + r.body.assigned.length, 0);
    expect(assignedTotal).toBe(5);
    const rows = await heldBy(promotion.id);
    expect(rows).toHaveLength(5);
    expect(new Set(rows.map((row) => row.customerId))).toEqual(new Set(customerIds));
  });
});

describe('assignLevelPromotions (the verb the RFM job reuses)', () => {
  it('assigns each customer their level’s open promotions in one statement, and again assigns nothing', async () => {
    const gold = await insertPromotion(api.deps, { conditionType: 'CUSTOMER_LEVEL', customerLevelId: levels.Gold });
    const platinum = await insertPromotion(api.deps, {
      conditionType: 'CUSTOMER_LEVEL',
      customerLevelId: levels.Platinum,
      validityDays: 10,
    });
    const closed = await insertPromotion(api.deps, {
      conditionType: 'CUSTOMER_LEVEL',
      customerLevelId: levels.Gold,
      isActive: false,
    });
    const golds = await Promise.all(
      [1, 2, 3].map(() => insertCustomer(api.deps, team.rep.id, { levelId: levels.Gold })),
    );
    const plat = await insertCustomer(api.deps, team.otherRep.id, { levelId: levels.Platinum });
    const none = await insertCustomer(api.deps, team.rep.id);
    const ids = [...golds, plat, none].map((c) => c.id);

    // Other tests' open Gold promotions are assigned too; look at this test's own.
    const mine = (cp: { promotion: { id: string } }) => [gold.id, platinum.id, closed.id].includes(cp.promotion.id);
    const assigned = (
      await api.deps.db.transaction((tx) =>
        assignLevelPromotions({ tx, jobs: api.deps.jobs }, jobActor('rfm.score'), ids),
      )
    ).filter(mine);
    expect(assigned).toHaveLength(4);
    expect(
      assigned
        .filter((cp) => cp.promotion.id === gold.id)
        .map((cp) => cp.customerId)
        .sort(),
    ).toEqual(golds.map((c) => c.id).sort());
    expect(assigned.find((cp) => cp.promotion.id === platinum.id)?.customerId).toBe(plat.id);
    expect(await heldBy(closed.id)).toHaveLength(0);

    const again = await api.deps.db.transaction((tx) =>
      assignLevelPromotions({ tx, jobs: api.deps.jobs }, jobActor('rfm.score'), ids),
    );
    expect(again).toEqual([]);
    const events = await api.deps.db
      .select({ id: schema.domainEvents.id, customerId: schema.domainEvents.customerId })
      .from(schema.domainEvents)
      .where(
        inArray(
          schema.domainEvents.entityId,
          assigned.map((cp) => cp.id),
        ),
      );
    expect(events).toHaveLength(4);
    const timeline = await api.deps.db
      .select()
      .from(schema.workLogs)
      .where(
        inArray(
          schema.workLogs.eventId,
          events.map((event) => event.id),
        ),
      );
    expect(timeline.map((entry) => entry.eventType)).toEqual(Array(4).fill('promotion.assigned'));
  });
});
