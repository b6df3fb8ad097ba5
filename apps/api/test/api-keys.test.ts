import { createHash } from 'node:crypto';
import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName, schema } from '@touch-crm/db';
import { createLogger } from '@touch-crm/logger';
import {
  createTeam,
  createUser,
  deactivateUser,
  insertCustomer,
  startTestApi,
  type TestApi,
  type TestUser,
} from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The API logs through the logger the process builds, into this buffer; its clock is driven here.
const lines: string[] = [];
let clock = Date.parse('2026-12-01T10:00:00.000Z');
let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let roleIds: Record<string, string>;

beforeAll(async () => {
  api = await startTestApi({
    now: () => new Date(clock),
    log: createLogger('info', 'api', { write: (line: string) => void lines.push(line) }),
  });
  team = await createTeam(api.deps);
  roleIds = await roleIdsByName(api.deps.db);
});
afterAll(() => api?.close());

const createKey = (user: TestUser, body: Record<string, unknown> = {}) =>
  api.rest('POST', '/api-keys', { token: user.token, body: { name: 'Shop sync', ...body } });

async function keyOf(user: TestUser, body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const created = await createKey(user, body);
  expect(created.status, created.text).toBe(201);
  return created.body;
}

const viaHeader = (key: string) => ({ headers: { 'x-api-key': key } });

/** A tRPC query over real HTTP, as a tRPC client sends it. */
async function trpcQuery(path: string, input: unknown, headers: Record<string, string>) {
  const query = `input=${encodeURIComponent(JSON.stringify(input))}`;
  const response = await fetch(`${api.url}/trpc/${path}?${query}`, { headers });
  return { status: response.status, body: (await response.json()) as any };
}

const permissionsOf = async (user: TestUser): Promise<string[]> =>
  (await api.rest('GET', '/auth/me', { token: user.token })).body.permissions;

