import { PgBoss, type SendOptions } from 'pg-boss';
import type postgres from 'postgres';
import { QUEUE_NAMES, QUEUES, type QueueName, type QueuePayload } from './queues.ts';

/** pg-boss keeps its tables in their own schema of the application's database. */
export const BOSS_SCHEMA = 'pgboss';

export function createBoss(connectionString: string, options: { max?: number; schedule?: boolean } = {}) {
  return new PgBoss({
    connectionString,
    schema: BOSS_SCHEMA,
    max: options.max ?? 4,
    schedule: options.schedule ?? true,
    application_name: 'touch-crm-jobs',
  });
}

/** Creates every queue with its policy; safe to run from several processes at once. */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const name of QUEUE_NAMES) {
    const existing = await boss.getQueue(name);
    if (!existing) await boss.createQueue(name, { ...QUEUES[name].options });
  }
}

/** Anything postgres.js can run a statement on: the pool or an open transaction. */
type SqlRunner = Pick<postgres.Sql, 'unsafe'>;

/**
 * Enqueues a job through the caller's database transaction (pg-boss's `db` adapter), so the
 * job exists exactly when the change that caused it commits.
 */
export async function enqueue<N extends QueueName>(
  boss: PgBoss,
  tx: SqlRunner,
  name: N,
  payload: QueuePayload<N>,
  options: SendOptions = {},
): Promise<string | null> {
  const data = QUEUES[name].payload.parse(payload);
  return boss.send(name, data, {
    ...options,
    db: {
      executeSql: async (text: string, values?: unknown[]) => ({
        rows: await tx.unsafe(text, (values ?? []) as postgres.ParameterOrJSON<never>[]),
      }),
    },
  });
}
