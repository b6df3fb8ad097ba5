import type { Executor } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import { type SQL, sql } from 'drizzle-orm';
import { enqueueWelcomeMessages, welcomeCtes } from '../messaging/welcome.ts';
import { enqueueWebhookDeliveries, webhookDeliveriesCtes } from '../webhooks/reaction.ts';

/** Where events are recorded: the caller's transaction, and the queue their reactions' jobs go on. */
export interface EventContext {
  tx: Executor;
  jobs: JobQueue;
}

/**
 * What follows from recorded events, written in the recording transaction: a rolled-back change
 * has no reaction and a committed one never misses its own. A reaction is set-based SQL over
 * recorded events, so the row path (`recordEvents`, over the events it is given) and the
 * set path (`recordEventsCtes`, inside the caller's statement) apply the same code.
 */
interface Reaction {
  /**
   * Data-modifying CTEs over `src`, recorded events with columns event_id, type, entity_type,
   * entity_id, data, changes (jsonb or null) and occurred_at. The one named `name` returns the
   * ids of what it wrote that wants a job.
   */
  ctes(name: string, src: SQL): SQL;
  /** Sends the jobs for those ids through `tx`, so they commit or vanish with it. */
  enqueue(jobs: JobQueue, tx: Executor, ids: readonly string[]): Promise<void>;
}

const REACTIONS: Record<string, Reaction> = {
  welcome: { ctes: welcomeCtes, enqueue: enqueueWelcomeMessages },
  webhooks: { ctes: webhookDeliveriesCtes, enqueue: enqueueWebhookDeliveries },
};

const cteName = (name: string, reaction: string) => sql.raw(`${name}_${reaction}`);

/** Every reaction's CTEs over `src`, for a WITH list; each named from `name`. */
export const reactionCtes = (name: string, src: SQL): SQL =>
  sql.join(
    Object.keys(REACTIONS).map((reaction) => (REACTIONS[reaction] as Reaction).ctes(`${name}_${reaction}`, src)),
    sql`, `,
  );

/** A SELECT list with, per reaction, the ids its CTEs wrote that want a job. */
const writtenIds = (name: string): SQL =>
  sql.join(
    Object.keys(REACTIONS).map(
      (reaction) =>
        sql`(select coalesce(array_agg(id), '{}') from ${cteName(name, reaction)}) as ${sql.identifier(reaction)}`,
    ),
    sql`, `,
  );

/**
 * Runs `withList` (a WITH list that holds `reactionCtes(name, …)`) as one statement, then sends
 * the jobs of what the reactions wrote. `select`, a SELECT list, adds what the caller wants back
 * from the same statement (it sees the tables as they were before it).
 */
export async function reactInStatement<T extends Record<string, unknown> = Record<string, never>>(
  { tx, jobs }: EventContext,
  name: string,
  withList: SQL,
  select?: SQL,
): Promise<T> {
  const [written] = await tx.execute<Record<string, unknown>>(
    sql`with ${withList} select ${writtenIds(name)}${select ? sql`, ${select}` : sql``}`,
  );
  for (const [reaction, { enqueue }] of Object.entries(REACTIONS))
    await enqueue(jobs, tx, (written?.[reaction] as string[] | undefined) ?? []);
  return (written ?? {}) as T;
}
