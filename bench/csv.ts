import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { cpuMs, load1, postmasterOf, reapedCpuMs } from './harness.ts';

/**
 * `csv.import` and `csv.export` for `pnpm bench`: the operator CLIs (the same service verbs as the
 * HTTP routes and the import job) against PostgreSQL's own COPY of the same rows. Each figure is
 * the time the CLI reports for the work itself (process start excluded), in seconds. Beside it, the
 * CPU each side spent (the machine is shared, so wall time moves with the load): the CLI process
 * whole (start included) against the bench's own client for COPY, and PostgreSQL (the postmaster
 * and its backends) for each.
 */

export interface CsvCaseResult {
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  better: 'lower';
  target: number;
  rounds?: { min: number; median: number; max: number; baselineMin?: number; baselineMax?: number };
  /** CPU ms (user + sys): the CLI and PostgreSQL for it, the COPY client and PostgreSQL for COPY (medians). */
  cpuMs?: { cli: number; postgres: number; baselineClient: number; baselinePostgres: number };
  /** The 1-minute load average when the case ended: the machine is shared. */
  load1?: number;
}

/**
 * CPU ms the work spent: this process's (the COPY client), its reaped children's (a CLI) and
 * PostgreSQL's. Read once `sql` is the only client left: a backend the postmaster reaps while
 * its CPU is being read would be counted nowhere.
 */
