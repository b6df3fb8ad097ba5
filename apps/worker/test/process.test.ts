import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { schema } from '@touch-crm/db';
import {
  createTeam,
  createUser,
  type FakeCarrier,
  insertCustomer,
  programFile,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  waitFor,
} from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV, queueTestMessage } from './support.ts';
import { killAll, spawnWorker } from './worker-process.ts';

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
  killAll(children);
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

const startWorkerProcess = (extra: Record<string, string> = {}) => spawnWorker(processEnv(extra), children);

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

const callsPerKey = (requests: readonly { idempotencyKey?: string }[]) => {
  const perKey = new Map<string, number>();
  for (const { idempotencyKey: key } of requests) perKey.set(key as string, (perKey.get(key as string) ?? 0) + 1);
  return perKey;
};

describe.each([
  { carrier: 'a zero-latency carrier', delayMs: 0 },
  { carrier: 'a 60 ms carrier', delayMs: 60 },
])('a worker killed with SIGKILL mid-campaign, then restarted, with $carrier', ({ delayMs }) => {
  it('delivers every message once; re-offers at most SMS_CONCURRENCY; releases the dead worker’s claims in seconds', async () => {
    const size = 200;
    const campaignId = await campaignOf(size);
    const prefix = `campaign:${campaignId}:`;
    const ours = () => carrier.requests.filter((r) => r.idempotencyKey?.startsWith(prefix));
    carrier.behave(() => (delayMs ? { delayMs } : undefined));
    // A lease far longer than the test: only the heartbeat can bring the dead worker's claims back.
    // A carrier timeout far above its latency on a loaded machine, so no call is retried for slowness.
    const env = { SMS_SENDING_LEASE: '60s', WORKER_HEARTBEAT_TIMEOUT: '1s', SMS_HTTP_TIMEOUT: '5s' };

    const first = await startWorkerProcess(env);
    await waitFor(() => ours().length >= 60, { what: '60 carrier calls', timeoutMs: 30_000, intervalMs: 5 });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    expect((await statusCounts(campaignId)).SENT ?? 0).toBeLessThan(size);

    const second = await startWorkerProcess(env);
    // Not the 60 s lease: the first worker's heartbeat goes stale after 1 s and its claims go back
    // (within half the lease even on a loaded machine).
    const deadWorker = first.logged('worker ready')?.workerId as string;
    await waitFor(
      async () => {
        const [held] = await api.deps.db
          .select({ n: sql<number>`count(*)::int` })
          .from(schema.messageQueue)
          .where(eq(schema.messageQueue.workerId, deadWorker));
        return held?.n === 0;
      },
      { what: 'the dead worker’s claims to be released', timeoutMs: 30_000 },
    );
    await waitFor(
      async () => {
        const [row] = await api.deps.db
          .select({ status: schema.campaigns.status })
          .from(schema.campaigns)
          .where(eq(schema.campaigns.id, campaignId));
        return row?.status === 'COMPLETED';
      },
      { what: 'the campaign to complete after the restart', timeoutMs: 60_000 },
    );
    expect(await statusCounts(campaignId)).toEqual({ SENT: size });

    // The carrier honours the key: every message reached a phone exactly once.
    const delivered = [...carrier.deliveries.keys()].filter((key) => key.startsWith(prefix));
    expect(delivered).toHaveLength(size);
    // Offered twice only if it was in a slot at the kill (in flight, or answered and being written).
    const perKey = callsPerKey(ours());
    expect(perKey.size).toBe(size);
    const twice = [...perKey.entries()].filter(([, n]) => n > 1);
    expect(Math.max(...perKey.values())).toBeLessThanOrEqual(2);
    expect(twice.length).toBeLessThanOrEqual(8);
    for (const [key] of twice) expect(ours().filter((r) => r.idempotencyKey === key)[1]?.at).toBeGreaterThan(killedAt);
    // A claim the dead worker never sent counts its attempt too: one attempt more than calls at most.
    const rows = await api.deps.db
      .select({ attempts: schema.messageQueue.attempts, key: schema.messageQueue.idempotencyKey })
      .from(schema.messageQueue)
      .where(eq(schema.messageQueue.campaignId, campaignId));
    for (const row of rows) {
      expect(row.attempts).toBeGreaterThanOrEqual(perKey.get(row.key) ?? 0);
      expect(row.attempts).toBeLessThanOrEqual((perKey.get(row.key) ?? 0) + 1);
    }

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 150_000);
});

const messagesOf = (ids: readonly string[]) =>
  api.deps.db
    .select({ status: schema.messageQueue.status, attempts: schema.messageQueue.attempts })
    .from(schema.messageQueue)
    .where(sql`${schema.messageQueue.id} = any(${`{${ids.join(',')}}`}::uuid[])`);

describe('SIGTERM with a shutdown timeout shorter than a batch', () => {
  it('starts no carrier call after the signal, hands unsent claims back to QUEUED and exits 0', async () => {
    // A batch of 20 at 4 calls at a time per loop takes 5 × 700 ms, longer than WORKER_SHUTDOWN_TIMEOUT.
    carrier.behave((request) => (request.body?.startsWith('graceful') ? { delayMs: 700 } : undefined));
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await queueTestMessage(api.deps, { body: `graceful ${i}` })).id);
    const worker = await startWorkerProcess({
      WORKER_SHUTDOWN_TIMEOUT: '3s',
      // Far above the carrier's 700 ms, so a loaded machine does not turn answers into timeouts.
      SMS_HTTP_TIMEOUT: '3s',
      SMS_SENDING_LEASE: '5s',
    });
    const ours = () => carrier.requests.filter((r) => r.body?.startsWith('graceful'));
    await waitFor(() => ours().length >= 4, { what: 'the first calls', intervalMs: 5 });
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    expect({ code, output: code === 0 ? '' : worker.output().slice(-3000) }).toEqual({ code: 0, output: '' });
    // Only calls started before the signal was handled reach the carrier afterwards: one per slot (8) at most.
    const stoppingAt = worker.logged('worker stopping')?.time as number;
    expect(ours().filter((r) => r.at > stoppingAt).length).toBeLessThanOrEqual(8);
    expect(ours().length).toBeLessThan(40);
    // Nothing left mid-send: SENT, or QUEUED again with no attempt counted; one call per attempt.
    const rows = await messagesOf(ids);
    expect(rows.filter((row) => row.status === 'SENDING')).toEqual([]);
    expect(rows.filter((row) => row.status === 'SENT').length).toBeGreaterThan(0);
    expect(rows.reduce((sum, row) => sum + row.attempts, 0)).toBe(ours().length);
    expect(worker.output()).toContain('"msg":"worker stopped"');
    expect(worker.output()).not.toContain('"level":40');
  }, 90_000);

  it('warns when the deadline cuts calls in flight short', async () => {
    carrier.behave((request) => (request.body?.startsWith('cut short') ? { delayMs: 2_500 } : undefined));
    for (let i = 0; i < 4; i++) await queueTestMessage(api.deps, { body: `cut short ${i}` });
    const worker = await startWorkerProcess({
      WORKER_SHUTDOWN_TIMEOUT: '1s',
      SMS_HTTP_TIMEOUT: '4s',
      SMS_SENDING_LEASE: '5s',
    });
    await waitFor(() => carrier.requests.some((r) => r.body?.startsWith('cut short')), { what: 'a call in flight' });
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    const warnings = worker
      .output()
      .split('\n')
      .filter((line) => line.includes('"level":40'));
    expect(warnings.join('\n')).toContain('shutdown deadline cut work short');
    expect(warnings.join('\n')).toContain('worker stopped before its jobs finished');
  }, 90_000);
});

// Each command is a fresh Node process loading the app, slow to start on a busy machine.
describe('pnpm jobs', { timeout: 60_000 }, () => {
  const cli = (...args: string[]) =>
    promisify(execFile)(process.execPath, [programFile('jobs'), ...args], { env: processEnv({ LOG_LEVEL: 'warn' }) });

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
