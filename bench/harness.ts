import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { type LoadRequest, type LoadResult, runLoad } from './load.ts';

/** The pieces of `pnpm bench` every case uses: results, ports, probes, processes and load comparisons. */

export interface CaseResult {
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  better: 'higher' | 'lower';
  target?: number;
  rounds?: { min: number; median: number; max: number; baselineMin?: number; baselineMax?: number };
  p50Ms?: number;
  p99Ms?: number;
  baselineP50Ms?: number;
  baselineP99Ms?: number;
  /** CPU (user + sys) per request of the server and of PostgreSQL, candidate and baseline: see `cpuMs`. */
  cpuMsPerRequest?: { server: number; postgres: number; baselineServer: number; baselinePostgres: number };
  /** The 1-minute load average when the case ended: the machine is shared. */
  load1?: number;
}

/** The processes whose CPU a load comparison reads: the candidate's and baseline's servers, and PostgreSQL's postmaster. */
export interface CpuPids {
  server: number | undefined;
  baseline: number | undefined;
  postmaster: number | undefined;
}

/** user + sys + reaped children's, in ms, from /proc/<pid>/stat (fields 14–17, in clock ticks of 10 ms). */
async function statCpuMs(pid: number): Promise<{ ppid: number; own: number; reaped: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const tick = 10;
  return {
    ppid: fields[1] ?? 0,
    own: ((fields[11] ?? 0) + (fields[12] ?? 0)) * tick,
    reaped: ((fields[13] ?? 0) + (fields[14] ?? 0)) * tick,
  };
}

/** CPU ms a process has used, with its children: the live ones (PostgreSQL's backends) and those it reaped. */
export async function cpuMs(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const root = await statCpuMs(pid);
  let total = root.own + root.reaped;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    const child = await statCpuMs(Number(entry));
    if (child.ppid === pid) total += child.own;
  }
  return total;
}

/** PostgreSQL's postmaster: the parent of a backend (`select pg_backend_pid()`). */
/** CPU ms of this process's children that have exited and been waited for (a CLI the bench ran). */
export const reapedCpuMs = async () => (await statCpuMs(process.pid)).reaped;

export const postmasterOf = async (backendPid: number) => (await statCpuMs(backendPid)).ppid;

export const load1 = async () => Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
export const log = (message: string) => console.log(`[bench] ${message}`);

/**
 * The bench's server only. wal_level = minimal: the dataset generator's tables, truncated in its
 * transaction, are then written without WAL (synced at commit), a quarter of the load's CPU; every
 * other write is logged as before. max_wal_size: the rest of the load (and the cases) at the default
 * 1 GB checkpointed every 20 s.
 */
export const BENCH_PG_SETTINGS = { wal_level: 'minimal', max_wal_senders: '0', max_wal_size: '8GB' };

