import type { Config } from '@touch-crm/config';
import type { Queue } from 'pg-boss';
import { z } from 'zod';

const DAY = 86_400;

/** Scheduled jobs keep their history for a month, so GET /jobs can show the last run of a weekly job. */
const scheduled = {
  policy: 'standard',
  retryLimit: 2,
  retryDelay: 60,
  retryBackoff: true,
  expireInSeconds: 3600,
  deleteAfterSeconds: 30 * DAY,
} satisfies Omit<Queue, 'name'>;

type CronSetting =
  | 'CRON_RFM_SCORE'
  | 'CRON_BIRTHDAY_MESSAGES'
  | 'CRON_INACTIVITY_MESSAGES'
  | 'CRON_RECURRING_TASKS'
  | 'CRON_CAMPAIGN_DISPATCH'
  | 'CRON_LOGIN_FAILURES_PRUNE'
  | 'CRON_REQUEST_RECORDS_PRUNE';

/** How a worker process works a queue (default: one job at a time on one loop, runs logged at info). */
export interface WorkerSettings {
  /** Loops taking jobs at once in one worker, so one slow job does not hold up the rest. */
  loops?: number;
  /** Jobs one loop takes together. */
  jobsPerFetch?: number;
  /** Runs are logged at debug (continuous queues), not info. */
  quiet?: boolean;
  /** After a job, a loop takes the next waiting one at once instead of after a poll interval (outboxes). */
  backlog?: boolean;
  /** The configuration variable holding how often the queue's recovery pass runs (outboxes). */
  recoveryInterval?: 'SMS_RECOVERY_INTERVAL' | 'WEBHOOK_RECOVERY_INTERVAL';
}

interface QueueDefinition {
  payload: z.ZodType<object>;
  options: Omit<Queue, 'name'>;
  description: string;
  /** The configuration variable holding its cron expression (in APP_TIMEZONE), if it runs on a schedule. */
  cron?: CronSetting;
  worker?: WorkerSettings;
}

/**
 * Every queue the API and the worker share: its name, its payload schema and its
 * retry policy. Nothing sends to or works on a queue that is not listed here.
 */
/**
 * Queues whose rows carry their own attempts and backoff (message_queue, webhook_deliveries):
 * pg-boss retries only cover a handler that crashed (database unreachable and the like).
 */
const DELIVERY_QUEUE_OPTIONS = {
  policy: 'standard',
  retryLimit: 10,
  retryDelay: 5,
  retryBackoff: true,
  retryDelayMax: 600,
  expireInSeconds: 300,
  deleteAfterSeconds: DAY,
  notify: true,
} as const;

export const QUEUES = {
  'rfm.score': {
    payload: z.object({}).loose(),
    options: scheduled,
    description: 'Recency, frequency and monetary scores, segments and levels for every customer with orders',
    cron: 'CRON_RFM_SCORE',
  },
  'messages.birthday': {
    payload: z.object({}).loose(),
    options: scheduled,
    description: 'Queue birthday messages for customers whose birthday is today',
    cron: 'CRON_BIRTHDAY_MESSAGES',
  },
  'messages.inactivity': {
    payload: z.object({}).loose(),
    options: scheduled,
    description: 'Queue re-engagement messages for inactive customers',
    cron: 'CRON_INACTIVITY_MESSAGES',
  },
  'tasks.recurring': {
    payload: z.object({}).loose(),
    options: scheduled,
    description: 'Create the next occurrence of recurring tasks',
    cron: 'CRON_RECURRING_TASKS',
  },
  'campaigns.dispatch': {
    /** One campaign when it names one (sent for its scheduledAt), else every scheduled campaign now due. */
    payload: z.object({ campaignId: z.uuid().optional() }),
    options: { ...scheduled, deleteAfterSeconds: 7 * DAY, notify: true },
    description: 'Execute scheduled campaigns whose time has come',
    cron: 'CRON_CAMPAIGN_DISPATCH',
  },
  'auth.prune-login-failures': {
    payload: z.object({}).loose(),
    options: scheduled,
    description: 'Delete failed password attempts older than the login throttle window',
    cron: 'CRON_LOGIN_FAILURES_PRUNE',
  },
  'requests.prune': {
    payload: z.object({}).loose(),
    options: scheduled,
    description: 'Delete expired idempotency keys and rate-limit counters of past windows',
    cron: 'CRON_REQUEST_RECORDS_PRUNE',
  },
  'sms.send': {
    /**
     * The messages one delivery job is responsible for (written in the transaction that queued them);
     * without ids, the job delivers whatever is due (on-demand runs).
     */
    payload: z.object({ messageIds: z.array(z.uuid()).max(1000).optional() }),
    options: DELIVERY_QUEUE_OPTIONS,
    description: 'Deliver queued SMS through the configured provider',
    /**
     * Two loops, each one job (one claim) at a time: while one waits on the database the other talks
     * to the carrier, and a worker that dies holds at most one job per loop.
     */
    worker: { loops: 2, jobsPerFetch: 1, quiet: true, backlog: true, recoveryInterval: 'SMS_RECOVERY_INTERVAL' },
  },
  'customers.import': {
    /** One uploaded CSV (imports row). Progress commits with each batch, so a retried job resumes. */
    payload: z.object({ importId: z.uuid() }),
    options: {
      policy: 'standard',
      // Only for a worker that died mid-import: the next attempt resumes after the last committed batch.
      retryLimit: 2,
      retryDelay: 2,
      retryBackoff: false,
      // The worker's pg-boss refreshes a running job's heartbeat every 5 s; one silent for 10 s (its
      // worker killed) is failed by the next supervisor pass (SUPERVISE_INTERVAL_SECONDS) and retried.
      heartbeatSeconds: 10,
      // Only bounds a live import that hangs: a dead worker is found by its heartbeat instead.
      expireInSeconds: 4 * 3600,
      deleteAfterSeconds: 7 * DAY,
      notify: true,
    },
    description: 'Import an uploaded CSV of customers in set-based batches',
  },
  'webhooks.deliver': {
    /**
     * The webhook deliveries one job is responsible for (written in the transaction that recorded
     * their events); without ids, the job delivers whatever is due (set-based events, recovery).
     */
    payload: z.object({ deliveryIds: z.array(z.uuid()).max(1000).optional() }),
    options: DELIVERY_QUEUE_OPTIONS,
    description: 'POST signed domain events to the webhook subscriptions that asked for them',
    worker: { loops: 2, jobsPerFetch: 10, quiet: true, recoveryInterval: 'WEBHOOK_RECOVERY_INTERVAL' },
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueName = keyof typeof QUEUES;
export type QueuePayload<N extends QueueName> = z.infer<(typeof QUEUES)[N]['payload']>;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

export const isQueueName = (value: string): value is QueueName => Object.hasOwn(QUEUES, value);

/** The cron expression of a scheduled queue from the configuration; null when it has none or it is `off`. */
export function cronOf(config: Config, name: QueueName): string | null {
  const setting = (QUEUES[name] as QueueDefinition).cron;
  if (!setting) return null;
  const value = config[setting];
  return value === 'off' ? null : value;
}

export const workerSettingsOf = (name: QueueName): WorkerSettings => (QUEUES[name] as QueueDefinition).worker ?? {};

/** The configuration variable that overrides a queue's schedule. */
export const cronSettingOf = (name: QueueName): string | null => (QUEUES[name] as QueueDefinition).cron ?? null;
