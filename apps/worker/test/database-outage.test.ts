import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDatabase, type EmbeddedDatabase, runMigrations, schema, startEmbeddedPostgres } from '@touch-crm/db';
import { createBoss, createJobQueue, ensureQueues } from '@touch-crm/jobs';
import { enqueueDelivery } from '@touch-crm/services';
import { type FakeCarrier, startFakeCarrier, uniquePhone, waitFor } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV } from './support.ts';
import { killAll, spawnWorker } from './worker-process.ts';

// This file kills PostgreSQL, so it runs its own (never the test server the other files share).
let dataDir: string;
let port: number;
let server: EmbeddedDatabase;
let carrier: FakeCarrier;
const children = new Set<ChildProcess>();

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

// Durable settings (not the test server's fsync=off): a commit acknowledged before the kill must survive it.
const startServer = () => startEmbeddedPostgres({ dataDir, port, startTimeoutMs: 30_000 });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-outage-'));
  port = await freePort();
  server = await startServer();
  await runMigrations(server.url);
  carrier = await startFakeCarrier();
}, 120_000);
afterEach(() => killAll(children));
afterAll(async () => {
  await carrier?.close();
  await server?.stop().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 30_000);

/** kill -9 of the postmaster and of its backends, as a crashed server would leave things. */
async function killPostgres(): Promise<void> {
  const postmaster = Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const backends: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 (after the parenthesised name) is the parent's pid.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) backends.push(Number(entry));
  }
  process.kill(postmaster, 'SIGKILL');
  for (const pid of backends) process.kill(pid, 'SIGKILL');
}

/** Starts it again on the same data and port, once the dead server's port and memory are free. */
async function restartPostgres(): Promise<void> {
  await waitFor(
    async () => {
      try {
        server = await startServer();
        return true;
      } catch {
        return false;
      }
    },
    { what: 'PostgreSQL to start again', timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** Messages and their delivery jobs, written together as the application writes them. */
async function queueMessages(count: number): Promise<string[]> {
  const database = connectDatabase(server.url, { max: 2 });
  const boss = createBoss(server.url, { max: 1, schedule: false, supervise: false, listen: false });
  await boss.start();
  await ensureQueues(boss);
  try {
    return await database.db.transaction(async (tx) => {
      const rows = await tx
        .insert(schema.messageQueue)
        .values(
          Array.from({ length: count }, (_, i) => ({
            phone: uniquePhone(),
            body: `outage ${i}`,
            type: 'MANUAL' as const,
            idempotencyKey: `outage:${i}`,
          })),
        )
        .returning({ id: schema.messageQueue.id });
      const ids = rows.map((row) => row.id);
      await enqueueDelivery(createJobQueue(boss), tx, ids, { batchSize: 50 });
      return ids;
    });
  } finally {
    await boss.stop({ graceful: false, timeout: 1_000 });
    await database.close();
  }
}

describe('PostgreSQL killed with SIGKILL mid-campaign, then restarted', () => {
  it('sends no message twice: no call starts once a write fails, answers are kept and written when it is back', async () => {
    const size = 400;
    await queueMessages(size);
    carrier.behave(() => ({ delayMs: 20 }));
    const worker = await spawnWorker(
      {
        ...process.env,
        ...FAST_WORKER_ENV,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        DATABASE_URL: server.url,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: `${carrier.url}/sms`,
        SMS_HTTP_TIMEOUT: '2s',
        // Longer than the outage: no lease expires while the worker holds its answers.
        SMS_SENDING_LEASE: '30s',
        SMS_CONCURRENCY: '8',
        SMS_BATCH_SIZE: '50',
      },
      children,
    );
    await waitFor(() => carrier.requests.length >= 120, {
      what: '120 carrier calls',
      timeoutMs: 30_000,
      intervalMs: 5,
    });
    await killPostgres();
    const killedAt = Date.now();
    // Down for a second at least, while the calls in flight come back with nowhere to write.
    await waitFor(() => Date.now() - killedAt > 1_000, { intervalMs: 50 });
    const callsWhileDown = carrier.requests.filter((r) => r.at > killedAt + 300).length;
    await restartPostgres();

    const database = connectDatabase(server.url, { max: 1 });
    try {
      await waitFor(
        async () => {
          const [row] = await database.db.execute<{ n: number }>(
            sql`select count(*)::int as n from message_queue where status = 'SENT'`,
          );
          return row?.n === size;
        },
        { what: `${size} messages SENT`, timeoutMs: 45_000, intervalMs: 200 },
      );
      // Once a write failed, no new call started (only those already in flight answered).
      expect(callsWhileDown).toBe(0);
      // One carrier call per message: nothing sent again after the database came back.
      const perKey = new Map<string, number>();
      for (const request of carrier.requests)
        perKey.set(request.idempotencyKey as string, (perKey.get(request.idempotencyKey as string) ?? 0) + 1);
      expect(perKey.size).toBe(size);
      expect([...perKey.entries()].filter(([, calls]) => calls > 1)).toEqual([]);
      const [attempts] = await database.db.execute<{ max: number }>(
        sql`select max(attempts)::int as max from message_queue`,
      );
      expect(attempts?.max).toBe(1);
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await database.close();
    }
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  }, 150_000);
});
