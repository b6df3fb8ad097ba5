import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '@touch-crm/config';
import { connectDatabase } from '@touch-crm/db';
import {
  createBoss,
  createJobQueue,
  cronOf,
  ensureQueues,
  type PgBoss,
  QUEUE_NAMES,
  type QueueName,
  type QueuePayload,
  workerSettingsOf,
} from '@touch-crm/jobs';
import {
  beatHeartbeat,
  CircuitBreaker,
  createSendSlots,
  releaseDeadWorkers,
  removeHeartbeat,
  type ServiceDeps,
  type SmsProvider,
} from '@touch-crm/services';
import type { Logger } from 'pino';
import { JOB_HANDLERS, type JobContext, RECOVERY_PASSES } from './handlers.ts';
import { createSmsProvider } from './providers/index.ts';

export interface StopResult {
  /** WORKER_SHUTDOWN_TIMEOUT passed with jobs still running (their jobs were failed for a retry). */
  cutShort: boolean;
}

export interface RunningWorker {
  boss: PgBoss;
  deps: ServiceDeps;
  provider: SmsProvider;
  /** This process's id in worker_heartbeats and on the messages it holds SENDING. */
  workerId: string;
  /**
   * Starts no more carrier calls and hands unsent claims back, stops fetching, lets jobs in flight
   * finish (bounded by WORKER_SHUTDOWN_TIMEOUT), removes its heartbeat, closes connections.
   */
  stop: () => Promise<StopResult>;
}

export interface WorkerOptions {
  config: Config;
  databaseUrl: string;
  log: Logger;
  /** Tests control time; schedules and deliveries read it. */
  now?: () => Date;
  /** Instead of the one SMS_PROVIDER names. */
  provider?: SmsProvider;
}

const BACKLOG_BURST_MS = 5_000;

function workOptions(name: QueueName, config: Config) {
  const polling = config.WORKER_POLL_INTERVAL / 1000;
  const { loops = 1, jobsPerFetch = 1 } = workerSettingsOf(name);
  return {
    pollingIntervalSeconds: polling,
    notifyPollingIntervalSeconds: polling,
    batchSize: jobsPerFetch,
    localConcurrency: loops,
  };
}

/** Registers every schedule in APP_TIMEZONE; a schedule set to `off` is removed. */
async function applySchedules(boss: PgBoss, config: Config, log: Logger): Promise<void> {
  for (const name of QUEUE_NAMES) {
    const cron = cronOf(config, name);
    if (cron) await boss.schedule(name, cron, {}, { tz: config.APP_TIMEZONE, missed: 'once' });
    else if (await boss.getSchedule(name)) {
      await boss.unschedule(name);
      log.info({ job: name }, 'schedule removed (configured off)');
    }
  }
}

