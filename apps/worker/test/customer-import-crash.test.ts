import type { ChildProcess } from 'node:child_process';
import { IMPORT_BATCH } from '@touch-crm/services';
import { createTeam, insertCustomer, startTestApi, type TestApi, waitFor } from '@touch-crm/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV } from './support.ts';
import { importHelpers } from './support-import.ts';
import { killAll, spawnWorker } from './worker-process.ts';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterEach(() => killAll(children));
afterAll(async () => {
  await api?.close();
});

const { sql, upload, getImport } = importHelpers(() => ({ api, team }));

const startWorkerProcess = () =>
  spawnWorker(
    { ...process.env, ...FAST_WORKER_ENV, NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: api.databaseUrl },
    children,
  );

/** A customer row held locked by this test until `release`, so that the batch holding its phone waits. */
async function holdCustomer(id: string) {
  const held = await sql().reserve();
  await held`begin`;
  await held`select 1 from customers where id = ${id} for update`;
  let released = false;
  return {
    waitedOn: () =>
      waitFor(
        async () =>
          (
            await sql()`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'
                           and query ilike '%for no key update%'`
          ).length > 0,
        { timeoutMs: 30_000, what: 'a batch to wait on the held customer' },
      ),
    release: async () => {
      if (released) return;
      released = true;
      await held`commit`.catch(() => {});
      held.release();
    },
  };
}

/** A file of `rows` new customers (+1 720 `prefix`xx xxxx) whose row `blocked` is an existing one, held locked. */
async function fileWithHeldRow(prefix: number, rows: number, blocked: number) {
  const phones = Array.from({ length: rows }, (_, i) => `+1720${prefix * 1_000_000 + i}`);
  const blocker = await insertCustomer(api.deps, team.manager.id, {
    firstName: 'Held',
    lastName: 'Row',
    phone: phones[blocked],
  });
  const csv = [
    'firstName,lastName,phone',
    ...phones.map((p, i) => (i === blocked ? `Held,Row,${p}` : `F${i},L${i},${p}`)),
  ].join('\n');
  return { phones, csv, held: await holdCustomer(blocker.id) };
}

const importJob = async (importId: string) =>
  (
    (await sql()`
      select j.state::text as state, j.retry_count, q.monitor_claim_on > j.started_on + interval '22 seconds' as supervised
        from pgboss.job j join pgboss.queue q on q.name = j.name
       where j.name = 'customers.import' and j.data->>'importId' = ${importId}`) as [
      { state: string; retry_count: number; supervised: boolean },
    ]
  )[0];

const finished = (id: string, timeoutMs: number, what: string) =>
  waitFor(
    async () => {
      const res = await getImport(id, team.manager.token, '?pageSize=1');
      return ['COMPLETED', 'FAILED'].includes(res.body.status) ? res.body : null;
    },
    { timeoutMs, intervalMs: 100, what },
  );

describe('a live import that outlasts its heartbeat interval', () => {
  it('keeps beating: the supervisor leaves it running and it completes in its first attempt', async () => {
    const rows = IMPORT_BATCH * 2;
    const { csv, held } = await fileWithHeldRow(5, rows, IMPORT_BATCH + 10);
    try {
      await startWorkerProcess();
      const accepted = await upload(csv);
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      await held.waitedOn();
      // Held up until a supervisor pass has run well past the 10 s a silent job would be given.
      await waitFor(async () => (await importJob(accepted.body.id))?.supervised, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'a supervisor pass 22 s into the job',
      });
      await held.release();
      const done = await finished(accepted.body.id, 30_000, 'the import to complete');
      expect(done).toMatchObject({ status: 'COMPLETED', rowsRead: rows, created: rows - 1 });
      expect(await importJob(accepted.body.id)).toMatchObject({ state: 'completed', retry_count: 0 });
    } finally {
      await held.release();
    }
  }, 120_000);
});

describe('a worker killed with SIGKILL mid-import', () => {
  it('leaves the import to the next worker within seconds, which resumes after the last committed batch', async () => {
    const rows = IMPORT_BATCH * 6;
    // The third batch waits on a customer row this test holds locked: the worker dies mid-import,
    // with two batches committed and the third (and perhaps the fourth) in flight.
    const { phones, csv, held } = await fileWithHeldRow(4, rows, IMPORT_BATCH * 2 + 10);
    try {
      const first = await startWorkerProcess();
      const accepted = await upload(csv);
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      const id = accepted.body.id as string;
      await held.waitedOn();
      // Two batches run at once: the second may still be committing while the third waits.
      await waitFor(async () => (await getImport(id)).body.rowsRead === 2 * IMPORT_BATCH, {
        timeoutMs: 30_000,
        what: 'the first two batches to commit',
      });
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      const killedAt = Date.now();
      await held.release();
      expect((await getImport(id)).body).toMatchObject({ status: 'RUNNING', rowsRead: 2 * IMPORT_BATCH });

      await startWorkerProcess();
      // Not expireInSeconds: the dead worker's job stops beating, the next supervisor pass fails it
      // for a retry, and the retry resumes (heartbeat 10 s + pass 10 s + retry delay 2 s + a poll).
      const done = await finished(id, 45_000, 'the import to resume and complete after the restart');
      expect(Date.now() - killedAt).toBeLessThan(45_000);
      expect(done).toMatchObject({ status: 'COMPLETED', rowsRead: rows, created: rows - 1, unchanged: 1, failed: 0 });
      // Every row once: no duplicate customer, no second creation event.
      const [counts] = (await sql()`
        select count(*)::int as customers, count(distinct phone)::int as phones,
               (select count(*)::int from domain_events e join customers c on c.id = e.entity_id
                 where e.type = 'customer.created' and c.phone = any(${phones})) as events
          from customers where phone = any(${phones})`) as [{ customers: number; phones: number; events: number }];
      expect(counts).toEqual({ customers: rows, phones: rows, events: rows - 1 });
      expect(await importJob(id)).toMatchObject({ state: 'completed', retry_count: 1 });
    } finally {
      await held.release();
    }
  }, 150_000);
});
