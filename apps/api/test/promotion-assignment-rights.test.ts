import { schema } from '@touch-crm/db';
import {
  createTeam,
  insertCustomer,
  insertPromotion,
  startTestApi,
  type TestApi,
  type TestUser,
} from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let platinum: string;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
  const [level] = await api.deps.db
    .select()
    .from(schema.customerLevels)
    .where(eq(schema.customerLevels.name, 'Platinum'));
  platinum = level?.id as string;
});
afterAll(() => api?.close());

const assign = (user: TestUser, promotionId: string, customerIds: string[]) =>
  api.rest('POST', `/promotions/${promotionId}/assign`, { token: user.token, body: { customerIds } });
const holders = async (promotionId: string) =>
  (
    await api.deps.db
      .select({ customerId: schema.customerPromotions.customerId })
      .from(schema.customerPromotions)
      .where(eq(schema.customerPromotions.promotionId, promotionId))
  ).map((row) => row.customerId);

/** A VIP reward like the demo's: 25 % off, earned by reaching Platinum. */
const vipPromotion = () =>
  insertPromotion(api.deps, {
    discountValue: 25,
    conditionType: 'CUSTOMER_LEVEL',
    customerLevelId: platinum,
  });

describe('who may assign which promotion to whom', () => {
  it('a sales rep assigns MANUAL promotions to own customers; another rep’s customer is skipped as not found', async () => {
    const promotion = await insertPromotion(api.deps);
    const [mine, theirs] = [
      await insertCustomer(api.deps, team.rep.id),
      await insertCustomer(api.deps, team.otherRep.id),
    ];
    const res = await assign(team.rep, promotion.id, [mine.id, theirs.id]);
    expect(res.status).toBe(200);
    expect(res.body.skipped).toEqual([{ customerId: theirs.id, reason: 'NOT_FOUND' }]);
    expect(await holders(promotion.id)).toEqual([mine.id]);
  });

  it('a sales rep may not assign any other kind, not even to an own customer (403, nothing assigned)', async () => {
    const mine = await insertCustomer(api.deps, team.rep.id);
    const vip = await vipPromotion();
    const spend = await insertPromotion(api.deps, { conditionType: 'MIN_PURCHASE', minPurchaseAmount: 10_000 });
    const first = await insertPromotion(api.deps, { conditionType: 'FIRST_PURCHASE' });
    for (const promotion of [vip, spend, first]) {
      const res = await assign(team.rep, promotion.id, [mine.id]);
      expect(res.status).toBe(403);
      expect(res.body.detail).toBe('You may assign only MANUAL promotions');
      expect(await holders(promotion.id)).toEqual([]);
    }
    // Nor through tRPC.
    await expect(
      api.caller(team.rep.token).promotions.assign({ id: vip.id, customerIds: [mine.id] }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a manager and an administrator assign any active promotion to anyone’s customers', async () => {
    for (const user of [team.manager, team.admin]) {
      const vip = await vipPromotion();
      const manual = await insertPromotion(api.deps);
      const [repsCustomer, otherRepsCustomer] = [
        await insertCustomer(api.deps, team.rep.id),
        await insertCustomer(api.deps, team.otherRep.id),
      ];
      for (const promotion of [vip, manual]) {
        const res = await assign(user, promotion.id, [repsCustomer.id, otherRepsCustomer.id]);
        expect(res.status).toBe(200);
        expect(res.body.assigned).toHaveLength(2);
        expect(res.body.assigned[0].source).toBe('MANUAL');
      }
    }
  });

  it('an inactive promotion is still 409 for a manager, and a rep learns nothing more than 403 for a VIP one', async () => {
    const mine = await insertCustomer(api.deps, team.rep.id);
    const inactiveVip = await insertPromotion(api.deps, {
      conditionType: 'CUSTOMER_LEVEL',
      customerLevelId: platinum,
      isActive: false,
    });
    expect((await assign(team.manager, inactiveVip.id, [mine.id])).status).toBe(409);
    expect((await assign(team.rep, inactiveVip.id, [mine.id])).status).toBe(403);
  });

  it('follows the role’s permissions, not its name: without assign_manual a rep may assign nothing', async () => {
    const roles = await api.rest('GET', '/roles', { token: team.admin.token });
    const repRole = roles.body.find((role: { id: string }) => role.id === team.rep.roleId);
    const without = repRole.permissions.filter((key: string) => key !== 'promotions:assign_manual');
    const edit = await api.rest('PUT', `/roles/${team.rep.roleId}/permissions`, {
      token: team.admin.token,
      body: { permissions: without },
    });
    expect(edit.status).toBe(200);
    try {
      const promotion = await insertPromotion(api.deps);
      const mine = await insertCustomer(api.deps, team.rep.id);
      const res = await assign(team.rep, promotion.id, [mine.id]);
      expect(res.status).toBe(403);
      expect(res.body.detail).toBe('You may not assign promotions');
      // Granted assign_any, the same rep may hand out a VIP promotion, still only to own customers.
      await api.rest('PUT', `/roles/${team.rep.roleId}/permissions`, {
        token: team.admin.token,
        body: { permissions: [...without, 'promotions:assign_any'] },
      });
      const vip = await vipPromotion();
      const theirs = await insertCustomer(api.deps, team.otherRep.id);
      const granted = await assign(team.rep, vip.id, [mine.id, theirs.id]);
      expect(granted.status).toBe(200);
      expect(await holders(vip.id)).toEqual([mine.id]);
    } finally {
      await api.rest('PUT', `/roles/${team.rep.roleId}/permissions`, {
        token: team.admin.token,
        body: { permissions: repRole.permissions },
      });
    }
  });
});
