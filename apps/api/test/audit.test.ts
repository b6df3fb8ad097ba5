import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName } from '@touch-crm/db';
import {
  createTeam,
  createUser,
  DEFAULT_TEST_PASSWORD,
  insertProduct,
  insertPromotion,
  startTestApi,
  type TestApi,
  uniquePhone,
} from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const audit = (query: string, token = team.admin.token) => api.rest('GET', `/audit?${query}`, { token });

describe('the audit trail records every change with before and after', () => {
  it("shows who changed a customer's phone from what to what", async () => {
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Ada', lastName: 'Audit', phone: uniquePhone() },
    });
    const newPhone = uniquePhone();
    await api.rest('PUT', `/customers/${created.body.id}`, { token: team.rep.token, body: { phone: newPhone } });
    const res = await audit(`entityType=customer&entityId=${created.body.id}&sort=occurredAt`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((entry: { action: string }) => entry.action)).toEqual(['created', 'updated']);
    expect(res.body.items[1]).toMatchObject({
      actor: { userId: team.rep.id, username: team.rep.username, job: null },
      entityType: 'customer',
      changes: { phone: { before: created.body.phone, after: newPhone } },
    });
    expect(new Date(res.body.items[1].occurredAt).getTime()).toBeGreaterThan(0);
  });

  it('records orders, promotions, users, roles and permissions', async () => {
    const customer = await api.rest('POST', '/customers', {
      token: team.manager.token,
      body: { firstName: 'Orla', lastName: 'Order', phone: uniquePhone() },
    });
    const product = await insertProduct(api.deps, { unitPrice: 2500 });
    const order = await api.rest('POST', '/orders', {
      token: team.manager.token,
      body: { customerId: customer.body.id, items: [{ productId: product.id, quantity: 2 }] },
    });
    expect(order.status).toBe(201);
    expect((await audit(`entityType=order&entityId=${order.body.id}`)).body.items[0].action).toBe('placed');

    const promotion = await insertPromotion(api.deps);
    await api.rest('PUT', `/promotions/${promotion.id}`, { token: team.manager.token, body: { discountValue: 15 } });
    const promotionAudit = await audit(`entityType=promotion&entityId=${promotion.id}`);
    expect(promotionAudit.body.items[0].changes.discountValue).toEqual({ before: 10, after: 15 });

    const roles = await roleIdsByName(api.deps.db);
    await api.rest('PUT', `/users/${team.otherRep.id}`, {
      token: team.admin.token,
      body: { roleId: roles[ROLE_NAMES.salesManager] },
    });
    const userAudit = await audit(`entityType=user&entityId=${team.otherRep.id}`);
    expect(userAudit.body.items[0]).toMatchObject({
      action: 'role_changed',
      changes: { roleId: { before: roles[ROLE_NAMES.salesRep], after: roles[ROLE_NAMES.salesManager] } },
    });

    const roleId = roles[ROLE_NAMES.salesRep] as string;
    const before = (await api.rest('GET', '/roles', { token: team.admin.token })).body.find(
      (role: { id: string }) => role.id === roleId,
    ).permissions;
    await api.rest('PUT', `/roles/${roleId}/permissions`, {
      token: team.admin.token,
      body: { permissions: before.filter((p: string) => p !== 'worklogs:read_own') },
    });
    const roleAudit = await audit(`entityType=role&entityId=${roleId}`);
    expect(roleAudit.body.items[0].changes.permissions.before).toContain('worklogs:read_own');
    expect(roleAudit.body.items[0].changes.permissions.after).not.toContain('worklogs:read_own');
    await api.rest('PUT', `/roles/${roleId}/permissions`, { token: team.admin.token, body: { permissions: before } });
  });

  it('never records password hashes or secrets', async () => {
    const user = await createUser(api.deps);
    await api.rest('POST', '/auth/change-password', {
      token: user.token,
      body: { currentPassword: DEFAULT_TEST_PASSWORD, newPassword: 'another-passw0rd' },
    });
    const res = await audit(`entityType=user&entityId=${user.id}`);
    expect(res.body.items[0].action).toBe('password_changed');
    expect(JSON.stringify(res.body)).not.toMatch(/argon2|passwordHash|another-passw0rd/);
  });
});

describe('GET /audit', () => {
  it('filters by user, action and time, paginated', async () => {
    const res = await audit(`userId=${team.rep.id}&action=created&pageSize=1`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 1 });
    expect(res.body.total).toBeGreaterThanOrEqual(1);
    expect(res.body.items[0].actor.userId).toBe(team.rep.id);
    const future = await audit(`from=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`);
    expect(future.body.total).toBe(0);
  });

  it.each(['rep', 'manager'] as const)('is for administrators only: a %s gets 403', async (who) => {
    const res = await audit('', team[who].token);
    expect(res.status).toBe(403);
  });

  it('names the failing field on bad filters', async () => {
    const badId = await audit('entityId=not-an-id');
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0].path).toEqual(['entityId']);
    const backwards = await audit('from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors[0].path).toEqual(['to']);
  });

  it('offers no way to change or delete audit rows', async () => {
    expect((await api.rest('DELETE', '/audit', { token: team.admin.token })).status).toBe(404);
    expect((await api.rest('PUT', '/audit', { token: team.admin.token, body: {} })).status).toBe(404);
  });
});
