import { schema } from '@touch-crm/db';
import { createTeam, createUser, type RoleName, startTestApi, type TestApi, unique } from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecondApi, startSecondApi } from './support/second-api.ts';

// Each API process caches role permission sets by (role, version). These prove the contract across
// two processes: an edit made through one applies to the very next request on the other.
let api: TestApi;
let second: SecondApi;
let admin: Awaited<ReturnType<typeof createTeam>>['admin'];

beforeAll(async () => {
  api = await startTestApi();
  admin = (await createTeam(api.deps)).admin;
  second = await startSecondApi(api.databaseUrl);
}, 60_000);

afterAll(async () => {
  await second?.stop();
  await api?.close();
});

const onSecond = async (path: string, credential: string) => {
  const response = await fetch(`${second.url}${path}`, { headers: { authorization: `Bearer ${credential}` } });
  return { status: response.status, body: (await response.json()) as any };
};

/** A role of its own granting `permissions`, so edits here touch no other test's role. */
async function roleWith(permissions: string[]) {
  const name = unique('Reader');
  const [role] = await api.deps.db.insert(schema.roles).values({ name }).returning();
  const edit = await api.rest('PUT', `/roles/${role?.id}/permissions`, { token: admin.token, body: { permissions } });
  expect(edit.status).toBe(200);
  return { id: role?.id as string, name: name as RoleName };
}

/** Two requests on the second process, so its cache holds the role's current set. */
async function warm(credential: string, status = 200) {
  expect((await onSecond('/customers', credential)).status).toBe(status);
  expect((await onSecond('/customers', credential)).status).toBe(status);
}

describe('a permission edit on one API process', () => {
  it('applies to the very next request on the other, for a token and for an API key', async () => {
    const role = await roleWith(['customers:read_own', 'api_keys:manage_own']);
    const user = await createUser(api.deps, { role: role.name });
    const key = await api.rest('POST', '/api-keys', {
      token: user.token,
      body: { name: 'Two processes', permissions: ['customers:read_own'] },
    });
    expect(key.status).toBe(201);
    await warm(user.token);
    await warm(key.body.key);

    const edit = await api.rest('PUT', `/roles/${role.id}/permissions`, {
      token: admin.token,
      body: { permissions: ['api_keys:manage_own'] },
    });
    expect(edit.status).toBe(200);
    expect((await onSecond('/customers', user.token)).status).toBe(403);
    expect((await onSecond('/customers', key.body.key)).status).toBe(403);
    expect((await onSecond('/auth/me', user.token)).body.permissions).toEqual(['api_keys:manage_own']);

    await api.rest('PUT', `/roles/${role.id}/permissions`, {
      token: admin.token,
      body: { permissions: ['customers:read_own', 'api_keys:manage_own'] },
    });
    expect((await onSecond('/customers', user.token)).status).toBe(200);
    expect((await onSecond('/customers', key.body.key)).status).toBe(200);
  });

  it('applies when the role_permissions rows are written by SQL, not the service', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name });
    await warm(user.token);
    await api.deps.db.delete(schema.rolePermissions).where(eq(schema.rolePermissions.roleId, role.id));
    expect((await onSecond('/customers', user.token)).status).toBe(403);
    await api.deps.db.execute(sql`
      insert into role_permissions (role_id, permission_id)
      select ${role.id}, id from permissions where key = 'customers:read_own'`);
    expect((await onSecond('/customers', user.token)).status).toBe(200);
  });
});

describe('a role change on one API process', () => {
  it('applies to the very next request on the other', async () => {
    const reader = await roleWith(['customers:read_own']);
    const nobody = await roleWith([]);
    const user = await createUser(api.deps, { role: reader.name });
    await warm(user.token);
    // The other process has the target role's set cached too.
    await warm((await createUser(api.deps, { role: nobody.name })).token, 403);

    const change = await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { roleId: nobody.id } });
    expect(change.status).toBe(200);
    expect((await onSecond('/customers', user.token)).status).toBe(403);
    await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { roleId: reader.id } });
    expect((await onSecond('/customers', user.token)).status).toBe(200);
  });
});

describe('a deactivation on one API process', () => {
  it('refuses the user on the other from the very next request', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name });
    await warm(user.token);
    const off = await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { isActive: false } });
    expect(off.status).toBe(200);
    expect((await onSecond('/customers', user.token)).status).toBe(401);
  });
});
