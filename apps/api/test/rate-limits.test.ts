import { ROLE_NAMES } from '@touch-crm/contract';
import { createUser, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecondApi, startSecondApi } from './support/second-api.ts';

const DAY = 86_400;
// Windows of a day: none of these tests can straddle one, except at 00:00 UTC.
const LIMITS = {
  RATE_LIMIT_WINDOW: '1d',
  RATE_LIMIT_PER_PRINCIPAL: '10',
  RATE_LIMIT_PER_IP: '3',
  RATE_LIMIT_EXPORTS: '2',
  RATE_LIMIT_CAMPAIGN_EXECUTE: '1',
};
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

// This process's clock; moved a window ahead in one test (the second process keeps real time).
let offset = 0;
let api: TestApi;
let second: SecondApi;
beforeAll(async () => {
  api = await startTestApi({ env: { ...LIMITS, JWT_TTL: '7d' }, now: () => new Date(Date.now() + offset * 1000) });
  second = await startSecondApi(api.databaseUrl, LIMITS);
}, 60_000);
afterAll(async () => {
  await second?.stop();
  await api?.close();
});

/** Each test counts against a user of its own. */
const freshUser = (role: keyof typeof ROLE_NAMES = 'salesManager') => createUser(api.deps, { role: ROLE_NAMES[role] });

async function call(
  path: string,
  options: { token?: string; headers?: Record<string, string>; method?: string; on?: 'first' | 'second' } = {},
) {
  const body = options.method === 'POST' ? '{}' : undefined;
  const base = options.on === 'second' ? second.url.replace(/\/api\/v1$/, '') : api.url;
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (body) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method: options.method ?? 'GET', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

/** `"default";r=9;t=42, "exports";r=1;t=42` → { default: { r: 9, t: 42 }, exports: … } */
function parseRateLimit(value: string | null): Record<string, { r: number; t: number }> {
  const entries = (value ?? '').split(',').map((item) => {
    const [name, ...params] = item.trim().split(';');
    const fields = Object.fromEntries(params.map((param) => param.split('=')).map(([k, v]) => [k, Number(v)]));
    return [JSON.parse(name ?? '""'), { r: fields.r, t: fields.t }];
  });
  return Object.fromEntries(entries);
}
const remaining = (res: { headers: Headers }, policy = 'default') =>
  parseRateLimit(res.headers.get('ratelimit'))[policy]?.r;

describe('RateLimit-Policy and RateLimit headers', () => {
  it('are on every answer of the API, success or error, REST and tRPC, counting down', async () => {
    const { token } = await freshUser();
    const answers = [
      await call('/api/v1/customers', { token }),
      await call('/api/v1/customers/not-a-uuid', { token }),
      await call('/api/v1/no-such-route', { token }),
      await call('/trpc/auth.me', { token }),
      await call(`/trpc/auth.me,customers.list?batch=1&input=${encodeURIComponent('{"1":{}}')}`, { token }),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 400, 404, 200, 200]);
    for (const res of answers) {
      expect(res.headers.get('ratelimit-policy')).toBe(`"default";q=10;w=${DAY}`);
      expect(res.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    }
    expect(answers.map((res) => remaining(res))).toEqual([9, 8, 7, 6, 5]);
    const reset = parseRateLimit(answers[0]?.headers.get('ratelimit') ?? null).default?.t ?? 0;
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(DAY);
  });

  it('are not sent by the probes and documents outside the API', async () => {
    expect((await call('/healthz')).headers.has('ratelimit')).toBe(false);
    expect((await call('/openapi.json')).headers.has('ratelimit')).toBe(false);
  });
});

describe('beyond the limit', () => {
  it('is 429 TOO_MANY_REQUESTS with Retry-After until the window ends; the next window starts again', async () => {
    const { token } = await freshUser();
    for (let index = 0; index < 10; index++) expect((await call('/api/v1/customers', { token })).status).toBe(200);
    const refused = await call('/api/v1/customers', { token });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text)).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
    expect(remaining(refused)).toBe(0);
    const reset = parseRateLimit(refused.headers.get('ratelimit')).default?.t;
    expect(refused.headers.get('retry-after')).toBe(String(reset));
    // tRPC's envelope, as every tRPC error.
    const trpc = await call('/trpc/auth.me', { token });
    expect(trpc.status).toBe(429);
    expect(JSON.parse(trpc.text).error).toMatchObject({
      code: -32029,
      data: { code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED', httpStatus: 429, requestId: expect.any(String) },
    });
    expect(trpc.headers.get('retry-after')).toBe(String(reset));

    offset = DAY;
    try {
      const next = await call('/api/v1/customers', { token });
      expect(next.status).toBe(200);
      expect(remaining(next)).toBe(9);
    } finally {
      offset = 0;
    }
  });
});

