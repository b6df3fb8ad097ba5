import { schema } from '@touch-crm/db';
import { createUser, insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The seeded admin is on the default password (no ADMIN_PASSWORD), so flagged mustChangePassword.
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { NODE_ENV: 'production' } });
});
afterAll(() => api?.close());

const signIn = async () => {
  const res = await api.rest('POST', '/auth/login', { body: { username: 'admin', password: 'Admin123!' } });
  expect(res.status).toBe(200);
  expect(res.body.user.mustChangePassword).toBe(true);
  return res.body.token as string;
};

const expectPasswordChangeRequired = (res: { status: number; body: any }) => {
  expect(res.status).toBe(403);
  expect(res.body.reason).toBe('PASSWORD_CHANGE_REQUIRED');
};

describe('in production, a user who must change the password may do only that', () => {
  it('answers 403 PASSWORD_CHANGE_REQUIRED on REST, tRPC and the export, but serves /auth/me', async () => {
    const token = await signIn();
    expect((await api.rest('GET', '/auth/me', { token })).status).toBe(200);
    expectPasswordChangeRequired(await api.rest('GET', '/users', { token }));
    expectPasswordChangeRequired(await api.rest('POST', '/auth/register', { token, body: {} }));
    const trpc = await fetch(`${api.url}/trpc/customers.list?input=${encodeURIComponent('{}')}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(trpc.status).toBe(403);
    const body = (await trpc.json()) as { error: { data: { reason: unknown } } };
    expect(body.error.data.reason).toBe('PASSWORD_CHANGE_REQUIRED');
    await expect(api.caller(token).users.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expectPasswordChangeRequired(await api.rest('GET', '/customers/export', { token }));
  });

  it('any user flagged mustChangePassword is held the same way', async () => {
    const user = await createUser(api.deps);
    await api.deps.db.update(schema.users).set({ mustChangePassword: true }).where(eq(schema.users.id, user.id));
    await insertCustomer(api.deps, user.id);
    expectPasswordChangeRequired(await api.rest('GET', '/customers', { token: user.token }));
  });

  it('after changing the password, the new sign-in reaches everything its role allows', async () => {
    const token = await signIn();
    const change = await api.rest('POST', '/auth/change-password', {
      token,
      body: { currentPassword: 'Admin123!', newPassword: 'a-long-new-admin-passw0rd' },
    });
    expect(change.status).toBe(200);
    const res = await api.rest('POST', '/auth/login', {
      body: { username: 'admin', password: 'a-long-new-admin-passw0rd' },
    });
    expect(res.body.user.mustChangePassword).toBe(false);
    expect((await api.rest('GET', '/users', { token: res.body.token })).status).toBe(200);
  });
});

describe('outside production the flag only warns', () => {
  let development: TestApi;
  beforeAll(async () => {
    development = await startTestApi();
  });
  afterAll(() => development?.close());

  it('serves the default admin everywhere', async () => {
    const res = await development.rest('POST', '/auth/login', { body: { username: 'admin', password: 'Admin123!' } });
    expect(res.body.user.mustChangePassword).toBe(true);
    expect((await development.rest('GET', '/users', { token: res.body.token })).status).toBe(200);
  });
});
