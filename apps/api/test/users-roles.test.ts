import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName } from '@touch-crm/db';
import { createTeam, startTestApi, type TestApi, unique } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let roleIds: Record<string, string>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
  roleIds = await roleIdsByName(api.deps.db);
});
afterAll(() => api?.close());

const newUser = () => ({
  username: unique('new'),
  password: 'a-good-password',
  fullName: 'New Person',
  email: `${unique('mail')}@example.com`,
  roleId: roleIds[ROLE_NAMES.salesRep],
});

describe('POST /auth/register', () => {
  it('lets an administrator create a user (201, no hash), who can then sign in', async () => {
    const body = newUser();
    const res = await api.rest('POST', '/auth/register', { token: team.admin.token, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ username: body.username, role: { name: ROLE_NAMES.salesRep }, isActive: true });
    expect(JSON.stringify(res.body)).not.toMatch(/argon|hash/i);
    const login = await api.rest('POST', '/auth/login', { body: { username: body.username, password: body.password } });
    expect(login.status).toBe(200);
    expect(login.body.user.mustChangePassword).toBe(false);
  });

  it('answers 409 for a duplicate username or email, case-insensitively', async () => {
    const body = newUser();
    expect((await api.rest('POST', '/auth/register', { token: team.admin.token, body })).status).toBe(201);
    const sameName = await api.rest('POST', '/auth/register', {
      token: team.admin.token,
      body: { ...newUser(), username: body.username.toUpperCase() },
    });
    expect(sameName.status).toBe(409);
    const sameEmail = await api.rest('POST', '/auth/register', {
      token: team.admin.token,
      body: { ...newUser(), email: body.email.toUpperCase() },
    });
    expect(sameEmail.status).toBe(409);
  });

  it.each(['rep', 'manager'] as const)('refuses a %s with 403', async (who) => {
    const res = await api.rest('POST', '/auth/register', { token: team[who].token, body: newUser() });
    expect(res.status).toBe(403);
  });

  it('rejects an unknown role with 400 on roleId', async () => {
    const res = await api.rest('POST', '/auth/register', {
      token: team.admin.token,
      body: { ...newUser(), roleId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['roleId']);
  });
});

describe('users', () => {
  it('lists with search, role and active filters, paginated', async () => {
    const res = await api.rest('GET', `/users?search=${team.rep.username}&isActive=true&pageSize=5`, {
      token: team.admin.token,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 1, page: 1, pageSize: 5 });
    expect(res.body.items[0].username).toBe(team.rep.username);
    const managers = await api.rest('GET', `/users?roleId=${roleIds[ROLE_NAMES.salesManager]}`, {
      token: team.manager.token,
    });
    expect(managers.body.items.every((u: { role: { name: string } }) => u.role.name === ROLE_NAMES.salesManager)).toBe(
      true,
    );
  });

  it('hides the user list from a sales rep (403) and edits from a manager (403)', async () => {
    expect((await api.rest('GET', '/users', { token: team.rep.token })).status).toBe(403);
    const edit = await api.rest('PUT', `/users/${team.rep.id}`, { token: team.manager.token, body: { fullName: 'X' } });
    expect(edit.status).toBe(403);
  });

  it('404s an unknown user', async () => {
    const res = await api.rest('GET', '/users/00000000-0000-4000-8000-000000000000', { token: team.admin.token });
    expect(res.status).toBe(404);
  });

  it("applies a role change on the user's very next request", async () => {
    const before = await api.rest('GET', '/users', { token: team.otherRep.token });
    expect(before.status).toBe(403);
    const promote = await api.rest('PUT', `/users/${team.otherRep.id}`, {
      token: team.admin.token,
      body: { roleId: roleIds[ROLE_NAMES.salesManager] },
    });
    expect(promote.status).toBe(200);
    expect(promote.body.role.name).toBe(ROLE_NAMES.salesManager);
    expect((await api.rest('GET', '/users', { token: team.otherRep.token })).status).toBe(200);
  });
});

describe('roles and permissions', () => {
  it('lists roles with their permissions and every permission', async () => {
    const roles = await api.rest('GET', '/roles', { token: team.admin.token });
    expect(roles.status).toBe(200);
    const rep = roles.body.find((r: { name: string }) => r.name === ROLE_NAMES.salesRep);
    expect(rep.permissions).toContain('customers:read_own');
    expect(rep.permissions).not.toContain('customers:read_all');
    const permissions = await api.rest('GET', '/permissions', { token: team.admin.token });
    expect(permissions.body.map((p: { key: string }) => p.key)).toContain('roles:update');
  });

  it('takes a permission edit into effect without restart, and rejects unknown keys', async () => {
    const admin = await api.rest('GET', '/roles', { token: team.admin.token });
    const manager = admin.body.find((r: { name: string }) => r.name === ROLE_NAMES.salesManager);
    const without = manager.permissions.filter((p: string) => p !== 'users:read');
    const user = team.manager;
    expect((await api.rest('GET', '/users', { token: user.token })).status).toBe(200);
    const edit = await api.rest('PUT', `/roles/${manager.id}/permissions`, {
      token: team.admin.token,
      body: { permissions: without },
    });
    expect(edit.status).toBe(200);
    expect((await api.rest('GET', '/users', { token: user.token })).status).toBe(403);
    await api.rest('PUT', `/roles/${manager.id}/permissions`, {
      token: team.admin.token,
      body: { permissions: manager.permissions },
    });
    expect((await api.rest('GET', '/users', { token: user.token })).status).toBe(200);

    const unknown = await api.rest('PUT', `/roles/${manager.id}/permissions`, {
      token: team.admin.token,
      body: { permissions: ['nope:never'] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toEqual(['permissions']);
  });

  it('refuses permission edits by a manager', async () => {
    const res = await api.rest('PUT', `/roles/${roleIds[ROLE_NAMES.salesRep]}/permissions`, {
      token: team.manager.token,
      body: { permissions: [] },
    });
    expect(res.status).toBe(403);
  });
});

describe('the same procedure over tRPC and REST', () => {
  it('returns the same user from auth.me', async () => {
    const viaRest = await api.rest('GET', '/auth/me', { token: team.rep.token });
    const viaCaller = await api.caller(team.rep.token).auth.me();
    const viaHttp = await fetch(`${api.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${team.rep.token}` } });
    const trpcBody = (await viaHttp.json()) as { result: { data: unknown } };
    expect(viaCaller).toEqual(viaRest.body);
    expect(trpcBody.result.data).toEqual(viaRest.body);
  });

  it('maps errors the same way: 403 FORBIDDEN on both', async () => {
    await expect(api.caller(team.rep.token).users.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const viaHttp = await fetch(`${api.url}/trpc/users.list?input=${encodeURIComponent('{}')}`, {
      headers: { authorization: `Bearer ${team.rep.token}` },
    });
    expect(viaHttp.status).toBe(403);
    const body = await viaHttp.json();
    expect(JSON.stringify(body)).not.toMatch(/stack/);
  });
});