async function measureCpu<T>(sql: postgres.Sql, postmaster: number, work: () => Promise<T>) {
  const before = [process.cpuUsage(), await reapedCpuMs(), await cpuMs(postmaster)] as const;
  const result = await work();
  const own = process.cpuUsage(before[0]);
  for (;;) {
    const [{ others } = { others: 0 }] = await sql<{ others: number }[]>`
      select count(*)::int as others from pg_stat_activity
       where backend_type = 'client backend' and pid <> pg_backend_pid()`;
    if (others === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    result,
    client: Math.round((own.user + own.system) / 1000),
    cli: (await reapedCpuMs()) - before[1],
    postgres: (await cpuMs(postmaster)) - before[2],
  };
}

async function postmasterPid(sql: postgres.Sql) {
  const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  return postmasterOf(backend?.pid ?? 0);
}

interface Context {
  databaseUrl: string;
  root: string;
  log: (message: string) => void;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Barbara', 'Ken', 'Zoë', 'Mateo', 'Priya', 'Omar', 'Ingrid'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Liskov', 'Thompson', 'García', 'Sharma', 'Haddad', "O'Brien", 'Novak'];
const STATUSES = ['LEAD', 'PROSPECT', 'CUSTOMER', 'INACTIVE'];
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** The import file (what a team would upload) and the same rows as COPY input (with the owner). */
function importFiles(rows: number, ownerId: string) {
  let csv = 'firstName,lastName,phone,email,birthday,status,smsOptIn,notes\n';
  let copy = '';
  for (let i = 0; i < rows; i++) {
    // +1 719 2xx xxxx: valid numbers, in no generated dataset.
    const line = [
      FIRST[i % FIRST.length],
      LAST[Math.floor(i / FIRST.length) % LAST.length],
      `+1719${2_000_000 + i}`,
      `c${i}@example.com`,
      `19${50 + (i % 50)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
      STATUSES[i % STATUSES.length],
      i % 5 === 0 ? 'false' : 'true',
      i % 3 === 0 ? '"Met at the fair, asked for a call back"' : '',
    ].join(',');
    csv += `${line}\n`;
    copy += `${line},${ownerId}\n`;
  }
  return { csv, copy };
}

function runCli(
  root: string,
  script: string,
  args: string[],
  databaseUrl: string,
): Promise<{ code: number | null; stdout: string; stderr: string; peakRssMb: number }> {
  return new Promise((resolve) => {
    // As shipped: the bundle `pnpm build` makes (what the image runs), else the TypeScript source.
    const bundle = join(root, 'apps/worker/dist', script.replace(/\.ts$/, '.js'));
    const program = existsSync(bundle) ? bundle : join(root, 'apps/worker/src/cli', script);
    // With the flag the image sets (NODE_OPTIONS) and the package scripts pass.
    const child = spawn(process.execPath, ['--max-semi-space-size=8', program, ...args], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        JWT_SECRET: 'x'.repeat(40),
      },
      stdio: ['ignore', script === 'customers-export.ts' ? 'ignore' : 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // The process's high-water mark of resident memory, read while it runs (gone once it exits).
    let peakRssMb = 0;
    const sampler = setInterval(async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      peakRssMb = Math.max(peakRssMb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    }, 50);
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => {
      clearInterval(sampler);
      resolve({ code, stdout, stderr, peakRssMb: Math.round(peakRssMb) });
    });
  });
}

/** 100,000 customers (fewer in --quick) through `pnpm customers:import` against a COPY of the same rows. */
export async function benchCsvImport(context: Context, rows: number): Promise<CsvCaseResult & { peakRssMb: number }> {
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  const dir = await mkdtemp(join(tmpdir(), 'touch-crm-bench-csv-'));
  try {
    const [admin] = await sql<{ id: string }[]>`select id from users where lower(username) = 'admin'`;
    const { csv, copy } = importFiles(rows, admin?.id as string);
    const file = join(dir, 'customers.csv');
    await writeFile(file, csv);
    const clear = async () => {
      await sql`delete from customers where phone like '+17192%'`;
      await sql`vacuum analyze customers`;
    };

    const postmaster = await postmasterPid(sql);

    context.log(`csv.import: COPY of ${rows} rows`);
    const copyStarted = performance.now();
    const copyCpu = await measureCpu(sql, postmaster, async () => {
      const writable = await sql`
        copy customers (first_name, last_name, phone, email, birthday, status, sms_opt_in, notes, owner_id)
        from stdin with (format csv)`.writable();
      await new Promise<void>((resolve, reject) => {
        writable.on('error', reject);
        writable.end(copy, () => resolve());
      });
    });
    const copySeconds = (performance.now() - copyStarted) / 1000;
    await clear();

    context.log(`csv.import: pnpm customers:import of the same ${rows} rows`);
    const cliCpu = await measureCpu(sql, postmaster, () =>
      runCli(context.root, 'customers-import.ts', [file, '--json'], context.databaseUrl),
    );
    const { result } = cliCpu;
    if (result.code !== 0) throw new Error(`customers:import exited ${result.code}: ${result.stderr.slice(-2000)}`);
    const status = JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as {
      created: number;
      durationMs: number;
    };
    if (status.created !== rows) throw new Error(`customers:import created ${status.created} of ${rows}`);
    const importSeconds = status.durationMs / 1000;
    return {
      value: round(importSeconds),
      unit: 's',
      baseline: round(copySeconds),
      ratio: Math.round((importSeconds / copySeconds) * 10) / 10,
      better: 'lower',
      target: 3,
      cpuMs: {
        cli: cliCpu.cli,
        postgres: cliCpu.postgres,
        baselineClient: copyCpu.client,
        baselinePostgres: copyCpu.postgres,
      },
      load1: await load1(),
      peakRssMb: result.peakRssMb,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await sql.end();
  }
}

/** The export's columns in one COPY: what `exportCustomers` selects (its consent columns too), without the application in between. */
const COPY_EXPORT = `
  copy (
    select c.id, c.first_name, c.last_name, c.phone, c.email, c.birthday::text, c.gender, c.address, c.notes, c.status,
           l.name, u.username, c.sms_opt_in, consent.source::text,
           to_char(consent.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), c.time_zone,
           c.order_count, c.total_spent::text,
           to_char(c.last_order_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), r.segment,
           to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      from customers c
      join users u on u.id = c.owner_id
      left join customer_rfm r on r.customer_id = c.id
      left join customer_levels l on l.id = r.level_id
      left join lateral (select source, occurred_at from consent_events e
                          where e.customer_id = c.id and e.purpose = 'marketing'
                          order by e.occurred_at desc, e.seq desc limit 1) consent on true
     where c.deleted_at is null
     order by c.created_at, c.id
  ) to stdout with (format csv, header)`;

/** Every customer (topped up to `customers`) through `pnpm customers:export` against COPY … TO STDOUT. */
export async function benchCsvExport(context: Context, customers: number, rounds: number): Promise<CsvCaseResult> {
  const sql = postgres(context.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [{ live } = { live: 0 }] = await sql<{ live: number }[]>`
      select count(*)::int as live from customers where deleted_at is null`;
    if (live < customers) {
      context.log(`csv.export: adding ${customers - live} customers (to ${customers})`);
      await sql`
        insert into customers (first_name, last_name, phone, email, status, owner_id, created_at)
        select (${FIRST}::text[])[1 + g % ${FIRST.length}], (${LAST}::text[])[1 + (g / 7) % ${LAST.length}],
               '+1999' || lpad(g::text, 8, '0'), 'bulk' || g || '@example.com',
               (${STATUSES}::customer_status[])[1 + g % 4],
               (select array_agg(id) from users)[1 + g % (select count(*) from users)::int],
               now() - make_interval(secs => g)
          from generate_series(1, ${customers - live}) g`;
      await sql`vacuum analyze customers`;
    }
    const postmaster = await postmasterPid(sql);
    const copies: number[] = [];
    const exports: number[] = [];
    const cpu: Record<'cli' | 'postgres' | 'baselineClient' | 'baselinePostgres', number[]> = {
      cli: [],
      postgres: [],
      baselineClient: [],
      baselinePostgres: [],
    };
    for (let index = 0; index < rounds; index++) {
      context.log(`csv.export: COPY … TO STDOUT, round ${index + 1}`);
      const started = performance.now();
      const copyCpu = await measureCpu(sql, postmaster, async () => {
        const readable = await sql.unsafe(COPY_EXPORT).readable();
        await new Promise<void>((resolve, reject) => {
          readable.on('data', () => {});
          readable.on('end', resolve);
          readable.on('error', reject);
        });
      });
      copies.push((performance.now() - started) / 1000);
      cpu.baselineClient.push(copyCpu.client);
      cpu.baselinePostgres.push(copyCpu.postgres);

      context.log(`csv.export: pnpm customers:export, round ${index + 1}`);
      const cliCpu = await measureCpu(sql, postmaster, () =>
        runCli(context.root, 'customers-export.ts', [], context.databaseUrl),
      );
      const { result } = cliCpu;
      cpu.cli.push(cliCpu.cli);
      cpu.postgres.push(cliCpu.postgres);
      const match = /customers:export: (\d+) rows in ([\d.]+) s/.exec(result.stderr);
      if (result.code !== 0 || !match) throw new Error(`customers:export failed: ${result.stderr.slice(-2000)}`);
      if (Number(match[1]) < customers) throw new Error(`customers:export wrote ${match[1]} rows`);
      exports.push(Number(match[2]));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    return {
      value: round(median(exports)),
      unit: 's',
      baseline: round(median(copies)),
      ratio: Math.round((median(exports) / median(copies)) * 10) / 10,
      better: 'lower',
      target: 2,
      rounds: {
        min: round(Math.min(...exports)),
        median: round(median(exports)),
        max: round(Math.max(...exports)),
        baselineMin: round(Math.min(...copies)),
        baselineMax: round(Math.max(...copies)),
      },
      cpuMs: {
        cli: median(cpu.cli),
        postgres: median(cpu.postgres),
        baselineClient: median(cpu.baselineClient),
        baselinePostgres: median(cpu.baselinePostgres),
      },
      load1: await load1(),
    };
  } finally {
    await sql.end();
  }
}
