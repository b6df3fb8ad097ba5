import { schema } from '@touch-crm/db';
import {
  createTeam,
  createUser,
  type RoleName,
  startTestApi,
  type TestApi,
  unique,
  waitFor,
} from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecondApi, startSecondApi } from './support/second-api.ts';

// Each API process caches session rows by user id, dropped by LISTEN/NOTIFY (docs/permissions.md,
// "How sessions stay current"). These prove the contract across two processes: a change made
// through one applies to the very next request on the other; one made in SQL within 1.5 s.
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

/** Until the second process answers `status` (SQL changes carry no fence: they apply within 1.5 s). */
const untilStatus = (credential: string, status: number) =>
  waitFor(async () => (await onSecond('/customers', credential)).status === status, {
    what: `status ${status} on the second process`,
    timeoutMs: 5_000,
  });

/** Two requests on the second process, so its cache holds the user's session row. */
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

  it('applies within 1.5 s when the role_permissions rows are written by SQL, not the service', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name });
    await warm(user.token);
    await api.deps.db.delete(schema.rolePermissions).where(eq(schema.rolePermissions.roleId, role.id));
    await untilStatus(user.token, 403);
    await api.deps.db.execute(sql`
      insert into role_permissions (role_id, permission_id)
      select ${role.id}, id from permissions where key = 'customers:read_own'`);
    await untilStatus(user.token, 200);
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

describe('the session cache of the other API process', () => {
  it('serves a warm session without reading the user (a change no trigger announces stays unseen)', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name, fullName: 'Cached Name' });
    await warm(user.token);
    // session_replication_role = replica skips triggers: the only way a change goes unannounced.
    await api.deps.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.update(schema.users).set({ fullName: 'Silent Name' }).where(eq(schema.users.id, user.id));
    });
    expect((await onSecond('/auth/me', user.token)).body.fullName).toBe('Cached Name');
    // Any announced change to the user drops the entry.
    await api.deps.db
      .update(schema.users)
      .set({ email: `${unique('mail')}@example.com` })
      .where(eq(schema.users.id, user.id));
    await waitFor(async () => (await onSecond('/auth/me', user.token)).body.fullName === 'Silent Name', {
      what: 'the entry dropped',
      timeoutMs: 5_000,
    });
  });

  it('drops a user deactivated in SQL within 1.5 s', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name });
    await warm(user.token);
    await api.deps.db.update(schema.users).set({ isActive: false }).where(eq(schema.users.id, user.id));
    await untilStatus(user.token, 401);
  });
});

describe('a password change on one API process', () => {
  it('refuses the old token on the other from the very next request', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name });
    await warm(user.token);
    const change = await api.rest('POST', '/auth/change-password', {
      token: user.token,
      body: { currentPassword: user.password, newPassword: 'another-long-passphrase-42' },
    });
    expect(change.status).toBe(200);
    expect((await onSecond('/customers', user.token)).status).toBe(401);
  });
});

describe('a profile edit on one API process', () => {
  it('shows on the other from the very next request', async () => {
    const role = await roleWith(['customers:read_own']);
    const user = await createUser(api.deps, { role: role.name });
    await warm(user.token);
    expect((await onSecond('/auth/me', user.token)).body.fullName).not.toBe('Renamed Person');
    const edit = await api.rest('PUT', `/users/${user.id}`, {
      token: admin.token,
      body: { fullName: 'Renamed Person' },
    });
    expect(edit.status).toBe(200);
    expect((await onSecond('/auth/me', user.token)).body.fullName).toBe('Renamed Person');
  });
});
