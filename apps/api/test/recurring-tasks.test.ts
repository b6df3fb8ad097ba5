import { schema } from '@touch-crm/db';
import { generateRecurringTasks, RECURRING_TASKS_JOB } from '@touch-crm/services';
import { createTeam, insertCustomer, startTestApi, type TestApi, waitFor } from '@touch-crm/test-utils';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const { tasks, domainEvents } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let customerId: string;

beforeAll(async () => {
  // Recurrence runs on the wall clock of APP_TIMEZONE; Berlin has DST (2027: 28 March, 31 October).
  api = await startTestApi({ env: { APP_TIMEZONE: 'Europe/Berlin' } });
  team = await createTeam(api.deps);
  customerId = (await insertCustomer(api.deps, team.rep.id)).id;
});
afterAll(() => api?.close());
// Each test looks at its own series only: end every series once the test is over.
afterEach(async () => {
  await api.deps.db.update(tasks).set({ recurrenceUntil: new Date('2000-01-01T00:00:00Z') });
});

const run = (iso: string) => generateRecurringTasks(api.deps, new Date(iso));

async function startSeries(
  dueAt: string,
  recurrence: { frequency: 'DAILY' | 'WEEKLY' | 'MONTHLY'; interval?: number; until?: string },
  extra: Record<string, unknown> = {},
) {
  return api
    .caller(team.rep.token)
    .tasks.create({ title: 'Check in', dueAt, recurrence: { interval: 1, ...recurrence }, ...extra });
}

async function dueDates(seriesId: string) {
  const rows = await api.deps.db
    .select({ dueAt: tasks.dueAt })
    .from(tasks)
    .where(eq(tasks.seriesId, seriesId))
    .orderBy(asc(tasks.dueAt));
  return rows.map((row) => row.dueAt?.toISOString());
}

describe('monthly recurrence across month ends', () => {
  it('goes 31 Jan → 28 Feb → 31 Mar → 30 Apr, anchored to the first due date, at 09:00 Berlin', async () => {
    const project = await api.caller(team.rep.token).projects.create({ name: 'Monthly', customerId });
    const head = await startSeries(
      '2027-01-31T09:00:00+01:00',
      { frequency: 'MONTHLY' },
      { projectId: project.id, priority: 'HIGH', description: 'Monthly review' },
    );
    expect((await run('2027-01-31T07:59:59Z')).created).toBe(0); // not due yet
    const first = await run('2027-01-31T08:00:00Z');
    expect(first.created).toBe(1);
    await run('2027-02-28T08:00:00Z'); // due exactly now → the next one
    await run('2027-03-31T12:00:00Z');
    expect(await dueDates(head.id)).toEqual([
      '2027-01-31T08:00:00.000Z',
      '2027-02-28T08:00:00.000Z',
      '2027-03-31T07:00:00.000Z', // 09:00 CEST
      '2027-04-30T07:00:00.000Z',
    ]);

    const [occurrence] = await api.deps.db
      .select()
      .from(tasks)
      .where(eq(tasks.id, first.taskIds[0] as string));
    expect(occurrence).toMatchObject({
      title: 'Check in',
      description: 'Monthly review',
      projectId: project.id,
      customerId,
      assigneeId: team.rep.id,
      createdById: null,
      status: 'TODO',
      priority: 'HIGH',
      completedAt: null,
      recurrenceFrequency: 'MONTHLY',
      recurrenceInterval: 1,
      seriesId: head.id,
    });
    const [event] = await api.deps.db
      .select()
      .from(domainEvents)
      .where(and(eq(domainEvents.entityId, first.taskIds[0] as string), eq(domainEvents.type, 'task.created')));
    expect(event).toMatchObject({ actorJob: RECURRING_TASKS_JOB, actorUserId: null, customerId });
  });

  it('reaches 29 February in a leap year, and every 2 months keeps the 31st when the month has one', async () => {
    const leap = await startSeries('2028-01-31T09:00:00+01:00', { frequency: 'MONTHLY' });
    const everyOther = await startSeries('2028-01-31T09:00:00+01:00', { frequency: 'MONTHLY', interval: 2 });
    await run('2028-02-01T00:00:00Z');
    await run('2028-03-01T00:00:00Z');
    await run('2028-04-01T00:00:00Z');
    expect(await dueDates(leap.id)).toEqual([
      '2028-01-31T08:00:00.000Z',
      '2028-02-29T08:00:00.000Z',
      '2028-03-31T07:00:00.000Z',
      '2028-04-30T07:00:00.000Z',
    ]);
    expect(await dueDates(everyOther.id)).toEqual([
      '2028-01-31T08:00:00.000Z',
      '2028-03-31T07:00:00.000Z',
      '2028-05-31T07:00:00.000Z', // created once 31 March had passed
    ]);
  });

  it('copies the latest occurrence, so a reassignment carries on to the next ones', async () => {
    const head = await startSeries('2027-05-10T09:00:00+02:00', { frequency: 'MONTHLY' });
    const { taskIds } = await run('2027-05-10T08:00:00Z');
    await api.caller(team.manager.token).tasks.update({ id: taskIds[0] as string, assigneeId: team.otherRep.id });
    const next = await run('2027-06-10T08:00:00Z');
    const [row] = await api.deps.db
      .select()
      .from(tasks)
      .where(eq(tasks.id, next.taskIds[0] as string));
    expect(row?.assigneeId).toBe(team.otherRep.id);
    expect(row?.seriesId).toBe(head.id);
  });
});

