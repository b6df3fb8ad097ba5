import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@touch-crm/config';
import { connectDatabase, runMigrations, runSeed } from '@touch-crm/db';
import { generateDataset } from '@touch-crm/db/dataset';
import { createBoss, createJobQueue, ensureQueues } from '@touch-crm/jobs';
import {
  createCampaign,
  enqueueDelivery,
  executeCampaign,
  hashPassword,
  jobCaller,
  type ServiceDeps,
  scoreRfm,
} from '@touch-crm/services';
import { startFakeCarrier } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { cpuMs, log, postmasterOf } from './harness.ts';

const WORKER_MAIN = fileURLToPath(new URL('../apps/worker/src/main.ts', import.meta.url));

/** No schedules in the bench: every job runs because the case asks for it. */
const QUIET = {
  SMS_QUIET_HOURS: 'off',
  LOG_LEVEL: 'silent',
  CRON_RFM_SCORE: 'off',
  CRON_BIRTHDAY_MESSAGES: 'off',
  CRON_INACTIVITY_MESSAGES: 'off',
  CRON_RECURRING_TASKS: 'off',
  CRON_CAMPAIGN_DISPATCH: 'off',
  CRON_LOGIN_FAILURES_PRUNE: 'off',
  CRON_REQUEST_RECORDS_PRUNE: 'off',
};

const seconds = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};

export interface WorkerBench {
  deps: ServiceDeps;
  sql: postgres.Sql;
  /** Seconds the dataset generator took, and the VACUUM ANALYZE after it. */
  generated: number;
  vacuumed: number;
  close: () => Promise<void>;
}

/** A fresh database with `customers` customers (about five orders each, `recipients` of them CUSTOMER) and service deps. */
export async function prepareWorkerBench(
  serverUrl: string,
  customers: number,
  recipients: number,
  report: (message: string) => void = log,
): Promise<WorkerBench> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe('drop database if exists bench_worker with (force)');
  await admin.unsafe('create database bench_worker');
  await admin.end();
  const url = `${serverUrl.replace(/\/[^/]*$/, '')}/bench_worker`;
  await runMigrations(url);
  const handle = connectDatabase(url, { max: 8 });
  await runSeed(handle.db, { hashPassword });
  const owners = await handle.sql<{ id: string }[]>`select id from users`;
  // Campaign recipients: exactly `recipients` customers have status CUSTOMER, the rest INACTIVE.
  const generated = await seconds(() =>
    generateDataset(
      handle.sql,
      owners.map((o) => o.id),
      { customers, ordersPerCustomer: 4, products: 100, activeCustomers: recipients },
      report,
    ),
  );
  const vacuumed = await seconds(() => handle.sql`vacuum analyze`);
  const boss = createBoss(url, { max: 2, schedule: false, supervise: false });
  await boss.start();
  await ensureQueues(boss);
  const jobs = createJobQueue(boss);
  const config = loadConfig(QUIET);
  const deps: ServiceDeps = { db: handle.db, config, now: () => new Date(), jwtKey: new Uint8Array(0), jobs };
  return {
    deps,
    sql: handle.sql,
    generated,
    vacuumed,
    close: async () => {
      await boss.stop({ graceful: false, close: true });
      await handle.close();
    },
  };
}

/**
 * RFM scoring of every customer against a bare GROUP BY over the same orders (rows returned to the
 * client, three rounds). The first run gives every customer a level (three rounds, from no scores
 * each time); each of the four daily runs after it
 * follows 1,000 orders changing status: cancelled, then restored, in turn, so every round has the
 * same work.
 */
