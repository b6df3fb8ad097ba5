import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { schema } from '@touch-crm/db';
import {
  createTeam,
  createUser,
  type FakeCarrier,
  insertCustomer,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  waitFor,
} from '@touch-crm/test-utils';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV, queueTestMessage } from './support.ts';

const WORKER_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const JOBS_CLI = fileURLToPath(new URL('../src/cli/jobs.ts', import.meta.url));

let api: TestApi;
let carrier: FakeCarrier;
let team: Awaited<ReturnType<typeof createTeam>>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  api = await startTestApi({ env: { SMS_QUIET_HOURS: 'off' } });
  carrier = await startFakeCarrier();
  team = await createTeam(api.deps);
});
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  carrier.behave(() => undefined);
});
afterAll(async () => {
  await carrier?.close();
  await api?.close();
});

function processEnv(extra: Record<string, string> = {}) {
  return {
    ...process.env,
    ...FAST_WORKER_ENV,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: api.databaseUrl,
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: `${carrier.url}/sms`,
    SMS_CONCURRENCY: '8',
    SMS_BATCH_SIZE: '20',
    ...extra,
  };
}

/** The real worker process (`node apps/worker/src/main.ts`), resolved once it logs "worker ready". */
async function spawnWorker(extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [WORKER_MAIN], { env: processEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"worker ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready:\n${output}`));
    });
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

async function campaignOf(size: number) {
  const owner = await createUser(api.deps, { role: 'Sales Representative' });
  for (let i = 0; i < size; i++) await insertCustomer(api.deps, owner.id, { firstName: `K${i}` });
  const created = await api.rest('POST', '/campaigns', {
    token: team.manager.token,
    body: { name: 'Crash test', message: 'Hello {{firstName}}', audience: { ownerIds: [owner.id] } },
  });
  const executed = await api.rest('POST', `/campaigns/${created.body.id}/execute`, {
    token: team.manager.token,
    body: {},
  });
  expect(executed.body.counts).toMatchObject({ audience: size, queued: size });
  return created.body.id as string;
}

const statusCounts = async (campaignId: string) => {
  const rows = await api.deps.db
    .select({ status: schema.messageQueue.status, n: sql<number>`count(*)::int` })
    .from(schema.messageQueue)
    .where(eq(schema.messageQueue.campaignId, campaignId))
    .groupBy(schema.messageQueue.status);
  return Object.fromEntries(rows.map((row) => [row.status, row.n])) as Record<string, number>;
};

describe('a worker killed with SIGKILL mid-campaign, then restarted', () => {
  it('delivers every message exactly once to the carrier (counted by idempotency key)', async () => {
    const size = 120;
    const campaignId = await campaignOf(size);
    const prefix = `campaign:${campaignId}:`;
    const ours = () => carrier.requests.filter((r) => r.idempotencyKey?.startsWith(prefix));
    carrier.behave(() => ({ delayMs: 120 }));

    const first = await spawnWorker();
    await waitFor(() => ours().length >= 40, { what: '40 carrier calls', timeoutMs: 20_000 });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    const atKill = await statusCounts(campaignId);
    // Some were mid-call: SENDING, their outcome unknown to us (the carrier may have them).
    expect(atKill.SENT ?? 0).toBeLessThan(size);

    const second = await spawnWorker();
    await waitFor(
      async () => {
        const [row] = await api.deps.db
          .select({ status: schema.campaigns.status })
          .from(schema.campaigns)
          .where(eq(schema.campaigns.id, campaignId));
        return row?.status === 'COMPLETED';
      },
      { what: 'the campaign to complete after the restart', timeoutMs: 30_000 },
    );
    expect(await statusCounts(campaignId)).toEqual({ SENT: size });

    // Every message reached the carrier and was delivered once.
    const keys = new Set(ours().map((r) => r.idempotencyKey));
    expect(keys.size).toBe(size);
    const delivered = [...carrier.deliveries.keys()].filter((key) => key.startsWith(prefix));
    expect(delivered).toHaveLength(size);
    // Only messages in flight at the kill were offered twice (with the same key), after the restart.
    const perKey = new Map<string, number>();
    for (const request of ours())
      perKey.set(request.idempotencyKey as string, (perKey.get(request.idempotencyKey as string) ?? 0) + 1);
    const twice = [...perKey.entries()].filter(([, n]) => n > 1);
    expect(Math.max(...perKey.values())).toBeLessThanOrEqual(2);
    // At most the calls in flight (SMS_CONCURRENCY = 8) plus answers not yet written (grouped for 25 ms).
    expect(twice.length).toBeLessThanOrEqual(16);
    for (const [key] of twice) {
      const calls = ours().filter((r) => r.idempotencyKey === key);
      expect(calls[1]?.at).toBeGreaterThan(killedAt);
    }
    // Each message row says it took one or two carrier calls.
    const attempts = await api.deps.db
      .select({ attempts: schema.messageQueue.attempts, key: schema.messageQueue.idempotencyKey })
      .from(schema.messageQueue)
      .where(eq(schema.messageQueue.campaignId, campaignId));
    for (const row of attempts) expect(row.attempts).toBe(perKey.get(row.key));

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 60_000);
});

describe('SIGTERM', () => {
  it('stops fetching, lets the messages in flight finish, and exits 0 within the bound', async () => {
    // Slow, but within SMS_HTTP_TIMEOUT (400 ms).
    carrier.behave((request) => (request.body?.startsWith('graceful') ? { delayMs: 250 } : undefined));
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await queueTestMessage(api.deps, { body: `graceful ${i}` })).id);
    const worker = await spawnWorker();
    await waitFor(() => carrier.requests.some((r) => r.body?.startsWith('graceful')), { what: 'the first call' });
    const asked = Date.now();
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    expect({ code, output: code === 0 ? '' : worker.output().slice(-3000) }).toEqual({ code: 0, output: '' });
    expect(Date.now() - asked).toBeLessThan(5_000 + 2_000);
    // Nothing left mid-send: each message is SENT or still QUEUED for the next worker.
    const rows = await api.deps.db
      .select({ status: schema.messageQueue.status })
      .from(schema.messageQueue)
      .where(and(sql`${schema.messageQueue.id} = any(${`{${ids.join(',')}}`}::uuid[])`));
    expect(rows.filter((row) => row.status === 'SENDING')).toEqual([]);
    expect(rows.filter((row) => row.status === 'SENT').length).toBeGreaterThan(0);
  }, 30_000);
});

describe('pnpm jobs', () => {
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, [JOBS_CLI, ...args], { env: processEnv({ LOG_LEVEL: 'warn' }) });

  it('runs a job on demand in the calling process and records the run like a worker’s', async () => {
    const { stdout } = await cli('run', 'rfm.score');
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ job: 'rfm.score', state: 'completed', result: { scored: expect.any(Number) } });
    const [row] = await api.deps.db.execute<{ state: string }>(
      sql`select state::text as state from pgboss.job where id = ${result.id}::uuid`,
    );
    expect(row?.state).toBe('completed');
    const list = await cli('list');
    expect(list.stdout).toMatch(/rfm\.score\s+.*last: completed/);
  });

  it('refuses an unknown job with the list of jobs', async () => {
    await expect(cli('run', 'nope')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/rfm\.score/) });
  });
});
