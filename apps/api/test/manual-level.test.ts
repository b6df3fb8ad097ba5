import { schema } from '@touch-crm/db';
import { scoreRfm } from '@touch-crm/services';
import {
  createTeam,
  customerWithRfm,
  insertCustomer,
  insertPromotion,
  startTestApi,
  type TestApi,
  type TestUser,
} from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { customerLevels, customerPromotions, orders } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let levels: Record<string, string>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
  levels = Object.fromEntries((await api.deps.db.select().from(customerLevels)).map((l) => [l.name, l.id]));
});
afterAll(() => api?.close());

const setLevel = (user: TestUser, customerId: string, levelId: string | null, extra: object = {}) =>
  api.rest('PUT', `/customers/${customerId}`, { token: user.token, body: { levelId, ...extra } });
const stored = (customerId: string) => customerWithRfm(api.deps, customerId);

describe('setting a level by hand needs customers:set_level', () => {
  it('a sales rep may not set the level of an own customer (403): no level, no level promotions', async () => {
    const vip = await insertPromotion(api.deps, { conditionType: 'CUSTOMER_LEVEL', customerLevelId: levels.Platinum });
    const mine = await insertCustomer(api.deps, team.rep.id);
    const res = await setLevel(team.rep, mine.id, levels.Platinum as string);
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/customers:set_level/);
    expect(await stored(mine.id)).toMatchObject({ levelId: null, manualLevelId: null });
    const held = await api.deps.db.select().from(customerPromotions).where(eq(customerPromotions.promotionId, vip.id));
    expect(held).toEqual([]);
    await expect(
      api.caller(team.rep.token).customers.update({ id: mine.id, levelId: levels.Gold }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a sales rep gets 404 for another rep’s customer, and still edits other fields of own customers', async () => {
    const theirs = await insertCustomer(api.deps, team.otherRep.id);
    expect((await setLevel(team.rep, theirs.id, levels.Gold as string)).status).toBe(404);
    const mine = await insertCustomer(api.deps, team.rep.id);
    const edit = await api.rest('PUT', `/customers/${mine.id}`, { token: team.rep.token, body: { notes: 'called' } });
    expect(edit.status).toBe(200);
  });

  it('a sales rep may send back the level a manager set (a form resubmitted whole): no change', async () => {
    const mine = await insertCustomer(api.deps, team.rep.id);
    expect((await setLevel(team.manager, mine.id, levels.Gold as string)).status).toBe(200);
    const resent = await setLevel(team.rep, mine.id, levels.Gold as string, { notes: 'resent' });
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ level: { name: 'Gold' }, manualLevelId: levels.Gold, notes: 'resent' });
    expect((await setLevel(team.rep, mine.id, null)).status).toBe(403);
    // The same for a level the RFM job gave: sent back unchanged, it pins nothing.
    const scored = await insertCustomer(api.deps, team.rep.id, { levelId: levels.Silver });
    const unchanged = await setLevel(team.rep, scored.id, levels.Silver as string);
    expect(unchanged.status).toBe(200);
    expect(await stored(scored.id)).toMatchObject({ levelId: levels.Silver, manualLevelId: null });
    expect((await setLevel(team.rep, scored.id, levels.Gold as string)).status).toBe(403);
  });

  it('a manager and an administrator set any customer’s level: kept as the manual level, with its promotions', async () => {
    for (const user of [team.manager, team.admin]) {
      const vip = await insertPromotion(api.deps, {
        conditionType: 'CUSTOMER_LEVEL',
        customerLevelId: levels.Platinum,
      });
      const customer = await insertCustomer(api.deps, team.otherRep.id);
      const res = await setLevel(user, customer.id, levels.Platinum as string);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ level: { name: 'Platinum' }, manualLevelId: levels.Platinum });
      expect(res.body.activePromotions.map((cp: { promotion: { id: string } }) => cp.promotion.id)).toContain(vip.id);
    }
  });

  it('an unknown level is a 400 on levelId', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const res = await setLevel(team.manager, customer.id, '00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['levelId']);
  });
});

describe('a manual level is a floor for the RFM job until cleared', () => {
  const ids: string[] = [];
  const now = new Date();
  const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);

  beforeAll(async () => {
    // Ten customers: the i-th has i orders of i × 10.00, so customer 1 scores 3 (Bronze), customer 10 scores 15.
    for (let i = 1; i <= 10; i++) {
      const customer = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', firstName: `M${i}` });
      ids.push(customer.id);
      await api.deps.db.insert(orders).values(
        Array.from({ length: i }, (_, k) => ({
          customerId: customer.id,
          status: 'PAID' as const,
          currency: 'USD',
          subtotal: i * 1000,
          total: i * 1000,
          createdAt: daysAgo(30 - 2 * i + k * 3),
        })),
      );
    }
  });

  it('keeps a customer at the manual level when the score is lower, and raises one whose score is higher', async () => {
    const [low, high] = [ids[0] as string, ids[9] as string];
    expect((await setLevel(team.manager, low, levels.Gold as string)).status).toBe(200);
    expect((await setLevel(team.manager, high, levels.Bronze as string)).status).toBe(200);
    await scoreRfm(api.deps, now);
    expect(await stored(low)).toMatchObject({ rfmScore: 3, levelId: levels.Gold, manualLevelId: levels.Gold });
    expect(await stored(high)).toMatchObject({ rfmScore: 15, levelId: levels.Platinum, manualLevelId: levels.Bronze });
    // A second run changes nothing.
    expect((await scoreRfm(api.deps, now)).changed).toBe(0);
  });

  it('clearing (levelId null) returns the customer to the level of their score, and the job then moves them freely', async () => {
    const low = ids[0] as string;
    const cleared = await setLevel(team.manager, low, null);
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ level: { name: 'Bronze' }, manualLevelId: null });
    await scoreRfm(api.deps, now);
    expect(await stored(low)).toMatchObject({ levelId: levels.Bronze, manualLevelId: null });
  });
});
