import { schema } from '@touch-crm/db';
import { pruneRequestRecords } from '@touch-crm/services';
import {
  createTeam,
  DEFAULT_TEST_PASSWORD,
  insertCustomer,
  insertProduct,
  startTestApi,
  type TestApi,
  waitFor,
} from '@touch-crm/test-utils';
import { count, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecondApi, startSecondApi } from './support/second-api.ts';

const HOUR = 3_600_000;
// This process's clock; the TTL tests move it forward (the second process keeps real time).
let offset = 0;
let api: TestApi;
let second: SecondApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let productId: string;
beforeAll(async () => {
  api = await startTestApi({ env: { JWT_TTL: '7d' }, now: () => new Date(Date.now() + offset) });
  second = await startSecondApi(api.databaseUrl);
  team = await createTeam(api.deps);
  productId = (await insertProduct(api.deps)).id;
}, 60_000);
afterAll(async () => {
  await second?.stop();
  await api?.close();
});

let keys = 0;
const newKey = () => `order-${process.pid}-${++keys}`;
const newCustomer = async () => (await insertCustomer(api.deps, team.rep.id)).id;
const orderBody = (customerId: string, quantity = 1) => ({ customerId, items: [{ productId, quantity }] });
const ordersOf = async (customerId: string) =>
  (await api.deps.db.select({ n: count() }).from(schema.orders).where(eq(schema.orders.customerId, customerId)))[0]?.n;

/** Locks a customer's row in a transaction of its own until `release`, so an order for it waits. */
async function holdRow(sql: postgres.Sql, customerId: string) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked = () => {};
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const holding = sql.begin(async (tx) => {
    await tx`select 1 from customers where id = ${customerId} for update`;
    locked();
    await released;
  });
  await isLocked;
  return { release, holding };
}

