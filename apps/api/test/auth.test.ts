import { adminUser, createUser, DEFAULT_TEST_PASSWORD, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

const login = (username: string, password: string, headers?: Record<string, string>) =>
  api.rest('POST', '/auth/login', { body: { username, password }, headers });

describe('POST /auth/login', () => {
  it('returns a token and the admin with every permission; mustChangePassword while the default is in use', async () => {
    const res = await login('admin', 'Admin123!');
    expect(res.status).toBe(200);
    expect(res.body.token).toEqual(expect.any(String));
    expect(new Date(res.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(res.body.user).toMatchObject({
      username: 'admin',
      role: { name: 'Administrator' },
      mustChangePassword: true,
    });
    expect(res.body.user.permissions).toContain('users:create');
    expect(res.body.user).not.toHaveProperty('passwordHash');

    const me = await api.rest('GET', '/auth/me', { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body.permissions.length).toBeGreaterThan(50);
    expect(me.body.mustChangePassword).toBe(true);
  });

  it('gives the same 401 body for an unknown user and a wrong password', async () => {
    const unknown = await login('nobody-here', 'whatever1', { 'x-forwarded-for': '10.0.0.1' });
    const wrong = await login('admin', 'wrong-password', { 'x-forwarded-for': '10.0.0.2' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expect(unknown.body.code).toBe(wrong.body.code);
  });

  it('refuses a deactivated user', async () => {
    const user = await createUser(api.deps, { isActive: false });
    const res = await login(user.username, DEFAULT_TEST_PASSWORD);
    expect(res.status).toBe(401);
  });

  it('names the failing field on bad input, and never leaks a stack', async () => {
    const res = await api.rest('POST', '/auth/login', { body: { username: 'admin' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['password']);
    expect(res.text).not.toMatch(/stack|at .*\.ts:\d+/);
  });

  it('answers malformed JSON with 400', async () => {
    const res = await api.rest('POST', '/auth/login', { rawBody: '{"username":' });
    expect(res.status).toBe(400);
  });

  it('answers a body over the limit with 413', async () => {
    const res = await api.rest('POST', '/auth/login', {
      body: { username: 'admin', password: 'x'.repeat(1_100_000) },
    });
    expect(res.status).toBe(413);
  });
});

describe('login throttling', () => {
  it('blocks a username after 5 consecutive failures with 429 and Retry-After, even with the right password', async () => {
    const user = await createUser(api.deps);
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await login(user.username, 'wrong-password');
      expect(res.status).toBe(401);
    }
    const blocked = await login(user.username, DEFAULT_TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.reason).toBe('LOGIN_THROTTLED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a success resets the consecutive count', async () => {
    const user = await createUser(api.deps);
    for (let attempt = 0; attempt < 4; attempt++) await login(user.username, 'wrong-password');
    expect((await login(user.username, DEFAULT_TEST_PASSWORD)).status).toBe(200);
    for (let attempt = 0; attempt < 4; attempt++) await login(user.username, 'wrong-password');
    expect((await login(user.username, DEFAULT_TEST_PASSWORD)).status).toBe(200);
  });

  it('holds under a burst of parallel attempts', async () => {
    const user = await createUser(api.deps);
    const results = await Promise.all(Array.from({ length: 12 }, () => login(user.username, 'wrong-password')));
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });
});

describe('tokens', () => {
  const tamper = (token: string, part: 0 | 1, change: (json: Record<string, unknown>) => void) => {
    const parts = token.split('.');
    const json = JSON.parse(Buffer.from(parts[part] as string, 'base64url').toString());
    change(json);
    parts[part] = Buffer.from(JSON.stringify(json)).toString('base64url');
    return parts.join('.');
  };

  it('rejects alg none, a wrong signature, an expired token and a wrong audience', async () => {
    const { token } = await adminUser(api.deps);
    const none = `${tamper(token, 0, (h) => {
      h.alg = 'none';
    })
      .split('.')
      .slice(0, 2)
      .join('.')}.`;
    const badSignature = `${token.slice(0, -4)}AAAA`;
    const expired = tamper(token, 1, (p) => {
      p.exp = 1;
    });
    const wrongAudience = tamper(token, 1, (p) => {
      p.aud = 'someone-else';
    });
    for (const candidate of [none, badSignature, expired, wrongAudience, 'garbage']) {
      const res = await api.rest('GET', '/auth/me', { token: candidate });
      expect(res.status).toBe(401);
    }
    expect((await api.rest('GET', '/auth/me')).status).toBe(401);
    expect((await api.rest('GET', '/auth/me', { token })).status).toBe(200);
  });

  it('refuses a token it accepted before once the token has expired (verified tokens are remembered)', async () => {
    let now = new Date();
    const clocked = await startTestApi({ now: () => now });
    try {
      const { token } = await adminUser(clocked.deps);
      expect((await clocked.rest('GET', '/auth/me', { token })).status).toBe(200);
      now = new Date(now.getTime() + (clocked.config.JWT_TTL - 1) * 1000);
      expect((await clocked.rest('GET', '/auth/me', { token })).status).toBe(200);
      now = new Date(now.getTime() + 1000);
      const expired = await clocked.rest('GET', '/auth/me', { token });
      expect(expired.status).toBe(401);
      expect(expired.body.detail).toBe('Token expired');
    } finally {
      await clocked.close();
    }
  });

  it('stops working for a user deactivated after it was issued', async () => {
    const user = await createUser(api.deps);
    expect((await api.rest('GET', '/auth/me', { token: user.token })).status).toBe(200);
    const admin = await adminUser(api.deps);
    const update = await api.rest('PUT', `/users/${user.id}`, { token: admin.token, body: { isActive: false } });
    expect(update.status).toBe(200);
    expect((await api.rest('GET', '/auth/me', { token: user.token })).status).toBe(401);
  });
});

describe('POST /auth/change-password', () => {
  it('changes the password, clears mustChangePassword and invalidates older tokens', async () => {
    const user = await createUser(api.deps);
    const first = await login(user.username, DEFAULT_TEST_PASSWORD);
    const res = await api.rest('POST', '/auth/change-password', {
      token: first.body.token,
      body: { currentPassword: DEFAULT_TEST_PASSWORD, newPassword: 'a-new-passw0rd' },
    });
    expect(res.status).toBe(200);
    expect((await api.rest('GET', '/auth/me', { token: first.body.token })).status).toBe(401);
    const second = await login(user.username, 'a-new-passw0rd');
    expect(second.status).toBe(200);
    expect(second.body.user.mustChangePassword).toBe(false);
  });

  it('refuses a short password or one equal to the username', async () => {
    const user = await createUser(api.deps);
    const short = await api.rest('POST', '/auth/change-password', {
      token: user.token,
      body: { currentPassword: DEFAULT_TEST_PASSWORD, newPassword: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.body.errors[0].path).toEqual(['newPassword']);
    const same = await api.rest('POST', '/auth/change-password', {
      token: user.token,
      body: { currentPassword: DEFAULT_TEST_PASSWORD, newPassword: user.username },
    });
    expect(same.status).toBe(400);
    expect(same.body.errors[0].path).toEqual(['newPassword']);
  });
});
