import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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
  /** CPU (user+sys) of the serving process per request, median over the rounds; independent of load. */
  cpuMsPerRequest?: number;
  baselineCpuMsPerRequest?: number;
}

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

/** User+sys CPU time of a process so far, in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export async function cpuMs(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

type Target = { url: string; request: (i: number) => LoadRequest; pid?: number };

/** A load run with the CPU its server process spent on it per request, when its pid is known. */
async function measuredLoad(target: Target, options: { concurrency: number; seconds: number }) {
  const before = await cpuMs(target.pid);
  const result = await runLoad(target.url, target.request, options);
  const cpu = target.pid ? ((await cpuMs(target.pid)) - before) / Math.max(result.requests, 1) : undefined;
  return { ...result, cpu };
}

/** Alternates baseline and candidates round by round, so machine noise hits both alike. */
export async function compareLoads(
  baseline: Target,
  candidates: Record<string, Target & { target: number }>,
  load: { rounds: number; seconds: number; concurrency: number },
): Promise<Record<string, CaseResult>> {
  const cases: Record<string, CaseResult> = {};
  const base: Measured[] = [];
  const results: Record<string, Measured[]> = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let round = 0; round < load.rounds; round++) {
    base.push(await measuredLoad(baseline, { concurrency: load.concurrency, seconds: load.seconds }));
    for (const [key, candidate] of Object.entries(candidates)) {
      results[key]?.push(await measuredLoad(candidate, { concurrency: load.concurrency, seconds: load.seconds }));
    }
  }
  const baseRps = base.map((r) => r.rps);
  for (const [key, runs] of Object.entries(results)) {
    const target = candidates[key]?.target;
    const rps = runs.map((r) => r.rps);
    const errors = runs.reduce((sum, r) => sum + r.errors, 0);
    log(`${key}: ${runs.reduce((sum, r) => sum + r.requests, 0)} requests`);
    // A rate over refused requests measures the refusal, not the case.
    if (errors > 0) throw new Error(`${key}: ${errors} non-2xx answers; the figures would be meaningless`);
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
      ...cpuFigures(runs, 'cpuMsPerRequest'),
      ...cpuFigures(base, 'baselineCpuMsPerRequest'),
    };
  }
  return cases;
}

type Measured = LoadResult & { cpu: number | undefined };

const cpuFigures = (runs: Measured[], key: string) =>
  runs.every((r) => r.cpu !== undefined)
    ? { [key]: Math.round(median(runs.map((r) => r.cpu as number)) * 1000) / 1000 }
    : {};

/** A timed case against a timed baseline, in seconds (lower is better). */
export const secondsCase = (value: number, baseline: number, target?: number): CaseResult => ({
  value: Math.round(value * 100) / 100,
  unit: 's',
  baseline: Math.round(baseline * 100) / 100,
  ratio: Math.round((value / baseline) * 100) / 100,
  better: 'lower',
  ...(target !== undefined ? { target } : {}),
});
