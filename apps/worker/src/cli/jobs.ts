import { loadConfigOrExit } from '@touch-crm/config';
import { isQueueName, QUEUE_NAMES, QUEUES } from '@touch-crm/jobs';
import { createLogger } from '@touch-crm/logger';
import { jobCaller, listJobs, runJob } from '@touch-crm/services';
import { JOB_HANDLERS } from '../handlers.ts';
import { createSmsProvider } from '../providers/index.ts';
import { createDeps } from './deps.ts';

const USAGE = `Usage:
  pnpm jobs list                          every job with its schedule and last run
  pnpm jobs run <name> [--data '<json>']  run a job now, in this process (recorded like a worker's run)
  pnpm jobs run <name> --enqueue          only queue it for a worker

Jobs: ${QUEUE_NAMES.join(', ')}`;

const args = process.argv.slice(2);
const [command, name] = args;
const flag = (option: string) => {
  const index = args.indexOf(option);
  return index >= 0 ? (args[index + 1] ?? '') : undefined;
};
if (command !== 'list' && !(command === 'run' && name)) {
  console.error(USAGE);
  process.exit(2);
}
if (command === 'run' && name && !isQueueName(name)) {
  console.error(`Unknown job "${name}".\n\n${USAGE}`);
  process.exit(2);
}

const config = loadConfigOrExit();
const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, 'jobs');
const cli = await createDeps(config, { name: 'touch-crm-jobs-cli', pool: 4, jobs: 'send' });
const { deps, boss } = cli;
boss.on('error', (error) => log.error({ err: error }, 'pg-boss error'));
const provider = createSmsProvider(config, log);

let exitCode = 0;
try {
  if (command === 'list') {
    for (const job of await listJobs(deps)) {
      const schedule = job.schedule ? `${job.schedule.cron} (${job.schedule.timezone})` : 'on demand';
      const last = job.lastRun
        ? `${job.lastRun.state} ${job.lastRun.completedAt ?? job.lastRun.startedAt ?? ''}`
        : 'never run';
      console.log(`${job.name.padEnd(20)} ${schedule.padEnd(28)} last: ${last}`);
    }
  } else if (name && isQueueName(name)) {
    const raw = flag('--data');
    let data: Record<string, unknown> | undefined;
    try {
      data = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    } catch {
      throw new Error('--data is not valid JSON');
    }
    const { jobId } = await runJob(deps, jobCaller('cli'), { name, data });
    if (args.includes('--enqueue')) {
      console.log(`Queued ${name} as job ${jobId}; a worker will run it.`);
    } else {
      // Claim our job through pg-boss (highest priority first) and run it here, so the run is
      // recorded exactly as a worker's. Anything older we fetch first is due anyway: run it too.
      await boss.update(name, undefined, { id: jobId, priority: 100 });
      let finished = false;
      while (!finished) {
        const [job] = await boss.fetch<Record<string, unknown>>(name, { batchSize: 1 });
        if (!job) break;
        const handler = JOB_HANDLERS[name] as (context: unknown, payloads: object[]) => Promise<object>;
        try {
          const result = await handler({ deps, provider }, [job.data]);
          await boss.complete(name, job.id, result);
          if (job.id === jobId) {
            console.log(JSON.stringify({ job: name, id: jobId, state: 'completed', result }, null, 2));
            finished = true;
          }
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await boss.fail(name, job.id, { message });
          if (job.id === jobId) {
            console.error(JSON.stringify({ job: name, id: jobId, state: 'failed', error: message }, null, 2));
            exitCode = 1;
            finished = true;
          }
        }
      }
      if (!finished) console.log(`Job ${jobId} was taken by a running worker; see pnpm jobs list for its outcome.`);
    }
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  exitCode = 1;
} finally {
  await provider.close?.();
  await cli.close();
}
process.exit(exitCode);

export { QUEUES };