export async function waitFor(url: string, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      if ((await fetch(url)).ok) return (performance.now() - started) / 1000;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${url} not ready`);
}

export async function rssMb(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

/** Alternates baseline and candidates round by round, so machine noise hits both alike. */
export async function compareLoads(
  baseline: { url: string; request: (i: number) => LoadRequest },
  candidates: Record<string, { url: string; request: (i: number) => LoadRequest; target: number }>,
  load: { rounds: number; seconds: number; concurrency: number },
  pids?: CpuPids,
): Promise<Record<string, CaseResult>> {
  const cases: Record<string, CaseResult> = {};
  const base: LoadResult[] = [];
  const results: Record<string, LoadResult[]> = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  // CPU ms of [server, PostgreSQL] over every round of a key ('' is the baseline).
  const cpu: Record<string, [number, number]> = {};
  const measured = async (key: string, server: number | undefined, run: () => Promise<LoadResult>) => {
    const before = [await cpuMs(server), await cpuMs(pids?.postmaster)];
    const result = await run();
    const spent = cpu[key] ?? [0, 0];
    spent[0] += (await cpuMs(server)) - (before[0] ?? 0);
    spent[1] += (await cpuMs(pids?.postmaster)) - (before[1] ?? 0);
    cpu[key] = spent;
    return result;
  };
  for (let round = 0; round < load.rounds; round++) {
    base.push(
      await measured('', pids?.baseline, () =>
        runLoad(baseline.url, baseline.request, { concurrency: load.concurrency, seconds: load.seconds }),
      ),
    );
    for (const [key, candidate] of Object.entries(candidates)) {
      results[key]?.push(
        await measured(key, pids?.server, () =>
          runLoad(candidate.url, candidate.request, { concurrency: load.concurrency, seconds: load.seconds }),
        ),
      );
    }
  }
  const perRequest = (key: string, requests: number) =>
    (cpu[key] ?? [0, 0]).map((ms) => Math.round((ms / Math.max(requests, 1)) * 1000) / 1000) as [number, number];
  const [baselineServer, baselinePostgres] = perRequest(
    '',
    base.reduce((sum, r) => sum + r.requests, 0),
  );
  const loadAverage = await load1();
  const baseRps = base.map((r) => r.rps);
  for (const [key, runs] of Object.entries(results)) {
    const target = candidates[key]?.target;
    const rps = runs.map((r) => r.rps);
    const errors = runs.reduce((sum, r) => sum + r.errors, 0);
    log(`${key}: ${runs.reduce((sum, r) => sum + r.requests, 0)} requests`);
    // A rate over refused requests measures the refusal, not the case.
    if (errors > 0) throw new Error(`${key}: ${errors} non-2xx answers; the figures would be meaningless`);
    const [server, postgres] = perRequest(
      key,
      runs.reduce((sum, r) => sum + r.requests, 0),
    );
    cases[key] = {
      value: Math.round(median(rps)),
      unit: 'req/s',
      baseline: Math.round(median(baseRps)),
      ratio: Math.round((median(rps) / median(baseRps)) * 100) / 100,
      better: 'higher',
      target,
      rounds: {
        min: Math.round(Math.min(...rps)),
        median: Math.round(median(rps)),
        max: Math.round(Math.max(...rps)),
        baselineMin: Math.round(Math.min(...baseRps)),
        baselineMax: Math.round(Math.max(...baseRps)),
      },
      p50Ms: Math.round(median(runs.map((r) => r.p50)) * 100) / 100,
      p99Ms: Math.round(median(runs.map((r) => r.p99)) * 100) / 100,
      baselineP50Ms: Math.round(median(base.map((r) => r.p50)) * 100) / 100,
      baselineP99Ms: Math.round(median(base.map((r) => r.p99)) * 100) / 100,
      ...(pids ? { cpuMsPerRequest: { server, postgres, baselineServer, baselinePostgres } } : {}),
      load1: loadAverage,
    };
    const spent = cases[key]?.cpuMsPerRequest;
    if (spent)
      log(
        `${key}: CPU ms/request server ${spent.server} + PostgreSQL ${spent.postgres} ` +
          `(baseline ${spent.baselineServer} + ${spent.baselinePostgres}); load ${loadAverage}`,
      );
  }
  return cases;
}

/** A timed case against a timed baseline, in seconds (lower is better). */
/** A case timed in seconds: with several rounds, the medians and the rounds' spread. */
export const secondsCase = (values: number | number[], baselines: number | number[], target?: number): CaseResult => {
  const all = [values].flat();
  const bases = [baselines].flat();
  const [value, baseline] = [median(all), median(bases)];
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    value: Math.round(value * 100) / 100,
    unit: 's',
    baseline: Math.round(baseline * 100) / 100,
    ratio: Math.round((value / baseline) * 100) / 100,
    better: 'lower',
    ...(target !== undefined ? { target } : {}),
    ...(all.length > 1 || bases.length > 1
      ? {
          rounds: {
            min: round(Math.min(...all)),
            median: round(value),
            max: round(Math.max(...all)),
            baselineMin: round(Math.min(...bases)),
            baselineMax: round(Math.max(...bases)),
          },
        }
      : {}),
  };
};
