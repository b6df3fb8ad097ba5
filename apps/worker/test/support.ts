import { schema } from '@touch-crm/db';
import { enqueueDelivery, type ServiceDeps } from '@touch-crm/services';
import { type TestApi, testConfig, unique, uniquePhone } from '@touch-crm/test-utils';
import pino, { type Logger } from 'pino';
import { type RunningWorker, startWorker } from '../src/worker.ts';

/** Fast timings for tests: short polls, retries, lease and recovery; no cron runs unless asked. */
export const FAST_WORKER_ENV = {
  WORKER_POLL_INTERVAL: '500ms',
  SMS_RETRY_DELAY: '100ms',
  SMS_RETRY_MAX_DELAY: '1s',
  SMS_HTTP_TIMEOUT: '400ms',
  SMS_SENDING_LEASE: '2s',
  SMS_RECOVERY_INTERVAL: '300ms',
  SMS_MAX_ATTEMPTS: '3',
  SMS_QUIET_HOURS: 'off',
  CRON_RFM_SCORE: 'off',
  CRON_BIRTHDAY_MESSAGES: 'off',
  CRON_INACTIVITY_MESSAGES: 'off',
  CRON_RECURRING_TASKS: 'off',
  CRON_CAMPAIGN_DISPATCH: 'off',
  CRON_LOGIN_FAILURES_PRUNE: 'off',
  CRON_REQUEST_RECORDS_PRUNE: 'off',
  WORKER_SHUTDOWN_TIMEOUT: '5s',
};

/** The real worker, in this process, against the test API's database. */
export async function startTestWorker(
  api: TestApi,
  env: Record<string, string> = {},
  options: { now?: () => Date; log?: Logger } = {},
): Promise<RunningWorker> {
  return startWorker({
    config: testConfig({ ...FAST_WORKER_ENV, ...env }),
    databaseUrl: api.databaseUrl,
    log: options.log ?? pino({ level: process.env.TEST_WORKER_LOG ?? 'silent' }),
    now: options.now,
  });
}

/** A MANUAL (or given type) message and its delivery job, committed together. */
export async function queueTestMessage(
  deps: ServiceDeps,
  values: Partial<typeof schema.messageQueue.$inferInsert> = {},
): Promise<typeof schema.messageQueue.$inferSelect> {
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(schema.messageQueue)
      .values({
        phone: uniquePhone(),
        body: 'Hello from the tests',
        type: 'MANUAL',
        idempotencyKey: unique('test:'),
        ...values,
      })
      .returning();
    if (!row) throw new Error('message insert failed');
    await enqueueDelivery(deps.jobs, tx, [row.id], { batchSize: 200 });
    return row;
  });
}
