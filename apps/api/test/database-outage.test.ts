import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningApi, startApi } from '@touch-crm/api-server';
import { connectDatabase, type EmbeddedDatabase, runMigrations, runSeed, startEmbeddedPostgres } from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';
import { adminUser, freePort, type TestUser, testConfig, uniquePhone, waitFor } from '@touch-crm/test-utils';
import pino from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// This file kills and freezes PostgreSQL, so it runs its own cluster, never the shared test server.
let dataDir: string;
let port: number;
let postgresServer: EmbeddedDatabase | undefined;
let api: RunningApi;
let admin: TestUser;

const startPostgres = () => startEmbeddedPostgres({ dataDir, port, ephemeral: true, startTimeoutMs: 20_000 });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-outage-'));
  port = await freePort();
  postgresServer = await startPostgres();
  await runMigrations(postgresServer.url);
  const seeding = connectDatabase(postgresServer.url, { max: 1 });
  await runSeed(seeding.db, { hashPassword });
  await seeding.close();
  api = await startApi({ config: testConfig(), databaseUrl: postgresServer.url, log: pino({ level: 'silent' }) });
  admin = await adminUser(api.deps);
  // The cluster runs with synchronous_commit off: put the rows above on disk before any kill.
  await api.deps.db.$client`checkpoint`;
});
afterAll(async () => {
  await api?.close();
  await postgresServer?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const postmasterPid = async () =>
  Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);

/** The postmaster and the processes it forked (backends, checkpointer, …). */
async function clusterPids(): Promise<number[]> {
  const postmaster = await postmasterPid();
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command name: state, then the parent's pid.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

interface Timed {
  status: number;
  retryAfter: string | null;
  body: any;
  ms: number;
}

async function timed(path: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(`${api.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body,
    ms: performance.now() - started,
  };
}

const listCustomers = () => timed('/api/v1/customers');

describe('/readyz while PostgreSQL is frozen (SIGSTOP): neither answering nor refusing', () => {
  it('answers 503 within 2 s, and ready again once PostgreSQL resumes', async () => {
    expect((await timed('/readyz')).status).toBe(200);
    const pids = await clusterPids();
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      const frozen = await timed('/readyz');
      expect(frozen.status).toBe(503);
      expect(frozen.body).toEqual({ status: 'database unreachable' });
      expect(frozen.ms).toBeLessThan(2_500);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => (await timed('/readyz')).status === 200, { what: '/readyz ready after SIGCONT' });
  });
});

describe('PostgreSQL killed with SIGKILL, then restarted on the same data and port', () => {
  it('answers 503 with Retry-After and a typed code promptly, and recovers without restarting the API', async () => {
    expect((await listCustomers()).status).toBe(200);
    // A write whose transaction is open when the server dies: it waits for a lock held here.
    const blocker = postgres(postgresServer?.url as string, { max: 1, onnotice: () => {} });
    const held = await blocker.reserve();
    await held`begin`;
    await held`lock table customers in share mode`;
    const inFlight = timed('/api/v1/customers', {
      method: 'POST',
      body: JSON.stringify({ firstName: 'Ann', lastName: 'Lee', phone: uniquePhone() }),
    });
    await waitFor(async () => (await held`select 1 from pg_locks where not granted`).length > 0, {
      what: 'the write to wait for its lock',
    });

    process.kill(await postmasterPid(), 'SIGKILL');
    const interrupted = await inFlight;
    expect({ status: interrupted.status, retryAfter: interrupted.retryAfter }).toEqual({
      status: 503,
      retryAfter: '5',
    });
    await blocker.end({ timeout: 0 }).catch(() => {});
    // The backends notice their postmaster's death and close their connections; meanwhile
    // each answer is a success or a 503, never a 500.
    const seen = new Set<number>();
    await waitFor(
      async () => {
        const { status } = await listCustomers();
        seen.add(status);
        return status === 503;
      },
      { what: 'the API to report 503' },
    );
    expect([...seen].filter((status) => status !== 200 && status !== 503)).toEqual([]);

    const outage = {
      rest: await listCustomers(),
      restWrite: await timed('/api/v1/customers', { method: 'POST', body: JSON.stringify({ firstName: 'Ann' }) }),
      trpc: await timed('/trpc/auth.me'),
      login: await timed('/api/v1/auth/login', {
        method: 'POST',
        body: JSON.stringify({ username: admin.username, password: admin.password }),
      }),
      plainRoute: await timed('/api/v1/customers/export?format=csv'),
    };
    for (const [name, result] of Object.entries(outage)) {
      expect({ name, status: result.status, retryAfter: result.retryAfter }).toEqual({
        name,
        status: 503,
        retryAfter: '5',
      });
      expect(result.ms).toBeLessThan(2_000);
      expect(JSON.stringify(result.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack|select /i);
    }
    expect(outage.rest.body).toMatchObject({
      detail: 'The database is unavailable; retry shortly',
      code: 'SERVICE_UNAVAILABLE',
      status: 503,
      reason: 'DATABASE_UNAVAILABLE',
    });
    expect(outage.trpc.body.error.data).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'DATABASE_UNAVAILABLE',
    });
    expect(outage.plainRoute.body).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      reason: 'DATABASE_UNAVAILABLE',
    });
    const ready = await timed('/readyz');
    expect(ready).toMatchObject({ status: 503, body: { status: 'database unreachable' } });
    expect(ready.ms).toBeLessThan(2_000);

    // Orphaned backends may hold the old shared memory for a moment: retry the start until it takes.
    postgresServer = await waitFor(() => startPostgres().catch(() => undefined), {
      what: 'PostgreSQL to restart',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    await waitFor(async () => (await timed('/readyz')).status === 200, { what: '/readyz ready after the restart' });
    // Every pooled connection, not just the probe's, is usable again.
    const after = await Promise.all(Array.from({ length: 12 }, () => listCustomers()));
    expect(after.map((result) => result.status)).toEqual(Array(12).fill(200));
    expect((await timed('/trpc/auth.me')).status).toBe(200);
  });
});
