import type { JobInfo, JobRun, RunJobInput, RunJobResult } from '@touch-crm/contract';
import { cronSettingOf, isQueueName, QUEUE_NAMES, QUEUES } from '@touch-crm/jobs';
import { sql } from 'drizzle-orm';
import { actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { recordEvent } from '../events/record.ts';
import { jobDb } from './queue.ts';

type LastRunRow = {
  name: string;
  id: string;
  state: JobRun['state'];
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
  retry_count: number;
  output: unknown;
};

const iso = (value: Date | string | null) => (value ? new Date(value).toISOString() : null);

/** A failed job's output is its error; keep the message, never the stack. */
function outputOf(row: LastRunRow): unknown {
  const output = row.output as Record<string, unknown> | null;
  if (row.state === 'failed' && output && typeof output === 'object' && 'message' in output)
    return { error: String(output.message) };
  return output ?? null;
}

/**
 * Every job with its schedule, its last run and that run's outcome, read from pg-boss's own
 * tables in the `pgboss` schema (schedules, and jobs kept for their queue's retention).
 */
export async function listJobs(deps: ServiceDeps): Promise<JobInfo[]> {
  const names = `{${QUEUE_NAMES.join(',')}}`;
  const [schedules, lastRuns, counts] = await Promise.all([
    deps.db.execute<{ name: string; cron: string; timezone: string }>(
      sql`select name, cron, timezone from pgboss.schedule where name = any(${names}::text[])`,
    ),
    deps.db.execute<LastRunRow>(sql`
      select q.name, j.id, j.state, j.created_on, j.started_on, j.completed_on, j.retry_count, j.output
        from unnest(${names}::text[]) as q(name)
        join lateral (
          select id, state::text as state, created_on, started_on, completed_on, retry_count, output
            from pgboss.job
           where name = q.name and started_on is not null
           order by started_on desc
           limit 1) j on true`),
    deps.db.execute<{ name: string; waiting: number; active: number }>(sql`
      select name, count(*) filter (where state in ('created', 'retry'))::int as waiting,
             count(*) filter (where state = 'active')::int as active
        from pgboss.job where name = any(${names}::text[]) and state < 'completed'
       group by name`),
  ]);
  return QUEUE_NAMES.map((name) => {
    const schedule = schedules.find((row) => row.name === name);
    const last = lastRuns.find((row) => row.name === name);
    const count = counts.find((row) => row.name === name);
    return {
      name,
      description: QUEUES[name].description,
      schedule: schedule ? { cron: schedule.cron, timezone: schedule.timezone } : null,
      scheduleSetting: cronSettingOf(name),
      lastRun: last
        ? {
            id: last.id,
            state: last.state,
            createdAt: iso(last.created_on) as string,
            startedAt: iso(last.started_on),
            completedAt: iso(last.completed_on),
            retryCount: last.retry_count,
            output: outputOf(last),
          }
        : null,
      waiting: count?.waiting ?? 0,
      active: count?.active ?? 0,
    };
  });
}

/** Queues a run of a job now; the worker picks it up within seconds. */
export async function runJob(deps: ServiceDeps, caller: Caller, input: RunJobInput): Promise<RunJobResult> {
  const actor = actorOf(caller);
  if (!isQueueName(input.name)) throw new NotFoundError('Job');
  const name = input.name;
  const parsed = QUEUES[name].payload.safeParse(input.data ?? {});
  if (!parsed.success)
    throw new ValidationError(
      parsed.error.issues.map((issue) => ({ path: ['data', ...issue.path.map(String)], message: issue.message })),
    );
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const jobId = await deps.jobs.send(jobDb(tx), name, parsed.data as never);
    if (!jobId) throw new Error(`pg-boss did not create a ${name} job`);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'job.run_requested',
        entityType: 'job',
        entityId: jobId,
        actor,
        data: { name, jobId, data: parsed.data },
        occurredAt: now,
      },
    );
    return { name, jobId };
  });
}
