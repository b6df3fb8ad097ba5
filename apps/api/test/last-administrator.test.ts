import { PERMISSIONS, ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName, schema } from '@touch-crm/db';
import { ConflictError, loadUserCaller, setRolePermissions, updateUser } from '@touch-crm/services';
import { adminUser, createUser, startTestApi, type TestApi, type TestUser } from '@touch-crm/test-utils';
import { eq, inArray, ne, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

let api: TestApi;
let roleIds: Record<string, string>;
beforeAll(async () => {
  api = await startTestApi();
  roleIds = await roleIdsByName(api.deps.db);
});
afterAll(() => api?.close());

const adminRole = () => roleIds[ROLE_NAMES.admin] as string;
const repRole = () => roleIds[ROLE_NAMES.salesRep] as string;
const ALL_PERMISSIONS = Object.keys(PERMISSIONS);

/** Each test starts with the seeded admin as the only active user administrator. */
let admin: TestUser;
beforeEach(async () => {
  admin = await adminUser(api.deps);
  await api.deps.db.update(schema.users).set({ roleId: repRole() }).where(ne(schema.users.id, admin.id));
  // A change in SQL reaches the session cache within 1.5 s; the fence makes it now.
  await api.deps.sessionCache?.fence();
  await api.rest('PUT', `/roles/${adminRole()}/permissions`, {
    token: admin.token,
    body: { permissions: ALL_PERMISSIONS },
  });
});

const setRole = (token: string, userId: string, roleId: string) =>
  api.rest('PUT', `/users/${userId}`, { token, body: { roleId } });
const roleOf = async (userId: string) =>
  (await api.deps.db.select().from(schema.users).where(eq(schema.users.id, userId)))[0]?.roleId;

describe('the last user administrator cannot lock everyone out', () => {
  it('refuses demoting yourself when nobody else could manage users and roles (409, nothing changed)', async () => {
    const res = await setRole(admin.token, admin.id, repRole());
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/no active user could manage users and roles/);
    expect(res.body.reason).toBe('LAST_ADMIN');
    expect(res.body.details).toEqual({ required: ['users:update', 'roles:update'] });
    expect(await roleOf(admin.id)).toBe(adminRole());
  });

  it('allows it once another active administrator exists', async () => {
    const other = await createUser(api.deps, { role: ROLE_NAMES.admin });
    expect((await setRole(admin.token, admin.id, repRole())).status).toBe(200);
    // Now `other` is the last one: deactivating or demoting them is refused, by anyone able to ask.
    const promoted = await setRole(other.token, admin.id, adminRole());
    expect(promoted.status).toBe(200);
    expect((await setRole(admin.token, other.id, repRole())).status).toBe(200);
    expect((await setRole(admin.token, admin.id, repRole())).status).toBe(409);
  });

  it('an inactive administrator does not count', async () => {
    await createUser(api.deps, { role: ROLE_NAMES.admin, isActive: false });
    expect((await setRole(admin.token, admin.id, repRole())).status).toBe(409);
  });

  it('refuses deactivating the other last administrator', async () => {
    const other = await createUser(api.deps, { role: ROLE_NAMES.admin });
    await setRole(other.token, admin.id, repRole());
    // The seeded admin, now a rep, lost users:update; give their role what is needed to try.
    const manager = await createUser(api.deps, { role: ROLE_NAMES.salesManager });
    const managerRole = roleIds[ROLE_NAMES.salesManager] as string;
    const managerPermissions = await api.rest('GET', '/roles', { token: other.token });
    const before = managerPermissions.body.find((r: { id: string }) => r.id === managerRole).permissions;
    const grant = await api.rest('PUT', `/roles/${managerRole}/permissions`, {
      token: other.token,
      body: { permissions: [...before, 'users:update'] },
    });
    expect(grant.status).toBe(200);
    const res = await api.rest('PUT', `/users/${other.id}`, { token: manager.token, body: { isActive: false } });
    expect(res.status).toBe(409);
    const [row] = await api.deps.db.select().from(schema.users).where(eq(schema.users.id, other.id));
    expect(row?.isActive).toBe(true);
    await api.rest('PUT', `/roles/${managerRole}/permissions`, { token: other.token, body: { permissions: before } });
    await setRole(other.token, admin.id, adminRole());
  });

  it("refuses stripping users:update or roles:update from the last administrators' role", async () => {
    for (const dropped of ['users:update', 'roles:update']) {
      const res = await api.rest('PUT', `/roles/${adminRole()}/permissions`, {
        token: admin.token,
        body: { permissions: ALL_PERMISSIONS.filter((key) => key !== dropped) },
      });
      expect(res.status).toBe(409);
    }
    const roles = await api.rest('GET', '/roles', { token: admin.token });
    const permissions = roles.body.find((r: { id: string }) => r.id === adminRole()).permissions;
    expect(permissions).toEqual(expect.arrayContaining(['users:update', 'roles:update']));
    // Other edits of the role still work.
    const narrower = await api.rest('PUT', `/roles/${adminRole()}/permissions`, {
      token: admin.token,
      body: { permissions: ALL_PERMISSIONS.filter((key) => key !== 'webhooks:manage') },
    });
    expect(narrower.status).toBe(200);
  });

  it('counts a user of any role that holds both permissions', async () => {
    const managerRole = roleIds[ROLE_NAMES.salesManager] as string;
    const manager = await createUser(api.deps, { role: ROLE_NAMES.salesManager });
    const roles = await api.rest('GET', '/roles', { token: admin.token });
    const before = roles.body.find((r: { id: string }) => r.id === managerRole).permissions;
    await api.rest('PUT', `/roles/${managerRole}/permissions`, {
      token: admin.token,
      body: { permissions: [...before, 'users:update', 'roles:update'] },
    });
    expect((await setRole(admin.token, admin.id, repRole())).status).toBe(200);
    // And the manager role cannot now lose them: its user is the last administrator.
    const strip = await api.rest('PUT', `/roles/${managerRole}/permissions`, {
      token: manager.token,
      body: { permissions: before },
    });
    expect(strip.status).toBe(409);
    expect((await setRole(manager.token, admin.id, adminRole())).status).toBe(200);
    await api.rest('PUT', `/roles/${managerRole}/permissions`, { token: admin.token, body: { permissions: before } });
  });

  /**
   * Runs `changes` (service calls, so both are past their permission checks) while this test holds
   * the rows they lock, and lets go only once both wait: they then race from the same point.
   */
  async function race(rowIds: string[], changes: () => Promise<unknown>[]) {
    let settled: Promise<PromiseSettledResult<unknown>[]> | undefined;
    await api.deps.db.transaction(async (tx) => {
      await tx.select({ id: schema.users.id }).from(schema.users).where(inArray(schema.users.id, rowIds)).for('update');
      settled = Promise.allSettled(changes());
      await vi.waitFor(async () => {
        const [row] = await api.deps.db.execute<{ waiting: number }>(
          sql`select count(*)::int as waiting from pg_stat_activity
               where datname = current_database() and wait_event_type = 'Lock'`,
        );
        expect(row?.waiting).toBe(2);
      });
    });
    return settled as Promise<PromiseSettledResult<unknown>[]>;
  }

  it('holds when two administrators demote each other at the same moment: exactly one wins', async () => {
    const other = await createUser(api.deps, { role: ROLE_NAMES.admin });
    const [asAdmin, asOther] = [await loadUserCaller(api.deps, admin.id), await loadUserCaller(api.deps, other.id)];
    const results = await race([admin.id, other.id], () => [
      updateUser(api.deps, asAdmin, { id: other.id, roleId: repRole() }),
      updateUser(api.deps, asOther, { id: admin.id, roleId: repRole() }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failure = results.find((r) => r.status === 'rejected');
    expect(failure?.reason).toBeInstanceOf(ConflictError);
    const roles = [await roleOf(admin.id), await roleOf(other.id)];
    expect(roles.filter((roleId) => roleId === adminRole())).toHaveLength(1);
    if ((await roleOf(admin.id)) !== adminRole())
      await updateUser(api.deps, asOther, { id: admin.id, roleId: adminRole() });
  });

  it('holds when two administrators deactivate each other at the same moment', async () => {
    const other = await createUser(api.deps, { role: ROLE_NAMES.admin });
    const [asAdmin, asOther] = [await loadUserCaller(api.deps, admin.id), await loadUserCaller(api.deps, other.id)];
    const results = await race([admin.id, other.id], () => [
      updateUser(api.deps, asAdmin, { id: other.id, isActive: false }),
      updateUser(api.deps, asOther, { id: admin.id, isActive: false }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rows = await api.deps.db
      .select()
      .from(schema.users)
      .where(inArray(schema.users.id, [admin.id, other.id]));
    expect(rows.filter((row) => row.isActive)).toHaveLength(1);
    const deactivated = rows.find((row) => !row.isActive);
    await api.deps.db
      .update(schema.users)
      .set({ isActive: true })
      .where(eq(schema.users.id, deactivated?.id as string));
    await api.deps.sessionCache?.fence();
    admin = await adminUser(api.deps);
  });

  it('holds when an administrator is demoted while their role loses its permissions', async () => {
    const other = await createUser(api.deps, { role: ROLE_NAMES.admin });
    const [asAdmin, asOther] = [await loadUserCaller(api.deps, admin.id), await loadUserCaller(api.deps, other.id)];
    const [demote, strip] = await Promise.allSettled([
      updateUser(api.deps, asAdmin, { id: other.id, roleId: repRole() }),
      setRolePermissions(api.deps, asOther, {
        id: adminRole(),
        permissions: ALL_PERMISSIONS.filter((key) => key !== 'roles:update'),
      }),
    ]);
    // Whichever runs first, stripping the role leaves nobody; the demotion leaves the seeded admin.
    expect(demote.status).toBe('fulfilled');
    expect(strip.status).toBe('rejected');
    expect(strip.status === 'rejected' && strip.reason).toBeInstanceOf(ConflictError);
  });
});
