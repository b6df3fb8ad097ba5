import { schema } from '@touch-crm/db';
import { adminUser, createUser, DEFAULT_TEST_PASSWORD, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Behind a trusted proxy, so each test can speak from its own client address.
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { TRUST_PROXY: 'true' } });
});
afterAll(() => api?.close());

let ipSequence = 0;
/** A client address of its own per test, so the per-IP counts of tests never mix. */
const freshIp = () => `198.51.100.${++ipSequence}`;

const login = (username: string, password: string, forwardedFor: string) =>
  api.rest('POST', '/auth/login', { body: { username, password }, headers: { 'x-forwarded-for': forwardedFor } });

const failuresOf = (username: string) =>
  api.deps.db.select().from(schema.loginFailures).where(eq(schema.loginFailures.username, username.toLowerCase()));

describe('deactivation revokes tokens', () => {
  it('a token issued before deactivation stays dead after reactivation', async () => {
    const admin = await adminUser(api.deps);
    const user = await createUser(api.deps);
    expect((await api.rest('GET', '/auth/me', { token: user.token })).status).toBe(200);
    const off = await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { isActive: false } });
    expect(off.status).toBe(200);
    const on = await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { isActive: true } });
    expect(on.status).toBe(200);
    expect((await api.rest('GET', '/auth/me', { token: user.token })).status).toBe(401);
    // Signing in again gives a working token.
    const again = await login(user.username, DEFAULT_TEST_PASSWORD, freshIp());
    expect(again.status).toBe(200);
    expect((await api.rest('GET', '/auth/me', { token: again.body.token })).status).toBe(200);
  });

  it('editing an active user leaves their tokens alone', async () => {
    const admin = await adminUser(api.deps);
    const user = await createUser(api.deps);
    const edit = await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { fullName: 'Renamed' } });
    expect(edit.status).toBe(200);
    expect((await api.rest('GET', '/auth/me', { token: user.token })).status).toBe(200);
  });
});

describe('change-password failures are throttled like login failures', () => {
  const changePassword = (token: string, currentPassword: string, ip: string) =>
    api.rest('POST', '/auth/change-password', {
      token,
      body: { currentPassword, newPassword: 'a-brand-new-passw0rd' },
      headers: { 'x-forwarded-for': ip },
    });

  it('answers 429 with Retry-After after 5 wrong current passwords, even for the right one, and blocks login too', async () => {
    const user = await createUser(api.deps);
    const ip = freshIp();
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await changePassword(user.token, `wrong-guess-${attempt}`, ip)).status).toBe(401);
    const blocked = await changePassword(user.token, DEFAULT_TEST_PASSWORD, ip);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same count guards login, from any address.
    expect((await login(user.username, DEFAULT_TEST_PASSWORD, freshIp())).status).toBe(429);
  });

  it('over tRPC as well: 429 with Retry-After', async () => {
    const user = await createUser(api.deps);
    const ip = freshIp();
    const call = (currentPassword: string) =>
      fetch(`${api.url}/trpc/auth.changePassword`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ currentPassword, newPassword: 'a-brand-new-passw0rd' }),
      });
    for (let attempt = 0; attempt < 5; attempt++) expect((await call(`wrong-${attempt}`)).status).toBe(401);
    const blocked = await call(DEFAULT_TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a successful change forgets earlier failures', async () => {
    const user = await createUser(api.deps);
    const ip = freshIp();
    for (let attempt = 0; attempt < 4; attempt++) await changePassword(user.token, `wrong-${attempt}`, ip);
    expect((await changePassword(user.token, DEFAULT_TEST_PASSWORD, ip)).status).toBe(200);
    expect(await failuresOf(user.username)).toHaveLength(0);
  });
});

describe('per-IP login limit under parallel attempts', () => {
  it('lets at most 30 of 60 parallel failures from one IP through; the rest get 429', async () => {
    const ip = freshIp();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, k) => login(`nobody-${ip}-${k}`, 'wrong-password', ip)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
  });
});

describe('client IP behind a trusted proxy', () => {
  it('counts by the address the proxy appended: spoofed left-most entries still reach 429', async () => {
    const proxyAppended = freshIp();
    const statuses: number[] = [];
    for (let k = 0; k < 35; k++) {
      const spoofed = `10.${k}.${k}.${k}`;
      statuses.push((await login(`spoofer-${k}`, 'wrong-password', `${spoofed}, ${proxyAppended}`)).status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
  });

  it('records the right-most entry, and the socket address when that entry is not an IP', async () => {
    const client = freshIp();
    await login('ip-probe-a', 'wrong-password', `203.0.113.9, ${client}`);
    expect((await failuresOf('ip-probe-a'))[0]?.ip).toBe(client);
    await login('ip-probe-b', 'wrong-password', '203.0.113.9, not-an-address');
    expect((await failuresOf('ip-probe-b'))[0]?.ip).toBe('127.0.0.1');
  });
});

describe('TRUST_PROXY_HOPS', () => {
  let twoHops: TestApi;
  beforeAll(async () => {
    twoHops = await startTestApi({ env: { TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '2' } });
  });
  afterAll(() => twoHops?.close());

  it('takes the entry that many from the right', async () => {
    await twoHops.rest('POST', '/auth/login', {
      body: { username: 'hops-probe', password: 'wrong-password' },
      headers: { 'x-forwarded-for': '10.9.9.9, 192.0.2.44, 172.16.0.2' },
    });
    const [failure] = await twoHops.deps.db
      .select()
      .from(schema.loginFailures)
      .where(eq(schema.loginFailures.username, 'hops-probe'));
    expect(failure?.ip).toBe('192.0.2.44');
  });
});
