import { type SQL, sql } from 'drizzle-orm';
import { type EventContext, reactInStatement, reactionCtes } from './reactions.ts';

/**
 * CTEs that record events from a SELECT, set-based: the same domain_events, audit_log and
 * (for customer events with a subject) work_logs rows `recordEvents` writes, for any number of
 * rows in one statement, and the same reactions. Embed them in a WITH list; data-modifying CTEs
 * always run. What the reactions write gets no job here (a CTE cannot send one): the worker's
 * recovery passes queue it. `recordEventsSet` sends those jobs too.
 *
 * Like every CTE, the reactions see the tables as they were before the statement: a customer
 * the same statement inserts or changes is not welcomed. Record such events in a statement of
 * their own, after the change.
 *
 * `source` selects: type, entity_type, entity_id, customer_id, actor_user_id, actor_job,
 * data (jsonb), changes (jsonb or null), subject (text or null: no timeline entry),
 * content (text or null), occurred_at.
 */
export function recordEventsCtes(name: string, source: SQL): SQL {
  const src = sql.raw(`${name}_src`);
  return sql`
    ${src} as materialized (select gen_random_uuid() as event_id, s.* from (${source}) s),
    ${identifiedEventsCtes(name, src)}`;
}

/** `recordEventsCtes` over `src`, a CTE whose rows carry their event_id already. */
export function identifiedEventsCtes(name: string, src: SQL): SQL {
  return sql`
    ${sql.raw(`${name}_events`)} as (
      insert into domain_events (id, type, entity_type, entity_id, customer_id, actor_user_id, actor_job, data, occurred_at)
      select event_id, type, entity_type, entity_id, customer_id, actor_user_id, actor_job, data, occurred_at from ${src}
      returning id),
    ${sql.raw(`${name}_audit`)} as (
      insert into audit_log (event_id, actor_user_id, actor_job, entity_type, entity_id, action, changes, occurred_at)
      select event_id, actor_user_id, actor_job, entity_type, entity_id, substr(type, strpos(type, '.') + 1),
             coalesce(changes, '{}'::jsonb), occurred_at from ${src}
      returning id),
    ${sql.raw(`${name}_timeline`)} as (
      insert into work_logs (customer_id, user_id, type, subject, content, occurred_at, event_id, event_type, details,
                             created_at, updated_at)
      select customer_id, actor_user_id, 'SYSTEM', subject, content, occurred_at, event_id, type,
             case when changes is null then null else jsonb_build_object('changes', changes) end, occurred_at, occurred_at
        from ${src}
       where customer_id is not null and subject is not null
      returning id),
    ${reactionCtes(name, src)}`;
}

/**
 * Records the events `source` selects (as for `recordEventsCtes`) in one statement of their
 * own, with their reactions, and sends the reactions' jobs through the caller's transaction.
 */
export async function recordEventsSet(context: EventContext, source: SQL): Promise<void> {
  await reactInStatement(context, 'recorded', recordEventsCtes('recorded', source));
}