/** POST /orders on this process or the second one, with an Idempotency-Key. */
async function post(on: 'first' | 'second', key: string, body: object, token = team.rep.token) {
  const base = on === 'first' ? `${api.url}/api/v1` : second.url;
  const response = await fetch(`${base}/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

describe('retries of one POST /orders, in parallel on two API processes', () => {
  it('create one order; every retry that finds it done gets the same answer, marked as a replay', async () => {
    const customerId = await newCustomer();
    const key = newKey();
    const body = orderBody(customerId);
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, index) => post(index % 2 ? 'second' : 'first', key, body)),
    );
    const statuses = burst.map((res) => res.status);
    // The one that ran, the replays, and 409 for those that came while it was running.
    expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
    const ran = burst.filter((res) => res.status === 201 && !res.headers.has('idempotent-replayed'));
    expect(ran).toHaveLength(1);

    const retried = await post('second', key, body);
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.text).toBe(ran[0]?.text);
    for (const res of burst.filter((res) => res.status === 201)) expect(res.body.id).toBe(ran[0]?.body.id);
    expect(await ordersOf(customerId)).toBe(1);
  });
});

describe('a retry while the first request is still running', () => {
  it('is 409 IDEMPOTENCY_KEY_IN_USE with Retry-After; once the first answers, the retry gets its answer', async () => {
    const customerId = await newCustomer();
    const key = newKey();
    const body = orderBody(customerId);
    // Hold the customer's row, so the first order waits inside its transaction.
    const sql = postgres(api.databaseUrl, { max: 2 });
    const { release, holding } = await holdRow(sql, customerId);
    try {
      const first = post('first', key, body);
      await waitFor(
        async () => (await sql`select 1 from idempotency_keys where key = ${key} and status is null`).length > 0,
        { what: 'the first request to hold its key' },
      );
      const retry = await post('second', key, body);
      expect(retry.status).toBe(409);
      expect(retry.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect(retry.headers.get('retry-after')).toBe('1');
      release();
      await holding;
      expect((await first).status).toBe(201);
      const later = await post('second', key, body);
      expect(later.status).toBe(201);
      expect(later.headers.get('idempotent-replayed')).toBe('true');
      expect(await ordersOf(customerId)).toBe(1);
    } finally {
      release();
      await sql.end();
    }
  });
});

describe('the same key with a different request', () => {
  it('is 422 IDEMPOTENCY_KEY_REUSED and creates nothing', async () => {
    const customerId = await newCustomer();
    const key = newKey();
    expect((await post('first', key, orderBody(customerId, 1))).status).toBe(201);
    const other = await post('second', key, orderBody(customerId, 2));
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await ordersOf(customerId)).toBe(1);
  });
});

describe('answers that are stored', () => {
  it('a 4xx is replayed too (the request was refused for what it said, not by accident)', async () => {
    const key = newKey();
    const bad = await post('first', key, { customerId: 'not-a-uuid', items: [] });
    expect(bad.status).toBe(400);
    const again = await post('second', key, { customerId: 'not-a-uuid', items: [] });
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('a 5xx is not: the key is free again and a retry runs the request', async () => {
    const customerId = await newCustomer();
    const key = newKey();
    const body = orderBody(customerId);
    const sql = postgres(api.databaseUrl, { max: 2 });
    const { release, holding } = await holdRow(sql, customerId);
    try {
      const first = post('first', key, body);
      // The order's transaction waits on the lock; cutting its connection fails it with a 500.
      const [waiting] = await waitFor(
        async () => {
          const rows = await sql`
            select pid from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'
               and query like '%from "customers"%' and pid <> pg_backend_pid()`;
          return rows.length > 0 ? rows : null;
        },
        { what: 'the order to wait on the held row' },
      );
      await sql`select pg_terminate_backend(${waiting?.pid})`;
      expect((await first).status).toBeGreaterThanOrEqual(500);
      release();
      await holding;
      const retry = await post('second', key, body);
      expect(retry.status).toBe(201);
      expect(retry.headers.has('idempotent-replayed')).toBe(false);
      expect(await ordersOf(customerId)).toBe(1);
    } finally {
      release();
      await sql.end();
    }
  });
});

describe('whose key it is', () => {
  it('keys are per principal: another user with the same key gets an answer of their own', async () => {
    const key = newKey();
    const mine = await post('first', key, orderBody(await newCustomer()));
    const theirs = await post('first', key, orderBody(await newCustomer()), team.manager.token);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.headers.has('idempotent-replayed')).toBe(false);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('anonymous requests ignore the header (a sign-in is never replayed to anyone)', async () => {
    const login = () =>
      api.rest('POST', '/auth/login', {
        body: { username: team.rep.username, password: DEFAULT_TEST_PASSWORD },
        headers: { 'idempotency-key': 'login-key' },
      });
    const [first, again] = [await login(), await login()];
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers.has('idempotent-replayed')).toBe(false);
  });

  it('a key that is not 1 to 255 visible ASCII characters is 400 naming the header, and runs nothing', async () => {
    const customerId = await newCustomer();
    for (const key of ['x'.repeat(256), 'a b']) {
      const res = await post('first', key, orderBody(customerId));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'BAD_REQUEST',
        errors: [{ path: ['Idempotency-Key'], message: 'must be 1 to 255 visible ASCII characters (no spaces)' }],
      });
    }
    expect(await ordersOf(customerId)).toBe(0);
  });
});

describe('multipart uploads (POST /customers/import -F file=@…)', () => {
  /** The multipart body a client such as curl writes, with its own boundary. */
  const upload = (key: string, boundary: string, csv: string, filename = 'people.csv') =>
    fetch(`${api.url}/api/v1/customers/import`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${team.manager.token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'idempotency-key': key,
      },
      body: [
        `--${boundary}`,
        `Content-Disposition: form-data; name="file"; filename="${filename}"`,
        'Content-Type: text/csv',
        '',
        csv,
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    }).then(async (response) => ({
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as any,
    }));
  const importsNamed = async (filename: string) =>
    (await api.deps.db.select({ n: count() }).from(schema.imports).where(eq(schema.imports.filename, filename)))[0]?.n;

  it('the same file under another boundary is a replay; another file or file name with the key is 422', async () => {
    const key = newKey();
    const csv = 'firstName,lastName,phone\nMulti,Part,+12025550199\n';
    const first = await upload(key, '------------------------a1b2c3d4e5f60718', csv, 'boundary.csv');
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const again = await upload(key, '------------------------9f8e7d6c5b4a3928', csv, 'boundary.csv');
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await importsNamed('boundary.csv')).toBe(1);

    const otherFile = await upload(key, 'x1', csv.replace('Multi', 'Other'), 'boundary.csv');
    expect([otherFile.status, otherFile.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    const otherName = await upload(key, 'x2', csv, 'renamed.csv');
    expect([otherName.status, otherName.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await importsNamed('boundary.csv')).toBe(1);
  });
});

describe('tRPC mutations', () => {
  it('honour the header on /trpc: a retried orders.create is replayed whole', async () => {
    const customerId = await newCustomer();
    const call = () =>
      fetch(`${api.url}/trpc/orders.create`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${team.rep.token}`,
          'content-type': 'application/json',
          'idempotency-key': 'trpc-order',
        },
        body: JSON.stringify(orderBody(customerId)),
      });
    const first = await call();
    const retry = await call();
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toBe(await first.text());
    expect(await ordersOf(customerId)).toBe(1);
    // The key's refusals are in tRPC's envelope, as every tRPC error.
    const reused = await fetch(`${api.url}/trpc/orders.create`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${team.rep.token}`,
        'content-type': 'application/json',
        'idempotency-key': 'trpc-order',
      },
      body: JSON.stringify(orderBody(customerId, 2)),
    });
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as { error: unknown }).error).toMatchObject({
      code: -32022,
      data: { code: 'IDEMPOTENCY_KEY_REUSED', httpStatus: 422, requestId: expect.any(String) },
    });
  });
});

describe('answers that carry a secret', () => {
  /** The same POST sent twice with one Idempotency-Key, over REST or tRPC. */
  const twice = async (path: string, key: string, token: string, bodies: [object, object]) => {
    const answers = [];
    for (const body of bodies) {
      const response = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      answers.push({
        status: response.status,
        replayed: response.headers.get('idempotent-replayed'),
        text: await response.text(),
      });
    }
    return answers;
  };
  /** Every stored answer: none may hold a key, a signing secret or a sign-in token. */
  const storedAnswers = async () =>
    (await api.deps.db.select().from(schema.idempotencyKeys)).map((row) => `${row.key} ${row.responseBody}`).join('\n');

  it('a new API key (REST and tRPC) runs again on a retry and is never stored or replayed', async () => {
    const rest = await twice('/api/v1/api-keys', 'secret-api-key', team.rep.token, [
      { name: 'idem' },
      { name: 'idem' },
    ]);
    expect(rest.map(({ status, replayed }) => [status, replayed])).toEqual([
      [201, null],
      [201, null],
    ]);
    const [first, second] = rest.map(({ text }) => JSON.parse(text).key as string);
    expect(first).toMatch(/^tcrm_/);
    expect(second).not.toBe(first);
    const trpc = await twice('/trpc/apiKeys.create', 'secret-api-key-trpc', team.rep.token, [
      { name: 'a' },
      { name: 'b' },
    ]);
    expect(trpc.map(({ status, replayed }) => [status, replayed])).toEqual([
      [200, null],
      [200, null],
    ]);
    const batch = await twice('/trpc/apiKeys.create?batch=1', 'secret-batch', team.rep.token, [
      { 0: { name: 'c' } },
      { 0: { name: 'c' } },
    ]);
    expect(batch.map(({ status, replayed }) => [status, replayed])).toEqual([
      [200, null],
      [200, null],
    ]);
    expect(await storedAnswers()).not.toMatch(/secret-|tcrm_/);
  });

  it('a webhook subscription and a rotated signing secret are never stored or replayed', async () => {
    const url = 'https://203.0.113.10/hooks';
    const created = await twice('/api/v1/webhooks', 'secret-webhook', team.admin.token, [
      { url, events: '*' },
      { url, events: '*' },
    ]);
    expect(created.map(({ status, replayed }) => [status, replayed])).toEqual([
      [201, null],
      [201, null],
    ]);
    const [one, two] = created.map(({ text }) => JSON.parse(text) as { id: string; secret: string });
    expect(two?.secret).not.toBe(one?.secret);
    const rotated = await twice(`/api/v1/webhooks/${one?.id}/rotate-secret`, 'secret-rotate', team.admin.token, [
      {},
      {},
    ]);
    expect(rotated.map(({ status, replayed }) => [status, replayed])).toEqual([
      [200, null],
      [200, null],
    ]);
    const [before, after] = rotated.map(({ text }) => JSON.parse(text).secret as string);
    expect(before).toMatch(/^whsec_/);
    expect(after).not.toBe(before);
    expect(await storedAnswers()).not.toMatch(/secret-|whsec_/);
  });

  it('a sign-in with a token and a key: the token is never stored, a different body is no 422', async () => {
    const credentials = { username: team.rep.username, password: DEFAULT_TEST_PASSWORD };
    const answers = await twice('/api/v1/auth/login', 'secret-login', team.manager.token, [
      credentials,
      { ...credentials, username: team.rep.username.toUpperCase() },
    ]);
    expect(answers.map(({ status, replayed }) => [status, replayed])).toEqual([
      [200, null],
      [200, null],
    ]);
    const tokens = answers.map(({ text }) => JSON.parse(text).token as string);
    expect(await storedAnswers()).not.toContain('secret-login');
    for (const token of tokens) expect(await storedAnswers()).not.toContain(token);
  });
});

describe('IDEMPOTENCY_TTL', () => {
  it('after the TTL the key is forgotten: the same request runs again, and requests.prune deletes it', async () => {
    const customerId = await newCustomer();
    const key = newKey();
    const body = orderBody(customerId);
    expect((await post('first', key, body)).status).toBe(201);
    offset = 23 * HOUR;
    expect((await post('first', key, body)).headers.get('idempotent-replayed')).toBe('true');
    offset = 24 * HOUR + 1000;
    try {
      const after = await post('first', key, body);
      expect(after.status).toBe(201);
      expect(after.headers.has('idempotent-replayed')).toBe(false);
      expect(await ordersOf(customerId)).toBe(2);

      offset = 48 * HOUR + 2000;
      const pruned = await pruneRequestRecords(api.deps);
      expect(pruned.idempotencyKeys).toBeGreaterThan(0);
      const [left] = await api.deps.db
        .select({ n: count() })
        .from(schema.idempotencyKeys)
        .where(eq(schema.idempotencyKeys.key, key));
      expect(left?.n).toBe(0);
    } finally {
      offset = 0;
    }
  });
});
