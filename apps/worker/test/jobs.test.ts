import { schema } from '@touch-crm/db';
import {
  createTeam,
  customerWithRfm,
  insertCustomer,
  startTestApi,
  type TestApi,
  waitFor,
} from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { startTestWorker } from './support.ts';

let api: TestApi;
let worker: RunningWorker;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi({ env: { APP_TIMEZONE: 'Europe/Berlin', SMS_QUIET_HOURS: 'off' } });
  team = await createTeam(api.deps);
  worker = await startTestWorker(api, {
    APP_TIMEZONE: 'Europe/Berlin',
    // The defaults, except one override and one schedule switched off.
    CRON_RFM_SCORE: '30 3 * * *',
    CRON_BIRTHDAY_MESSAGES: '0 9 * * *',
    CRON_INACTIVITY_MESSAGES: 'off',
    CRON_RECURRING_TASKS: '0 6 * * *',
    CRON_CAMPAIGN_DISPATCH: '* * * * *',
    CRON_LOGIN_FAILURES_PRUNE: '17 * * * *',
  });
});
afterAll(async () => {
  await worker?.stop();
  await api?.close();
});

const jobsList = async (token = team.manager.token) => {
  const res = await api.rest('GET', '/jobs', { token });
  expect(res.status).toBe(200);
  return Object.fromEntries((res.body as { name: string }[]).map((job) => [job.name, job])) as Record<string, any>;
};

describe('GET /jobs', () => {
  it('lists every job with its schedule in APP_TIMEZONE (overridable per job, or off)', async () => {
    const jobs = await jobsList();
    expect(Object.keys(jobs)).toEqual(
      expect.arrayContaining([
        'campaigns.dispatch',
        'messages.birthday',
        'messages.inactivity',
        'rfm.score',
        'sms.send',
        'tasks.recurring',
        'auth.prune-login-failures',
      ]),
    );
    expect(jobs['rfm.score']).toMatchObject({
      schedule: { cron: '30 3 * * *', timezone: 'Europe/Berlin' },
      scheduleSetting: 'CRON_RFM_SCORE',
      description: expect.stringMatching(/Recency/),
    });
    expect(jobs['messages.birthday'].schedule).toEqual({ cron: '0 9 * * *', timezone: 'Europe/Berlin' });
    expect(jobs['tasks.recurring'].schedule).toEqual({ cron: '0 6 * * *', timezone: 'Europe/Berlin' });
    expect(jobs['auth.prune-login-failures']).toMatchObject({
      schedule: { cron: '17 * * * *', timezone: 'Europe/Berlin' },
      scheduleSetting: 'CRON_LOGIN_FAILURES_PRUNE',
    });
    expect(jobs['messages.inactivity'].schedule).toBeNull();
    expect(jobs['sms.send']).toMatchObject({ schedule: null, scheduleSetting: null });
  });

  it('is for managers and admins (jobs:read); reps get 403', async () => {
    expect((await api.rest('GET', '/jobs', { token: team.rep.token })).status).toBe(403);
    expect((await api.rest('GET', '/jobs', { token: team.admin.token })).status).toBe(200);
  });
});

describe('POST /jobs/{name}/run', () => {
  it('queues a run for the worker (admins only); GET /jobs then shows the last run and its outcome', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER' });
    await api.deps.db.insert(schema.orders).values({
      customerId: customer.id,
      status: 'PAID',
      currency: 'USD',
      subtotal: 5000,
      total: 5000,
    });
    expect((await api.rest('POST', '/jobs/rfm.score/run', { token: team.manager.token, body: {} })).status).toBe(403);
    const res = await api.rest('POST', '/jobs/rfm.score/run', { token: team.admin.token, body: {} });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ name: 'rfm.score', jobId: expect.any(String) });
    const last = await waitFor(
      async () => {
        const jobs = await jobsList();
        const run = jobs['rfm.score'].lastRun;
        return run?.id === res.body.jobId && run.state === 'completed' ? run : undefined;
      },
      { what: 'the RFM run to complete' },
    );
    expect(last.output).toMatchObject({ scored: 1, changed: 1, levelChanges: 1 });
    const scored = await customerWithRfm(api.deps, customer.id);
    expect(scored?.rfmScore).not.toBeNull();
    expect(scored?.levelId).not.toBeNull();
  });

  it('runs the recurring-tasks job (the work issue’s generateRecurringTasks)', async () => {
    const task = await api.caller(team.rep.token).tasks.create({
      title: 'Water the plants',
      dueAt: new Date(Date.now() - 3_600_000).toISOString(),
      recurrence: { frequency: 'DAILY', interval: 1 },
    });
    const res = await api.rest('POST', '/jobs/tasks.recurring/run', { token: team.admin.token, body: {} });
    expect(res.status).toBe(202);
    await waitFor(
      async () =>
        (await api.deps.db.select().from(schema.tasks).where(eq(schema.tasks.seriesId, task.id))).length === 2,
      { what: 'the next occurrence' },
    );
  });

  it('prunes failed password attempts older than the throttle window, keeping recent ones', async () => {
    const username = `prune-${Date.now()}`;
    const windowMs = api.config.LOGIN_FAILURE_WINDOW * 1000;
    await api.deps.db.insert(schema.loginFailures).values([
      { username, ip: '203.0.113.7', failedAt: new Date(Date.now() - windowMs - 60_000) },
      { username, ip: '203.0.113.8', failedAt: new Date() },
    ]);
    const res = await api.rest('POST', '/jobs/auth.prune-login-failures/run', { token: team.admin.token, body: {} });
    expect(res.status).toBe(202);
    await waitFor(
      async () =>
        (await api.deps.db.select().from(schema.loginFailures).where(eq(schema.loginFailures.username, username)))
          .length === 1,
      { what: 'the stale failure pruned' },
    );
    const [kept] = await api.deps.db
      .select()
      .from(schema.loginFailures)
      .where(eq(schema.loginFailures.username, username));
    expect(kept?.ip).toBe('203.0.113.8');
  });

  it('answers an unknown job with 404 and a bad payload with 400 naming the field', async () => {
    expect((await api.rest('POST', '/jobs/nope/run', { token: team.admin.token, body: {} })).status).toBe(404);
    const bad = await api.rest('POST', '/jobs/campaigns.dispatch/run', {
      token: team.admin.token,
      body: { data: { campaignId: 'not-an-id' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toEqual(['data', 'campaignId']);
  });

  it('runs the automated-message jobs on demand, idempotently', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', month: '2-digit', day: '2-digit' })
      .format(new Date())
      .split('-');
    const birthday = `1991-${today[0]}-${today[1]}`;
    const customer = await insertCustomer(api.deps, team.rep.id, { birthday });
    const first = await api.rest('POST', '/jobs/messages.birthday/run', { token: team.admin.token, body: {} });
    const second = await api.rest('POST', '/jobs/messages.birthday/run', { token: team.admin.token, body: {} });
    for (const run of [first, second])
      await waitFor(async () => {
        const jobs = await jobsList();
        return (
          jobs['messages.birthday'].lastRun?.state === 'completed' &&
          (
            await api.deps.db.execute<{ state: string }>(
              sql`select state::text as state from pgboss.job where id = ${run.body.jobId}::uuid`,
            )
          )[0]?.state === 'completed'
        );
      });
    const messages = await api.deps.db
      .select()
      .from(schema.messageQueue)
      .where(eq(schema.messageQueue.customerId, customer.id));
    expect(messages.map((m) => m.type)).toEqual(['BIRTHDAY']);
  });
});