describe('daily and weekly recurrence across DST in APP_TIMEZONE', () => {
  it('keeps 09:00 local when the clocks go forward and back', async () => {
    const spring = await startSeries('2027-03-27T09:00:00+01:00', { frequency: 'DAILY' });
    await run('2027-03-27T08:00:00Z');
    await run('2027-03-28T07:00:00Z');
    expect(await dueDates(spring.id)).toEqual([
      '2027-03-27T08:00:00.000Z', // 09:00 CET
      '2027-03-28T07:00:00.000Z', // 09:00 CEST, the day the clocks go forward
      '2027-03-29T07:00:00.000Z',
    ]);
    const autumn = await startSeries('2027-10-30T09:00:00+02:00', { frequency: 'DAILY' });
    await run('2027-10-30T07:00:00Z');
    expect(await dueDates(autumn.id)).toEqual(['2027-10-30T07:00:00.000Z', '2027-10-31T08:00:00.000Z']);
  });

  it('weekly: Monday 09:00 stays Monday 09:00 across the change', async () => {
    const weekly = await startSeries('2027-03-22T09:00:00+01:00', { frequency: 'WEEKLY' });
    await run('2027-03-22T08:00:00Z');
    expect(await dueDates(weekly.id)).toEqual(['2027-03-22T08:00:00.000Z', '2027-03-29T07:00:00.000Z']);
  });

  it('skips the slots missed while nothing ran: the next occurrence is the first one after now', async () => {
    const daily = await startSeries('2027-07-01T09:00:00+02:00', { frequency: 'DAILY' });
    const fortnightly = await startSeries('2027-07-05T09:00:00+02:00', { frequency: 'WEEKLY', interval: 2 });
    await run('2027-07-20T12:00:00Z');
    expect(await dueDates(daily.id)).toEqual(['2027-07-01T07:00:00.000Z', '2027-07-21T07:00:00.000Z']);
    expect(await dueDates(fortnightly.id)).toEqual(['2027-07-05T07:00:00.000Z', '2027-08-02T07:00:00.000Z']);
  });
});

describe('recurrence until', () => {
  it('creates no occurrence due after until (an occurrence due exactly at until is the last)', async () => {
    const head = await startSeries('2027-06-01T09:00:00+02:00', {
      frequency: 'DAILY',
      until: '2027-06-03T07:00:00Z',
    });
    for (const now of ['2027-06-01T08:00:00Z', '2027-06-02T08:00:00Z', '2027-06-03T08:00:00Z', '2027-07-01T00:00:00Z'])
      await run(now);
    expect(await dueDates(head.id)).toEqual([
      '2027-06-01T07:00:00.000Z',
      '2027-06-02T07:00:00.000Z',
      '2027-06-03T07:00:00.000Z',
    ]);
  });

  it('stops a series whose until is moved earlier through PUT /tasks/{id}', async () => {
    const head = await startSeries('2027-08-01T09:00:00+02:00', { frequency: 'DAILY' });
    const { taskIds } = await run('2027-08-01T08:00:00Z');
    const res = await api.rest('PUT', `/tasks/${taskIds[0]}`, {
      token: team.rep.token,
      body: { recurrenceUntil: '2027-08-02T12:00:00Z' },
    });
    expect(res.status).toBe(200);
    expect((await run('2027-08-02T08:00:00Z')).created).toBe(0);
    expect(await dueDates(head.id)).toHaveLength(2);
  });
});

describe('idempotence', () => {
  it('creates nothing more when run twice at the same moment', async () => {
    const head = await startSeries('2027-09-01T09:00:00+02:00', { frequency: 'DAILY' });
    const first = await run('2027-09-01T10:00:00Z');
    const second = await run('2027-09-01T10:00:00Z');
    expect(first.created).toBe(1);
    expect(second).toEqual({ created: 0, taskIds: [] });
    expect(await dueDates(head.id)).toHaveLength(2);
  });

  it('creates each occurrence once when two processes run at once', async () => {
    const heads = await Promise.all(
      Array.from({ length: 6 }, (_, i) => startSeries(`2027-09-1${i}T09:00:00+02:00`, { frequency: 'WEEKLY' })),
    );
    const [a, b] = await Promise.all([run('2027-09-20T04:00:00Z'), run('2027-09-20T04:00:00.005Z')]);
    expect(a.created + b.created).toBe(6);
    expect(new Set([...a.taskIds, ...b.taskIds]).size).toBe(6);
    for (const head of heads) expect(await dueDates(head.id)).toHaveLength(2);
    const events = await api.deps.db
      .select()
      .from(domainEvents)
      .where(inArray(domainEvents.entityId, [...a.taskIds, ...b.taskIds]));
    expect(events).toHaveLength(6);
  });

  it('a run that starts while another has inserted but not committed waits, then inserts nothing', async () => {
    const head = await startSeries('2027-11-01T09:00:00+01:00', { frequency: 'DAILY' });
    const now = '2027-11-01T12:00:00Z';
    let second: Promise<{ created: number }> | undefined;
    const first = await api.deps.db.transaction(async (tx) => {
      const result = await generateRecurringTasks(
        { ...api.deps, db: tx as unknown as typeof api.deps.db },
        new Date(now),
      );
      second = run(now);
      // Its INSERT waits on the uncommitted row of the same (series, due): PostgreSQL shows the wait.
      await waitFor(
        async () => {
          const [row] = await api.deps.db.$client<{ waiting: number }[]>`
            select count(*)::int as waiting from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'`;
          return (row?.waiting ?? 0) > 0;
        },
        { what: 'the second run to wait on the uncommitted occurrence', intervalMs: 10 },
      );
      return result;
    });
    expect(first.created).toBe(1);
    expect((await second)?.created).toBe(0);
    expect(await dueDates(head.id)).toHaveLength(2);
  });
});
