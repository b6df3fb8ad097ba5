import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '@touch-crm/db';
import postgres from 'postgres';
import { BENCH_PG_SETTINGS, cpuMs, freePort, log, postmasterOf } from './harness.ts';
import { prepareWorkerBench } from './worker-cases.ts';

/**
 * `node bench/dataset-time.ts [--customers N] [--out FILE] [--set name=value]… [--server-log FILE]`:
 * the worker bench's dataset on a server started as `pnpm bench` starts it (plus any `--set`
 * settings, to try one), with each generator step's seconds, PostgreSQL's CPU seconds (user + sys of
 * the postmaster and its backends) and WAL written in it, and the 1-minute load.
 */
const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const customers = Number(option('--customers') ?? 1_000_000);
const out = option('--out');
const serverLog = option('--server-log');
const tried = Object.fromEntries(
  args.flatMap((arg, i) => (args[i - 1] === '--set' ? [arg.split(/=(.*)/s).slice(0, 2)] : [])),
);
const settings = { ...BENCH_PG_SETTINGS, ...tried };

const dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-dataset-'));
const logStream = serverLog ? createWriteStream(serverLog, { flags: 'a' }) : undefined;
const server = await startEmbeddedPostgres({
  dataDir,
  port: await freePort(),
  settings,
  log: (line) => logStream?.write(`${line}\n`),
});
const probe = postgres(server.url, { max: 1, onnotice: () => {} });
const [backend] = await probe<{ pid: number }[]>`select pg_backend_pid() as pid`;
const postmaster = await postmasterOf(backend?.pid ?? 0);

/** PostgreSQL's CPU and WAL position four times a second: a step's figures are read off this timeline. */
interface Sample {
  at: number;
  cpuMs: number;
  walBytes: number;
}
const samples: Sample[] = [];
const sample = async () => {
  const [wal] = await probe<{ bytes: string }[]>`select pg_current_wal_lsn() - '0/0'::pg_lsn as bytes`;
  samples.push({ at: performance.now(), cpuMs: await cpuMs(postmaster), walBytes: Number(wal?.bytes ?? 0) });
};
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    await sample();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
})();
/** The sample nearest `at`. */
const near = (at: number) =>
  samples.reduce((best, s) => (Math.abs(s.at - at) < Math.abs(best.at - at) ? s : best), samples[0] as Sample);

interface Step {
  step: string;
  seconds: number;
  postgresCpuSeconds: number;
  walMb: number;
  load1: number;
}
const steps: Step[] = [];
const round = (value: number) => Math.round(value * 10) / 10;
const stepOf = (step: string, seconds: number, end: number): Step => {
  const from = near(end - seconds * 1000);
  const to = near(end);
  return {
    step,
    seconds,
    postgresCpuSeconds: round((to.cpuMs - from.cpuMs) / 1000),
    walMb: Math.round((to.walBytes - from.walBytes) / 2 ** 20),
    load1: round(loadavg()[0] ?? 0),
  };
};
// Log lines end in "in X s": the step ended now and took X seconds. Figures are read once the
// sampler has passed the end.
const pending: Promise<void>[] = [];
const report = (message: string) => {
  log(message);
  const match = /^dataset: (.*) in ([\d.]+) s/.exec(message);
  if (!match) return;
  const end = performance.now();
  pending.push(
    new Promise((resolve) => setTimeout(resolve, 600)).then(() => {
      steps.push(stepOf(match[1] as string, Number(match[2]), end));
    }),
  );
};

const loadBefore = round(loadavg()[0] ?? 0);
const bench = await prepareWorkerBench(server.url, customers, Math.min(100_000, customers), report);
await Promise.all(pending);
const total = steps.find((step) => step.step.startsWith('total')) as Step;
const result = {
  at: new Date().toISOString(),
  customers,
  settings,
  loadBefore,
  generatedSeconds: round(bench.generated),
  postgresCpuSeconds: total.postgresCpuSeconds,
  walMb: total.walMb,
  vacuumAnalyzeSeconds: round(bench.vacuumed),
  load1: total.load1,
  steps,
};
log(JSON.stringify(result, null, 2));
if (out) await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
sampling = false;
await sampler;
await bench.close();
await probe.end();
await server.stop();
await rm(dataDir, { recursive: true, force: true });
