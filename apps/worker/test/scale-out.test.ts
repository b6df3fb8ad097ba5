import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { schema } from '@touch-crm/db';
import {
  createUser,
  DEFAULT_TEST_PASSWORD,
  type FakeCarrier,
  programFile,
  startFakeCarrier,
  startTestApi,
  TEST_JWT_SECRET,
  type TestApi,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV } from './support.ts';

let database: TestApi;
let carrier: FakeCarrier;
const children: ChildProcess[] = [];
const apis: string[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

function start(main: string, env: Record<string, string>, ready: (output: string) => boolean) {
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      ...FAST_WORKER_ENV,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: database.databaseUrl,
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: `${carrier.url}/sms`,
      SMS_QUIET_HOURS: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${main} did not start:\n${output}`)), 60_000);
    const listen = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', listen);
    child.stderr?.on('data', listen);
    child.once('exit', (code) => reject(new Error(`${main} exited (${code}):\n${output}`)));
  });
}

beforeAll(async () => {
  // One PostgreSQL (a fresh test database), then two API processes and two worker processes on it.
  database = await startTestApi();
  carrier = await startFakeCarrier();
  const ports = [await freePort(), await freePort()];
  await Promise.all(
    ports.map((port) =>
      start(programFile('api'), { PORT: String(port), HOST: '127.0.0.1' }, (output) =>
        output.includes('API listening'),
      ),
    ),
  );
  for (const port of ports) apis.push(`http://127.0.0.1:${port}/api/v1`);
  await Promise.all(
    [1, 2].map(() =>
      // The cron pass every second, not every 30: the schedule's first occurrence comes due at once.
      start(programFile('worker'), { CRON_RFM_SCORE: '* * * * *', WORKER_CRON_INTERVAL: '1s' }, (output) =>
        output.includes('"msg":"worker ready"'),
      ),
    ),
  );
}, 90_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)),
    ),
  );
  await carrier?.close();
  await database?.close();
});

const call = async (api: string, method: string, path: string, token?: string, body?: unknown) => {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
};

describe('two API processes and two workers against one PostgreSQL', () => {
  it('delivers each welcome message once, whichever API took the request and whichever worker sent it', async () => {
    const manager = await createUser(database.deps, { role: 'Sales Manager' });
    const phones = Array.from({ length: 24 }, () => uniquePhone());
    const created = await Promise.all(
      phones.map((phone, i) =>
        call(apis[i % 2] as string, 'POST', '/customers', manager.token, {
          firstName: `Scale${i}`,
          lastName: 'Out',
          phone,
          status: 'CUSTOMER',
        }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual(phones.map(() => 201));
    const ours = () => carrier.requests.filter((r) => phones.includes(r.to ?? ''));
    await waitFor(() => ours().length >= phones.length, { what: 'a welcome SMS per customer', timeoutMs: 30_000 });
    // Settled rather than a pause: no message QUEUED or SENDING and no sms.send job left to run, so no call can follow.
    await waitFor(
      async () => {
        const [row] = await database.deps.db.$client<{ open: number }[]>`
          select (select count(*)::int from message_queue where phone = any(${phones}) and status in ('QUEUED', 'SENDING'))
               + (select count(*)::int from pgboss.job where name = 'sms.send' and state in ('created', 'retry', 'active'))
                 as open`;
        return row?.open === 0;
      },
      { what: 'every welcome message settled', timeoutMs: 30_000 },
    );
    expect(new Set(ours().map((r) => r.idempotencyKey)).size).toBe(phones.length);
    // One call per attempt: a second call only as a retry (a call that timed out on a loaded machine).
    const rows = await database.deps.db
      .select({ key: schema.messageQueue.idempotencyKey, attempts: schema.messageQueue.attempts })
      .from(schema.messageQueue)
      .where(inArray(schema.messageQueue.phone, phones));
    expect(rows).toHaveLength(phones.length);
    for (const row of rows) expect(ours().filter((r) => r.idempotencyKey === row.key)).toHaveLength(row.attempts);
  });

  it('holds login throttling across both APIs', async () => {
    const user = await createUser(database.deps);
    const attempt = (api: string, password: string) =>
      call(api, 'POST', '/auth/login', undefined, { username: user.username, password });
    for (const api of [apis[0], apis[1], apis[0], apis[1], apis[0]])
      expect((await attempt(api as string, 'wrong-password')).status).toBe(401);
    expect((await attempt(apis[1] as string, DEFAULT_TEST_PASSWORD)).status).toBe(429);
    expect((await attempt(apis[0] as string, DEFAULT_TEST_PASSWORD)).status).toBe(429);
  });

  it('runs a schedule once per tick, though both workers schedule it', async () => {
    const sql = database.deps.db.$client;
    const [schedules] = await sql<
      { n: number }[]
    >`select count(*)::int as n from pgboss.schedule where name = 'rfm.score'`;
    expect(schedules?.n).toBe(1);
    await waitFor(
      async () => {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from pgboss.job where name = 'rfm.score' and state = 'completed'`;
        return (row?.n ?? 0) >= 1;
      },
      { what: 'the every-minute rfm.score schedule to run', timeoutMs: 30_000, intervalMs: 50 },
    );
    // Both workers pass over the schedule again (a pass a second, one per claim) before the count.
    const [completed] = await sql<{ at: Date }[]>`
      select max(completed_on) as at from pgboss.job where name = 'rfm.score' and state = 'completed'`;
    await waitFor(
      async () => {
        const [row] = await sql<{ passes: number }[]>`
          select count(*)::int as passes from pgboss.version where cron_on > ${completed?.at as Date}::timestamptz + interval '2 seconds'`;
        return (row?.passes ?? 0) > 0;
      },
      { what: 'cron passes after the run', timeoutMs: 30_000, intervalMs: 50 },
    );
    const perMinute = await sql<{ n: number }[]>`
      select count(*)::int as n from pgboss.job where name = 'rfm.score'
       group by date_trunc('minute', created_on)`;
    for (const minute of perMinute) expect(minute.n).toBe(1);
  }, 60_000);
});
