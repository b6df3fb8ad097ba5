import type { RecurringTasksResult } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';

/** The job name recorded as the actor of the occurrences it creates. */
export const RECURRING_TASKS_JOB = 'tasks.recurring';

/**
 * Creates the next occurrence of every recurring series that is due for one, in ONE
 * set-based statement.
 *
 * - A series is the task created with a recurrence (its `series_id` is its own id); its
 *   `due_at` is the anchor. Occurrence k is due at anchor + k × interval × (1 day | 7 days |
 *   1 month), computed on the wall clock of APP_TIMEZONE and converted back to an instant,
 *   so 09:00 stays 09:00 across DST, and monthly from 31 January gives 28/29 February, then
 *   31 March (always counted from the anchor, never from the previous occurrence).
 * - A series needs a new occurrence when its latest one (greatest due_at) is due: due_at ≤ now.
 * - The new occurrence is the first slot strictly after both that latest due date and now:
 *   slots missed while nothing ran are skipped rather than created overdue.
 * - No occurrence is due after `recurrence_until`.
 * - It copies the latest occurrence (title, description, project, customer, assignee,
 *   priority, rule) as a fresh TODO, created by no user.
 * - Idempotent: `ON CONFLICT (series_id, due_at) DO NOTHING` makes a repeated or concurrent
 *   run insert nothing twice, and once the new occurrence exists the series is no longer due.
 *
 * Each created task gets its `task.created` domain event and audit row in the same statement.
 */
export async function generateRecurringTasks(deps: ServiceDeps, now: Date): Promise<RecurringTasksResult> {
  const tz = deps.config.APP_TIMEZONE;
  const at = now.toISOString();
  const rows = await deps.db.execute<{ entity_id: string }>(sql`
    with series as (
      select h.id as series_id,
             h.recurrence_frequency as frequency,
             h.recurrence_interval as step,
             h.recurrence_until as until,
             (h.due_at at time zone ${tz}) as anchor
        from tasks h
       where h.series_id = h.id
         and h.recurrence_frequency is not null
         and h.due_at is not null
         and (h.recurrence_until is null or h.recurrence_until > ${at}::timestamptz)
    ),
    latest as (
      select distinct on (t.series_id) t.*
        from tasks t
        join series s on s.series_id = t.series_id
       where t.due_at is not null
       order by t.series_id, t.due_at desc, t.created_at desc
    ),
    due as (
      select l.*, s.frequency, s.step, s.until, s.anchor,
             (greatest(l.due_at, ${at}::timestamptz) at time zone ${tz}) as after_local
        from latest l
        join series s on s.series_id = l.series_id
       where l.due_at <= ${at}::timestamptz
    ),
    counted as (
      -- k0: the last slot whose calendar day (or month) is not after the reference; the next
      -- slot after the reference is then k0 or k0 + 1.
      select d.*,
             case d.frequency
               when 'MONTHLY' then
                 ((extract(year from d.after_local) - extract(year from d.anchor))::int * 12
                   + (extract(month from d.after_local) - extract(month from d.anchor))::int) / d.step
               when 'WEEKLY' then (d.after_local::date - d.anchor::date) / (d.step * 7)
               else (d.after_local::date - d.anchor::date) / d.step
             end as k0
        from due d
    ),
    next as (
      select c.*,
             (select min(slot)
                from (select c.anchor + case c.frequency
                               when 'MONTHLY' then make_interval(months => k * c.step)
                               when 'WEEKLY' then make_interval(days => k * c.step * 7)
                               else make_interval(days => k * c.step)
                             end as slot
                        from generate_series(c.k0, c.k0 + 1) as k) slots
               where slots.slot > c.after_local) as next_local
        from counted c
    ),
    inserted as (
      insert into tasks (title, description, project_id, customer_id, assignee_id, created_by_id, status, priority,
                         due_at, recurrence_frequency, recurrence_interval, recurrence_until, series_id)
      select n.title, n.description, n.project_id, n.customer_id, n.assignee_id, null, 'TODO'::task_status, n.priority,
             n.next_local at time zone ${tz}, n.frequency, n.step, n.until, n.series_id
        from next n
       where n.next_local is not null
         and (n.until is null or (n.next_local at time zone ${tz}) <= n.until)
      on conflict (series_id, due_at) do nothing
      returning id, series_id, customer_id, assignee_id, project_id, title, priority, due_at
    ),
    events as (
      insert into domain_events (type, entity_type, entity_id, customer_id, actor_job, data, occurred_at)
      select 'task.created', 'task', i.id, i.customer_id, ${RECURRING_TASKS_JOB},
             jsonb_build_object('id', i.id, 'seriesId', i.series_id, 'title', i.title, 'assigneeId', i.assignee_id,
                                'projectId', i.project_id, 'customerId', i.customer_id, 'priority', i.priority,
                                'status', 'TODO', 'dueAt', i.due_at),
             ${at}::timestamptz
        from inserted i
      returning id, entity_id, data
    )
    insert into audit_log (event_id, actor_job, entity_type, entity_id, action, changes, occurred_at)
    select e.id, ${RECURRING_TASKS_JOB}, 'task', e.entity_id, 'created',
           jsonb_build_object('seriesId', jsonb_build_object('before', null, 'after', e.data->'seriesId'),
                              'dueAt', jsonb_build_object('before', null, 'after', e.data->'dueAt')),
           ${at}::timestamptz
      from events e
    returning entity_id`);
  const taskIds = rows.map((row) => row.entity_id);
  return { created: taskIds.length, taskIds };
}