describe('across API processes', () => {
  it('one count is shared: requests alternating between two processes meet the limit together', async () => {
    const { token } = await freshUser();
    const left: number[] = [];
    for (let index = 0; index < 10; index++) {
      const res = await call('/api/v1/customers', { token, on: index % 2 ? 'second' : 'first' });
      expect(res.status).toBe(200);
      left.push(remaining(res) ?? -1);
    }
    expect(left).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect((await call('/api/v1/customers', { token, on: 'second' })).status).toBe(429);
    expect((await call('/api/v1/customers', { token, on: 'first' })).status).toBe(429);
  });

  it('keeps its counters in an UNLOGGED table (no WAL per request)', async () => {
    const rows = await api.deps.db.execute<{ relpersistence: string }>(
      sql`select relpersistence from pg_class where relname = 'rate_limit_counters'`,
    );
    expect(rows[0]?.relpersistence).toBe('u');
  });
});

describe('expensive endpoints', () => {
  it('exports have a quota of their own beside the default one', async () => {
    const { token } = await freshUser();
    const first = await call('/api/v1/customers/export', { token });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe(`"default";q=10;w=${DAY}, "exports";q=2;w=${DAY}`);
    expect(remaining(first, 'exports')).toBe(1);
    expect((await call('/api/v1/orders/export', { token })).status).toBe(200);
    const refused = await call('/api/v1/customers/export', { token });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text).detail).toMatch(/exports/);
    expect(refused.headers.has('retry-after')).toBe(true);
    // Other calls still have room in the default quota.
    const read = await call('/api/v1/customers', { token });
    expect(read.status).toBe(200);
    expect(remaining(read)).toBe(6);
  });

  it('campaign execution counts over REST and tRPC alike', async () => {
    const { token } = await freshUser('admin');
    const rest = await call(`/api/v1/campaigns/${MISSING_ID}/execute`, { token, method: 'POST' });
    expect(rest.status).toBe(404);
    expect(remaining(rest, 'campaign-execute')).toBe(0);
    const trpc = await fetch(`${api.url}/trpc/campaigns.execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: MISSING_ID }),
    });
    expect(trpc.status).toBe(429);
  });
});

describe('who is counted', () => {
  it('an API key has its own count, apart from its creator signed in with a token', async () => {
    const user = await freshUser();
    const created = await fetch(`${api.url}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Rate limits' }),
    });
    expect(remaining(created)).toBe(9);
    const { key } = (await created.json()) as { key: string };
    const withKey = await call('/api/v1/customers', { headers: { 'x-api-key': key } });
    expect(withKey.status).toBe(200);
    expect(remaining(withKey)).toBe(9);
  });

  it('calls without valid credentials count per client IP, against RATE_LIMIT_PER_IP', async () => {
    const { token } = await freshUser();
    const anonymous = [
      await call('/api/v1/customers'),
      await call('/api/v1/customers', { token: 'not-a-token' }),
      await call('/trpc/auth.me', { on: 'second' }),
    ];
    expect(anonymous.map((res) => res.status)).toEqual([401, 401, 401]);
    expect(anonymous[0]?.headers.get('ratelimit-policy')).toBe(`"default";q=3;w=${DAY}`);
    expect(anonymous.map((res) => remaining(res))).toEqual([2, 1, 0]);
    const refused = await call('/api/v1/customers');
    expect(refused.status).toBe(429);
    expect(refused.headers.has('retry-after')).toBe(true);
    // A signed-in caller on the same IP has a count of its own.
    expect((await call('/api/v1/customers', { token })).status).toBe(200);
  });
});