export async function benchRfm(bench: WorkerBench, rounds = 4) {
  const baseline: number[] = [];
  for (let i = 0; i < 3; i++)
    baseline.push(
      await seconds(
        () => bench.sql`
          select customer_id, max(created_at), count(*), sum(total) from orders
           where status <> 'CANCELLED' and created_at > now() - interval '365 days' group by customer_id`,
      ),
    );
  const first: number[] = [];
  for (let i = 0; i < 3; i++) {
    // Back to no scores at all, as on a fresh install, for each first-scoring round.
    if (i > 0) await bench.sql`truncate customer_rfm, rfm_state`;
    first.push(await seconds(() => scoreRfm(bench.deps, new Date())));
  }
  const changed = await bench.sql<{ id: string; status: string }[]>`
    select id, status from orders where status <> 'CANCELLED' order by id limit 1000`;
  const ids = changed.map((order) => order.id);
  const daily: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) await bench.sql`update orders set status = 'CANCELLED' where id = any(${ids}::uuid[])`;
    else
      await bench.sql`
        update orders o set status = x.status::order_status
          from unnest(${ids}::uuid[], ${changed.map((order) => order.status)}::text[]) as x (id, status)
         where o.id = x.id`;
    daily.push(await seconds(() => scoreRfm(bench.deps, new Date())));
  }
  return { value: daily, first, baseline };
}

/** Executing a campaign to every customer against a plain INSERT … SELECT of the same message rows. */
export async function benchCampaign(bench: WorkerBench) {
  const baseline = await seconds(async () => {
    await bench.sql.begin(async (tx) => {
      await tx`insert into message_queue (customer_id, phone, body, type, idempotency_key)
               select id, phone, 'Hello ' || first_name, 'CAMPAIGN', 'baseline:' || id
                 from customers where deleted_at is null and status = 'CUSTOMER' and sms_opt_in`;
    });
  });
  await bench.sql`delete from message_queue where idempotency_key like 'baseline:%'`;
  const caller = jobCaller('bench');
  const campaign = await createCampaign(bench.deps, caller, {
    name: 'Bench',
    message: 'Hello {{firstName}}',
    audience: { statuses: ['CUSTOMER'] },
  } as never);
  const value = await seconds(() => executeCampaign(bench.deps, caller, { id: campaign.id }));
  const [row] = await bench.sql<
    { n: number }[]
  >`select count(*)::int as n from message_queue where campaign_id = ${campaign.id}`;
  // Its messages are not sent here: left QUEUED with their jobs, they would be delivered by the
  // workers of the sms.deliver case, which then timed 20,000 campaign messages beside its own 5,000.
  await bench.sql`delete from message_queue where campaign_id = ${campaign.id}`;
  await bench.sql`delete from pgboss.job where name = 'sms.send'`;
  return { value, baseline, recipients: row?.n ?? 0 };
}

/** `count` worker processes on the bench database, sending to `carrierUrl`, once each logs "worker ready". */
async function startWorkers(serverUrl: string, carrierUrl: string, count: number) {
  const url = `${serverUrl.replace(/\/[^/]*$/, '')}/bench_worker`;
  const env = { ...process.env, ...QUIET, LOG_LEVEL: 'info', DATABASE_URL: url, SMS_PROVIDER: 'http' };
  // Separate processes, as operators run them: two in one process would share one thread.
  const running = await Promise.all(
    Array.from({ length: count }, async () => {
      const child = spawn(process.execPath, ['--max-semi-space-size=8', WORKER_MAIN], {
        env: { ...env, SMS_HTTP_URL: `${carrierUrl}/sms` },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let output = '';
      await new Promise<void>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('worker ready')) resolve();
        });
      });
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      return child;
    }),
  );
  return {
    pids: running.map((child) => child.pid as number),
    stop: () =>
      Promise.all(
        running.map(
          (child) =>
            new Promise((resolve) => {
              child.once('exit', resolve);
              child.kill('SIGTERM');
            }),
        ),
      ),
  };
}

/** `messages` messages and their delivery jobs, committed together. */
async function queueMessages(bench: WorkerBench, tag: string, messages: number) {
  await bench.deps.db.transaction(async (tx) => {
    const rows = await tx.execute<{ id: string }>(sql`
      insert into message_queue (phone, body, type, idempotency_key)
      select '+1202' || lpad(g::text, 7, '0'), 'hello ' || g, 'MANUAL', ${tag} || ':' || g
        from generate_series(1, ${messages}::int) g returning id`);
    await enqueueDelivery(
      bench.deps.jobs,
      tx,
      rows.map((r) => r.id),
      { batchSize: bench.deps.config.SMS_BATCH_SIZE },
    );
  });
}

