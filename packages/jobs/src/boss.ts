import { type Db, PgBoss, type SendOptions } from 'pg-boss';
import { QUEUE_NAMES, QUEUES, type QueueName, type QueuePayload } from './queues.ts';

export { type Db as JobDb, fromDrizzle, PgBoss } from 'pg-boss';

/** pg-boss keeps its tables in their own schema of the application's database. */
export const BOSS_SCHEMA = 'pgboss';

export interface BossOptions {
  /** Connections in pg-boss's own pool. */
  max?: number;
  /** Run the cron pass (the worker does; the API must not). */
  schedule?: boolean;
  /** Run maintenance: expiring, retrying and archiving jobs (the worker does; the API need not). */
  supervise?: boolean;
  /** Hold a LISTEN connection so notify-enabled queues wake workers at once. */
  listen?: boolean;
  applicationName?: string;
  /** How often the cron pass runs (and picks up the jobs it forwards), in seconds; pg-boss's default is 30. */
  cronIntervalSeconds?: number;
}

/** How often a supervising process looks for jobs whose worker died (see heartbeatSeconds in queues.ts). */
export const SUPERVISE_INTERVAL_SECONDS = 10;

export function createBoss(connectionString: string, options: BossOptions = {}) {
  return new PgBoss({
    connectionString,
    schema: BOSS_SCHEMA,
    max: options.max ?? 4,
    schedule: options.schedule ?? true,
    supervise: options.supervise ?? true,
    useListenNotify: options.listen ?? false,
    // The supervisor fails (for a retry) a job whose heartbeat stopped, i.e. whose worker died
    // (queues with heartbeatSeconds); pg-boss's default pass every 60 s would leave it active that
    // much longer. Every pass also monitors every queue (the monitor interval is below the pass's).
    superviseIntervalSeconds: SUPERVISE_INTERVAL_SECONDS,
    monitorIntervalSeconds: SUPERVISE_INTERVAL_SECONDS / 2,
    application_name: options.applicationName ?? 'touch-crm-jobs',
    ...(options.cronIntervalSeconds
      ? {
          cronMonitorIntervalSeconds: options.cronIntervalSeconds,
          cronWorkerIntervalSeconds: Math.min(5, options.cronIntervalSeconds),
        }
      : {}),
  });
}

/**
 * Creates every queue with its policy, or brings an existing queue's options up to date;
 * safe to run from several processes at once.
 */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  // One read of every queue, then the updates side by side: two round trips per queue, one after
  // another, were a noticeable part of every start-up. Creating (a first start only) adds a
  // partition to pg-boss's job table, so those stay one at a time.
  const existing = new Set((await boss.getQueues(QUEUE_NAMES)).map((queue) => queue.name));
  const update: QueueName[] = [];
  for (const name of QUEUE_NAMES) {
    if (existing.has(name)) {
      update.push(name);
      continue;
    }
    const { policy, ...options } = QUEUES[name].options;
    try {
      await boss.createQueue(name, { policy, ...options });
    } catch (error) {
      // Another process created it between our check and our insert.
      if (!(await boss.getQueue(name))) throw error;
      update.push(name);
    }
  }
  await Promise.all(
    update.map((name) => {
      const { policy: _policy, ...options } = QUEUES[name].options;
      return boss.updateQueue(name, options);
    }),
  );
}

export interface JobToSend<N extends QueueName> {
  payload: QueuePayload<N>;
  startAfter?: Date;
  priority?: number;
}

/**
 * Sends jobs through a given database adapter (normally the caller's transaction): the one
 * way services put work on a queue. Payloads are checked against the queue's schema.
 */
export interface JobQueue {
  send<N extends QueueName>(db: Db, name: N, payload: QueuePayload<N>, options?: SendOptions): Promise<string | null>;
  /** Many jobs of one queue in one INSERT. */
  sendMany<N extends QueueName>(db: Db, name: N, jobs: readonly JobToSend<N>[]): Promise<void>;
}

export function createJobQueue(boss: PgBoss): JobQueue {
  return {
    send: (db, name, payload, options = {}) => boss.send(name, QUEUES[name].payload.parse(payload), { ...options, db }),
    sendMany: async (db, name, jobs) => {
      if (jobs.length === 0) return;
      await boss.insert(
        name,
        jobs.map((job) => ({
          data: QUEUES[name].payload.parse(job.payload),
          ...(job.startAfter ? { startAfter: job.startAfter } : {}),
          ...(job.priority !== undefined ? { priority: job.priority } : {}),
        })),
        { db },
      );
    },
  };
}