describe('creating a key', () => {
  it('answers 201 with a tcrm_ key shown once, stored only as its SHA-256, holding all of the creator’s permissions', async () => {
    const created = await createKey(team.rep);
    expect(created.status).toBe(201);
    const { key, prefix, permissions, id, userId } = created.body;
    expect(key).toMatch(/^tcrm_[0-9A-Za-z]{42,}$/);
    expect(prefix).toBe(key.slice(0, 13));
    expect(userId).toBe(team.rep.id);
    expect(permissions).toEqual(await permissionsOf(team.rep));
    const [row] = await api.deps.db.select().from(schema.apiKeys).where(eq(schema.apiKeys.id, id));
    expect(row?.keyHash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(key.slice(13));
  });

  it('gives each key fresh randomness', async () => {
    const keys = await Promise.all([1, 2, 3].map(() => keyOf(team.rep)));
    expect(new Set(keys.map((k) => k.key)).size).toBe(3);
  });

  it('refuses permissions beyond the creator’s with 403 naming them, and writes nothing', async () => {
    const before = await api.deps.db.$count(schema.apiKeys);
    const refused = await createKey(team.rep, {
      permissions: ['customers:read_own', 'customers:read_all', 'jobs:run'],
    });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain('customers:read_all, jobs:run');
    expect(await api.deps.db.$count(schema.apiKeys)).toBe(before);
  });

  it('refuses unknown permissions, an empty list and a past expiry with 400 naming the field', async () => {
    const unknown = await createKey(team.admin, { permissions: ['customers:read_all', 'customers:fly'] });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('customers:fly');
    expect(unknown.body.errors[0].path).toEqual(['permissions', 1]);
    const empty = await createKey(team.admin, { permissions: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].path).toEqual(['permissions']);
    const past = await createKey(team.admin, { expiresAt: new Date(clock - 1000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.errors[0].path).toEqual(['expiresAt']);
  });

  it('is refused to a role without api_keys:manage_own/_all (403), and to an API key itself', async () => {
    await api.deps.db.insert(schema.roles).values({ name: 'No keys' });
    const keyless = await createUser(api.deps, { role: 'No keys' as never });
    expect((await createKey(keyless)).status).toBe(403);
    expect((await api.rest('GET', '/api-keys', { token: keyless.token })).status).toBe(403);

    const { key } = await keyOf(team.admin);
    const byKey = await api.rest('POST', '/api-keys', { token: key, body: { name: 'Minted by a key' } });
    expect(byKey.status).toBe(403);
    expect(byKey.body.detail).toContain('cannot create API keys');
  });
});

describe('listing and revoking keys per role', () => {
  it('shows reps and managers their own keys and admins everyone’s, never the key itself', async () => {
    const mine = await keyOf(team.rep, { name: 'Rep key' });
    const theirs = await keyOf(team.otherRep, { name: 'Other rep key' });
    const managers = await keyOf(team.manager, { name: 'Manager key' });
    const idsFor = async (user: TestUser, query = '') => {
      const listed = await api.rest('GET', `/api-keys?pageSize=100${query}`, { token: user.token });
      expect(listed.status).toBe(200);
      for (const secret of [mine.key, theirs.key, managers.key]) expect(listed.text).not.toContain(secret.slice(13));
      expect(listed.body.items.every((item: object) => !('key' in item))).toBe(true);
      return listed.body.items.map((item: { id: string }) => item.id);
    };
    const repSees = await idsFor(team.rep);
    expect(repSees).toContain(mine.id);
    expect(repSees).not.toContain(theirs.id);
    expect(await idsFor(team.rep, `&userId=${team.otherRep.id}`)).toEqual([]);
    const managerSees = await idsFor(team.manager);
    expect(managerSees).toContain(managers.id);
    expect(managerSees).not.toContain(mine.id);
    const adminSees = await idsFor(team.admin);
    expect(adminSees).toEqual(expect.arrayContaining([mine.id, theirs.id, managers.id]));
    expect(await idsFor(team.admin, `&userId=${team.otherRep.id}`)).toContain(theirs.id);
    const [listed] = (await api.rest('GET', `/api-keys?userId=${team.manager.id}`, { token: team.admin.token })).body
      .items;
    expect(Object.keys(listed).sort()).toEqual(
      ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'lastUsedIp', 'name', 'permissions', 'prefix', 'userId'].sort(),
    );
  });

  it('lets a rep revoke only their own keys (another’s is a 404), and an admin anyone’s, effective at once', async () => {
    const mine = await keyOf(team.rep);
    const theirs = await keyOf(team.otherRep);
    expect((await api.rest('DELETE', `/api-keys/${theirs.id}`, { token: team.rep.token })).status).toBe(404);
    expect((await api.rest('GET', '/customers', { token: theirs.key })).status).toBe(200);

    const revoked = await api.rest('DELETE', `/api-keys/${mine.id}`, { token: team.rep.token });
    expect(revoked.body).toEqual({ id: mine.id, outcome: 'REVOKED' });
    const after = await api.rest('GET', '/customers', { token: mine.key });
    expect(after.status).toBe(401);
    expect(after.body.detail).toBe('Invalid API key');

    expect((await api.rest('DELETE', `/api-keys/${theirs.id}`, { token: team.admin.token })).status).toBe(200);
    expect((await api.rest('GET', '/customers', { token: theirs.key })).status).toBe(401);
    expect((await api.rest('DELETE', `/api-keys/${theirs.id}`, { token: team.admin.token })).status).toBe(404);
  });

  it('records creation and revocation as audited events by the acting user, without the key', async () => {
    const { id, key } = await keyOf(team.manager, { permissions: ['customers:read_all'] });
    await api.rest('DELETE', `/api-keys/${id}`, { token: team.admin.token });
    const events = await api.deps.db
      .select()
      .from(schema.auditLog)
      .where(eq(schema.auditLog.entityId, id))
      .orderBy(schema.auditLog.id);
    expect(events.map((e) => [e.entityType, e.action, e.actorUserId])).toEqual([
      ['api_key', 'created', team.manager.id],
      ['api_key', 'revoked', team.admin.id],
    ]);
    expect(events[0]?.changes).toMatchObject({ permissions: { before: null, after: ['customers:read_all'] } });
    const recorded = await api.deps.db.execute(sql`select data::text from domain_events where entity_id = ${id}`);
    expect(JSON.stringify(recorded)).not.toContain(key.slice(13));
  });
});

describe('a key acts for its creator with the permissions it names', () => {
  it('reads the creator’s own customers on REST (Bearer and X-Api-Key) and nothing it does not name', async () => {
    const own = await insertCustomer(api.deps, team.rep.id);
    const others = await insertCustomer(api.deps, team.otherRep.id);
    const { key } = await keyOf(team.rep, { permissions: ['customers:read_own'] });
    for (const options of [{ token: key }, viaHeader(key)]) {
      const listed = await api.rest('GET', '/customers?pageSize=100', options);
      expect(listed.status).toBe(200);
      const ids = listed.body.items.map((c: { id: string }) => c.id);
      expect(ids).toContain(own.id);
      expect(ids).not.toContain(others.id);
      expect((await api.rest('GET', `/customers/${others.id}`, options)).status).toBe(404);
      expect((await api.rest('GET', '/products', options)).status).toBe(403);
      const create = { firstName: 'Key', lastName: 'Made', phone: '+12025550123' };
      expect((await api.rest('POST', '/customers', { ...options, body: create })).status).toBe(403);
    }
    const me = await api.rest('GET', '/auth/me', viaHeader(key));
    expect(me.body).toMatchObject({ id: team.rep.id, permissions: ['customers:read_own'] });
  });

  it('works on tRPC, over HTTP with X-Api-Key and through a caller with Bearer', async () => {
    const { key } = await keyOf(team.manager, { permissions: ['customers:read_all'] });
    const listed = await trpcQuery('customers.list', {}, { 'x-api-key': key });
    expect(listed.status).toBe(200);
    expect(listed.body.result.data.total).toBeGreaterThan(0);
    const refused = await trpcQuery('products.list', {}, { 'x-api-key': key });
    expect(refused.status).toBe(403);
    await expect(api.caller(key).customers.list({})).resolves.toMatchObject({ page: 1 });
    await expect(api.caller(key).products.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('exports with customers:export, and is refused the export without it', async () => {
    await insertCustomer(api.deps, team.manager.id);
    const exporter = await keyOf(team.manager, { permissions: ['customers:export', 'customers:read_all'] });
    const reader = await keyOf(team.manager, { permissions: ['customers:read_all'] });
    const exported = await api.rest('GET', '/customers/export?format=csv', viaHeader(exporter.key));
    expect(exported.status).toBe(200);
    expect(exported.text.split('\n').length).toBeGreaterThan(2);
    expect((await api.rest('GET', '/orders/export', { token: exporter.key })).status).toBe(403);
    expect((await api.rest('GET', '/customers/export', { token: reader.key })).status).toBe(403);
  });

  it('refuses an unknown key, a malformed one and two credentials at once with 401', async () => {
    const { key } = await keyOf(team.rep);
    const forged = `tcrm_${'A'.repeat(43)}`;
    expect((await api.rest('GET', '/customers', { token: forged })).body.detail).toBe('Invalid API key');
    expect((await api.rest('GET', '/customers', viaHeader('not-a-key'))).status).toBe(401);
    const both = await api.rest('GET', '/customers', { token: team.rep.token, ...viaHeader(key) });
    expect(both.status).toBe(401);
    expect(both.body.detail).toContain('not both');
  });

  it('cannot change its creator’s password', async () => {
    const { key } = await keyOf(team.rep);
    const changed = await api.rest('POST', '/auth/change-password', {
      token: key,
      body: { currentPassword: team.rep.password, newPassword: 'An0ther-Passw0rd!' },
    });
    expect(changed.status).toBe(403);
  });
});

describe('the creator’s current standing bounds the key at every request', () => {
  it('narrows a manager’s key to own scope and drops export the request after a demotion', async () => {
    const manager = await createUser(api.deps, { role: ROLE_NAMES.salesManager });
    const own = await insertCustomer(api.deps, manager.id);
    const others = await insertCustomer(api.deps, team.rep.id);
    const { key } = await keyOf(manager);
    expect((await api.rest('GET', `/customers/${others.id}`, { token: key })).status).toBe(200);
    expect((await api.rest('GET', '/customers/export', { token: key })).status).toBe(200);

    const demoted = await api.rest('PUT', `/users/${manager.id}`, {
      token: team.admin.token,
      body: { roleId: roleIds[ROLE_NAMES.salesRep] },
    });
    expect(demoted.status).toBe(200);
    // The key names customers:read_all, not read_own: after the demotion it reads no customer at all.
    expect((await api.rest('GET', `/customers/${own.id}`, { token: key })).status).toBe(403);
    expect((await api.rest('GET', '/customers/export', { token: key })).status).toBe(403);
    expect((await api.rest('GET', '/auth/me', { token: key })).body.permissions).not.toContain('customers:read_all');
  });

  it('is disabled while its creator is deactivated', async () => {
    const rep = await createUser(api.deps);
    const { key } = await keyOf(rep);
    expect((await api.rest('GET', '/customers', { token: key })).status).toBe(200);
    await deactivateUser(api.deps, rep.id);
    const refused = await api.rest('GET', '/customers', { token: key });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toBe('Account is deactivated');
  });
});

describe('expiry and last use', () => {
  it('answers 401 once the key has expired', async () => {
    const { key } = await keyOf(team.rep, { expiresAt: new Date(clock + 3_600_000).toISOString() });
    expect((await api.rest('GET', '/customers', { token: key })).status).toBe(200);
    clock += 3_600_000;
    const expired = await api.rest('GET', '/customers', { token: key });
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toBe('API key expired');
  });

  it('records when and from where a key was last used, at most once a minute', async () => {
    const { id, key } = await keyOf(team.rep);
    const lastUse = async () =>
      (
        await api.rest('GET', `/api-keys?userId=${team.rep.id}&pageSize=100`, { token: team.rep.token })
      ).body.items.find((item: { id: string }) => item.id === id);
    expect(await lastUse()).toMatchObject({ lastUsedAt: null, lastUsedIp: null });
    const first = new Date(clock).toISOString();
    await api.rest('GET', '/customers', { token: key });
    expect(await lastUse()).toMatchObject({ lastUsedAt: first, lastUsedIp: '127.0.0.1' });
    clock += 30_000;
    await api.rest('GET', '/customers', { token: key });
    expect((await lastUse()).lastUsedAt).toBe(first);
    clock += 31_000;
    await api.rest('GET', '/customers', { token: key });
    expect((await lastUse()).lastUsedAt).toBe(new Date(clock).toISOString());
  });
});

describe('keys in logs', () => {
  it('never writes a key, nor its random part, to the log', async () => {
    lines.length = 0;
    const { id, key } = await keyOf(team.rep);
    await api.rest('GET', '/customers', { token: key });
    await api.rest('GET', '/products?page=x', viaHeader(key));
    await api.rest('GET', '/customers/export', { token: key });
    await api.rest('DELETE', `/api-keys/${id}`, { token: team.rep.token });
    await api.rest('GET', '/customers', { token: key });
    expect(lines.length).toBeGreaterThan(4);
    expect(lines.join('\n')).not.toContain(key.slice(5));
  });
});