/**
 * SMS delivery to a zero-latency local carrier, with `workers` worker processes started first:
 * messages per second, and the CPU milliseconds per message of the workers (what a shared
 * machine's load moves least), of PostgreSQL and of this process (the carrier), with the cores
 * they kept busy together.
 */
export async function benchSms(bench: WorkerBench, serverUrl: string, messages: number, workers: number) {
  // A live database has events: on an empty domain_events the foreign-key checks of the outcome's
  // audit and timeline rows are planned as sequential scans of a table the run keeps growing.
  await bench.sql`
    insert into domain_events (type, entity_type, entity_id, customer_id, data)
    select 'customer.created', 'customer', id, id, '{}' from customers
     where not exists (select 1 from domain_events) limit 50000`;
  await bench.sql`analyze domain_events`;
  const [backend] = await bench.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const postmaster = await postmasterOf(backend?.pid ?? 0);
  const carrier = await startFakeCarrier();
  const tag = `bench${workers}:${Date.now()}`;
  const { pids, stop } = await startWorkers(serverUrl, carrier.url, workers);
  const workersCpu = async () => (await Promise.all(pids.map((pid) => cpuMs(pid)))).reduce((a, b) => a + b, 0);
  const workersBefore = await workersCpu();
  const postgresBefore = await cpuMs(postmaster);
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  await queueMessages(bench, tag, messages);
  // Only this case's messages are waiting: the status index answers the poll without a scan.
  for (;;) {
    const [row] = await bench.sql<{ n: number }[]>`
      select count(*)::int as n from message_queue where status in ('QUEUED', 'SENDING')`;
    if ((row?.n ?? 0) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const elapsed = (performance.now() - started) / 1000;
  const workerMs = (await workersCpu()) - workersBefore;
  const postgresMs = (await cpuMs(postmaster)) - postgresBefore;
  const benchUsage = process.cpuUsage(benchBefore);
  const benchMs = (benchUsage.user + benchUsage.system) / 1000;
  const [sent] = await bench.sql<{ n: number }[]>`
    select count(*)::int as n from message_queue where idempotency_key like ${`${tag}:%`} and status = 'SENT'`;
  if ((sent?.n ?? 0) !== messages) throw new Error(`sms.deliver: ${sent?.n ?? 0} of ${messages} messages SENT`);
  await stop();
  await carrier.close();
  return {
    rate: messages / elapsed,
    cpuMsPerMessage: workerMs / messages,
    postgresCpuMsPerMessage: postgresMs / messages,
    // The carrier and the polling above run in this process.
    benchCpuMsPerMessage: benchMs / messages,
    // Cores the case's processes kept busy on average: near the machine's count, a second worker has nothing to run on.
    coresBusy: (workerMs + postgresMs + benchMs) / 1000 / elapsed,
  };
}

/**
 * Milliseconds from the commit of one message to the carrier's call, for `rounds` messages one
 * after another on an idle worker: LISTEN/NOTIFY wakes it, where its poll (WORKER_POLL_INTERVAL,
 * 2 s) would take a second on average.
 */
export async function benchSmsPickup(bench: WorkerBench, serverUrl: string, rounds: number) {
  const carrier = await startFakeCarrier();
  const { stop } = await startWorkers(serverUrl, carrier.url, 1);
  const tag = `pickup:${Date.now()}`;
  const waits: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const key = `${tag}:${round}:1`;
    const started = performance.now();
    await queueMessages(bench, `${tag}:${round}`, 1);
    while (!carrier.requests.some((request) => request.idempotencyKey === key))
      await new Promise((resolve) => setTimeout(resolve, 2));
    waits.push(performance.now() - started);
  }
  await stop();
  await carrier.close();
  return waits;
}
