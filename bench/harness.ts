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

/** Alternates baseline and candidates round by round, so machine noise hits both alike. */
export async function compareLoads(
  baseline: { url: string; request: (i: number) => LoadRequest },
  candidates: Record<string, { url: string; request: (i: number) => LoadRequest; target: number }>,
  load: { rounds: number; seconds: number; concurrency: number },
): Promise<Record<string, CaseResult>> {
  const cases: Record<string, CaseResult> = {};
  const base: LoadResult[] = [];
  const results: Record<string, LoadResult[]> = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let round = 0; round < load.rounds; round++) {
    base.push(await runLoad(baseline.url, baseline.request, { concurrency: load.concurrency, seconds: load.seconds }));
    for (const [key, candidate] of Object.entries(candidates)) {
      results[key]?.push(
        await runLoad(candidate.url, candidate.request, { concurrency: load.concurrency, seconds: load.seconds }),
      );
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
    };
  }
  return cases;
}

/** A timed case against a timed baseline, in seconds (lower is better). */
export const secondsCase = (value: number, baseline: number, target?: number): CaseResult => ({
  value: Math.round(value * 100) / 100,
  unit: 's',
  baseline: Math.round(baseline * 100) / 100,
  ratio: Math.round((value / baseline) * 100) / 100,
  better: 'lower',
  ...(target !== undefined ? { target } : {}),
});
