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
} from '@touch-crm/jobs';
import { recoverMessages, recoverWebhookDeliveries, type ServiceDeps, type SmsProvider } from '@touch-crm/services';
import type { Logger } from 'pino';
import { JOB_HANDLERS, type JobContext } from './handlers.ts';
import { createSmsProvider } from './providers/index.ts';

export interface RunningWorker {
  boss: PgBoss;
  deps: ServiceDeps;
  provider: SmsProvider;
  /** Stops fetching, lets jobs in flight finish (bounded by WORKER_SHUTDOWN_TIMEOUT), closes connections. */
  stop: () => Promise<void>;
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

/**
 * Delivery runs on this many loops per worker, each taking one job (at most SMS_BATCH_SIZE
 * messages, all claimed at once) at a time: while one loop waits on the database the other
 * talks to the carrier. One job per loop means a worker that dies leaves no fetched-but-unclaimed
 * messages behind, only SENDING ones that the lease recovers.
 */
export const DELIVERY_LOOPS = 2;
const BACKLOG_BURST_MS = 5_000;
/** Webhook jobs run on this many loops per worker, so one slow receiver does not hold up the rest. */
const WEBHOOK_LOOPS = 2;

function workOptions(name: QueueName, config: Config) {
  const polling = config.WORKER_POLL_INTERVAL / 1000;
  const base = { pollingIntervalSeconds: polling, notifyPollingIntervalSeconds: polling, batchSize: 1 };
  if (name === 'webhooks.deliver') return { ...base, batchSize: 10, localConcurrency: WEBHOOK_LOOPS };
  return name === 'sms.send' ? { ...base, localConcurrency: DELIVERY_LOOPS } : base;
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
  const boss = createBoss(options.databaseUrl, { max: 4, schedule: true, supervise: true, listen: true });
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
  const context: JobContext = { deps, provider, sendConcurrency: Math.ceil(config.SMS_CONCURRENCY / DELIVERY_LOOPS) };
  let stopping = false;

  for (const name of QUEUE_NAMES) {
    const handler = JOB_HANDLERS[name] as (context: JobContext, payloads: QueuePayload<QueueName>[]) => Promise<object>;
    const level = name === 'sms.send' || name === 'webhooks.deliver' ? 'debug' : 'info';
    await boss.work<QueuePayload<QueueName>>(name, workOptions(name, config), async (batch) => {
      const started = performance.now();
      let result: object;
      try {
        result = await handler(
          context,
          batch.map((job) => job.data),
        );
        log[level]({ job: name, jobs: batch.length, result, ms: Math.round(performance.now() - started) }, 'job done');
      } catch (error) {
        log.error({ job: name, err: error }, 'job failed');
        throw error;
      }
      if (name === 'sms.send') await deliverBacklog(started);
      return result;
    });
  }

  /**
   * After its own job, a delivery loop takes the next one at once while any is waiting (for up to
   * BACKLOG_BURST_MS, so other work and shutdown get their turn): pg-boss would otherwise pause a
   * poll interval after each job of a backlog. Still one job (one claim) at a time, so a worker that
   * dies holds at most one job per loop, all of its messages claimed.
   */
  async function deliverBacklog(started: number) {
    const handler = JOB_HANDLERS['sms.send'];
    while (!stopping && performance.now() - started < BACKLOG_BURST_MS) {
      const [job] = await boss.fetch<QueuePayload<'sms.send'>>('sms.send', { batchSize: 1 });
      if (!job) return;
      try {
        const result = await handler(context, [job.data]);
        await boss.complete('sms.send', job, result);
      } catch (error) {
        log.error({ job: 'sms.send', err: error }, 'job failed');
        await boss.fail('sms.send', job, { message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  await applySchedules(boss, config, log);

  let recovering: Promise<void> = Promise.resolve();
  const recover = () => {
    recovering = recoverMessages(deps)
      .then((report) => {
        if (report.requeued || report.orphaned || report.campaignsCompleted) log.info({ report }, 'message recovery');
      })
      .catch((error: unknown) => log.error({ err: error }, 'message recovery failed'));
  };
  recover();
  const timer = setInterval(recover, config.SMS_RECOVERY_INTERVAL);
  timer.unref();
  // Due webhook deliveries no job covers (recorded set-based, or left by a dead worker) get a job.
  let recoveringWebhooks: Promise<unknown> = Promise.resolve();
  const webhookTimer = setInterval(() => {
    recoveringWebhooks = recoverWebhookDeliveries(deps).catch((error: unknown) =>
      log.error({ err: error }, 'webhook recovery failed'),
    );
  }, config.WEBHOOK_RECOVERY_INTERVAL);
  webhookTimer.unref();

  log.info({ provider: provider.name, timezone: config.APP_TIMEZONE }, 'worker ready');
  return {
    boss,
    deps,
    provider,
    stop: async () => {
      stopping = true;
      clearInterval(timer);
      clearInterval(webhookTimer);
      // Stop fetching, let jobs in flight finish (bounded), then close the pools.
      await boss.stop({ graceful: true, timeout: config.WORKER_SHUTDOWN_TIMEOUT });
      await recovering;
      await recoveringWebhooks;
      await provider.close?.();
      await database.close();
    },
  };
}