/** Runs `task` now and every `ms`, skipping a tick while a run is in progress; the stop awaits that run. */
function every(ms: number, task: () => Promise<void>) {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= task().finally(() => {
      running = undefined;
    });
  };
  tick();
  const timer = setInterval(tick, ms);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * The background process: pg-boss in the application's database. Several may run at once;
 * pg-boss hands each job to one of them and each cron occurrence creates one job.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config, log } = options;
  const database = connectDatabase(options.databaseUrl, {
    max: Math.max(4, config.DATABASE_POOL_SIZE),
    applicationName: 'touch-crm-worker',
  });
  const boss = createBoss(options.databaseUrl, {
    max: 4,
    schedule: true,
    supervise: true,
    listen: true,
    cronIntervalSeconds: Math.round(config.WORKER_CRON_INTERVAL / 1000),
  });
  boss.on('error', (error) => log.error({ err: error }, 'pg-boss error'));
  await boss.start();
  await ensureQueues(boss);
  const jobs = createJobQueue(boss);
  const deps: ServiceDeps = {
    db: database.db,
    config,
    now: options.now ?? (() => new Date()),
    // The worker signs no tokens.
    jwtKey: new Uint8Array(0),
    jobs,
  };
  const provider = options.provider ?? createSmsProvider(config, log);
  const worker = { id: randomUUID(), host: hostname(), pid: process.pid };
  // Before the first claim: a claim no heartbeat vouches for would be released at once.
  await beatHeartbeat(deps, worker);
  const shutdown = new AbortController();
  const context: JobContext = {
    deps,
    provider,
    sendSlots: createSendSlots(config.SMS_CONCURRENCY),
    workerId: worker.id,
    signal: shutdown.signal,
    breaker: CircuitBreaker.forConfig(config),
  };
  let running = 0;

  for (const name of QUEUE_NAMES) {
    const handler = JOB_HANDLERS[name] as (context: JobContext, payloads: QueuePayload<QueueName>[]) => Promise<object>;
    const level = workerSettingsOf(name).quiet ? 'debug' : 'info';
    await boss.work<QueuePayload<QueueName>>(name, workOptions(name, config), async (batch) => {
      const started = performance.now();
      running += 1;
      try {
        let result: object;
        try {
          result = await handler(
            context,
            batch.map((job) => job.data),
          );
          log[level](
            { job: name, jobs: batch.length, result, ms: Math.round(performance.now() - started) },
            'job done',
          );
        } catch (error) {
          log.error({ job: name, err: error }, 'job failed');
          throw error;
        }
        if (workerSettingsOf(name).backlog) await takeBacklog(name, started);
        return result;
      } finally {
        running -= 1;
      }
    });
  }

  /**
   * After its own job, a loop of a `backlog` queue takes the next one at once while any is waiting
   * (for up to BACKLOG_BURST_MS, so other work and shutdown get their turn): pg-boss would otherwise
   * pause a poll interval after each job of a backlog. Still one job (one claim) at a time, so a
   * worker that dies holds at most one job per loop, all of its items claimed.
   */
  async function takeBacklog(name: QueueName, started: number) {
    const handler = JOB_HANDLERS[name] as (context: JobContext, payloads: QueuePayload<QueueName>[]) => Promise<object>;
    while (!shutdown.signal.aborted && performance.now() - started < BACKLOG_BURST_MS) {
      const [job] = await boss.fetch<QueuePayload<QueueName>>(name, { batchSize: 1 });
      if (!job) return;
      try {
        const result = await handler(context, [job.data]);
        await boss.complete(name, job, result);
      } catch (error) {
        log.error({ job: name, err: error }, 'job failed');
        await boss.fail(name, job, { message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  await applySchedules(boss, config, log);

  // The heartbeat, and with it the release of the claims of workers whose heartbeat stopped.
  const stopHeartbeat = every(Math.max(100, config.WORKER_HEARTBEAT_TIMEOUT / 5), async () => {
    try {
      await beatHeartbeat(deps, worker);
      const released = await releaseDeadWorkers(deps);
      if (released > 0) log.info({ released }, 'messages of a dead worker queued again');
    } catch (error) {
      log.warn({ err: error }, 'heartbeat failed');
    }
  });
  // Each outbox queue's recovery pass, every interval its settings name; none starts once stopping
  // (its jobs would go to a queue that is closing).
  const stopRecoveries = QUEUE_NAMES.flatMap((name) => {
    const setting = workerSettingsOf(name).recoveryInterval;
    const pass = RECOVERY_PASSES[name];
    if (!setting || !pass) return [];
    return [
      every(config[setting], async () => {
        if (shutdown.signal.aborted) return;
        try {
          const result = await pass(deps);
          if (result) log.info({ job: name, result }, 'recovery');
        } catch (error) {
          log.error({ job: name, err: error }, 'recovery failed');
        }
      }),
    ];
  });

  log.info({ provider: provider.name, timezone: config.APP_TIMEZONE, workerId: worker.id }, 'worker ready');
  return {
    boss,
    deps,
    provider,
    workerId: worker.id,
    stop: async () => {
      // No carrier call starts from here on; deliveries hand their unsent claims back to QUEUED.
      shutdown.abort();
      // Stop fetching, let jobs in flight finish (bounded), then close the pools.
      await boss.stop({ graceful: true, timeout: config.WORKER_SHUTDOWN_TIMEOUT });
      const cutShort = running > 0;
      if (cutShort)
        log.warn(
          { jobs: running, timeoutMs: config.WORKER_SHUTDOWN_TIMEOUT },
          'shutdown deadline cut work short: jobs still running were failed for a retry; messages they held SENDING are queued again by the other workers',
        );
      for (const stop of stopRecoveries) await stop();
      await stopHeartbeat();
      // Gone at once: whatever a cut-short job still holds SENDING is queued again by the others.
      await removeHeartbeat(deps, worker.id).catch((error: unknown) =>
        log.warn({ err: error }, 'heartbeat not removed'),
      );
      await provider.close?.();
      await database.close();
      return { cutShort };
    },
  };
}
