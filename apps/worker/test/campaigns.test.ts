import { schema } from '@touch-crm/db';
import { dispatchCampaigns, executeCampaign, jobCaller } from '@touch-crm/services';
import {
  type CustomerValues,
  createTeam,
  type FakeCarrier,
  insertCustomer,
  insertPromotion,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  testConfig,
  waitFor,
} from '@touch-crm/test-utils';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV, startTestWorker } from './support.ts';

const { messageQueue, customerPromotions, customerLevels } = schema;

let api: TestApi;
let carrier: FakeCarrier;
let team: Awaited<ReturnType<typeof createTeam>>;
let levels: Record<string, string>;
beforeAll(async () => {
  // Quiet hours would depend on when the tests run; the quiet-hours test sets its own.
  api = await startTestApi({ env: { SMS_QUIET_HOURS: 'off' } });
  carrier = await startFakeCarrier();
  team = await createTeam(api.deps);
  levels = Object.fromEntries((await api.deps.db.select().from(customerLevels)).map((level) => [level.name, level.id]));
});
afterAll(async () => {
  await carrier?.close();
  await api?.close();
});

/** Customers are shared by the whole database: each test narrows its audience to its own owner. */
async function ownTeamOwner() {
  const { createUser } = await import('@touch-crm/test-utils');
  return createUser(api.deps, { role: 'Sales Representative' });
}

const create = (body: Record<string, unknown>, token = team.manager.token) =>
  api.rest('POST', '/campaigns', { token, body });

describe('who may manage campaigns', () => {
  it('lets managers and admins in, and keeps reps out (403)', async () => {
    const body = { name: 'Spring', message: 'Hello {{firstName}}' };
    expect((await create(body, team.rep.token)).status).toBe(403);
    expect((await api.rest('GET', '/campaigns', { token: team.rep.token })).status).toBe(403);
    expect((await create(body, team.manager.token)).status).toBe(201);
    expect((await create(body, team.admin.token)).status).toBe(201);
    expect((await api.rest('GET', '/campaigns', { token: team.manager.token })).status).toBe(200);
  });
});

describe('creating and editing', () => {
  it('creates a DRAFT with the default CAMPAIGN template, and lists it with counts', async () => {
    const res = await create({ name: 'Defaults' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Defaults',
      message: '{{firstName}}, we have news for you.',
      status: 'DRAFT',
      audience: {},
      promotion: null,
      scheduledAt: null,
      counts: { queued: 0, sent: 0, failed: 0, skipped: 0 },
    });
    const list = await api.rest('GET', '/campaigns?status=DRAFT&pageSize=100', { token: team.manager.token });
    expect(list.body.items.map((c: { id: string }) => c.id)).toContain(res.body.id);
  });

  it.each([
    ['an unknown variable', { message: 'Hi {{nickname}}' }, 'message', /unknown variable \{\{nickname\}\}/],
    ['a promotion variable without a promotion', { message: 'Code {{promotionCode}}' }, 'message', /needs a promotion/],
    ['an unknown promotion', { promotionId: '00000000-0000-4000-8000-000000000000' }, 'promotionId', /unknown/],
    ['an unknown audience filter', { audience: { city: 'Paris' } }, 'audience', /./],
    ['a bad status in the audience', { audience: { statuses: ['VIP'] } }, 'audience', /./],
  ])('rejects %s with 400 naming the field', async (_, change, field, message) => {
    const res = await create({ name: 'Bad', ...change });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path[0]).toBe(field);
    expect(res.body.errors[0].message).toMatch(message);
  });

  it('schedules with scheduledAt, goes back to DRAFT without it, and refuses edits once executed (409)', async () => {
    const owner = await ownTeamOwner();
    const scheduledAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await create({ name: 'Later', audience: { ownerIds: [owner.id] }, scheduledAt });
    expect(res.body).toMatchObject({ status: 'SCHEDULED', scheduledAt });
    const draft = await api.rest('PUT', `/campaigns/${res.body.id}`, {
      token: team.manager.token,
      body: { scheduledAt: null, name: 'Later, maybe' },
    });
    expect(draft.body).toMatchObject({ status: 'DRAFT', scheduledAt: null, name: 'Later, maybe' });
    const executed = await api.rest('POST', `/campaigns/${res.body.id}/execute`, {
      token: team.manager.token,
      body: {},
    });
    expect(executed.body.status).toBe('COMPLETED'); // an empty audience completes at once
    const late = await api.rest('PUT', `/campaigns/${res.body.id}`, { token: team.manager.token, body: { name: 'x' } });
    expect(late.status).toBe(409);
    expect((await api.rest('GET', `/campaigns/${crypto.randomUUID()}`, { token: team.manager.token })).status).toBe(
      404,
    );
  });
});

describe('audience, preview and execution', () => {
  it('matches every audience filter (all must hold)', async () => {
    const owner = await ownTeamOwner();
    const base = { ownerId: owner.id };
    const match = await insertCustomer(api.deps, owner.id, {
      ...base,
      status: 'CUSTOMER',
      levelId: levels.Gold,
      rfmSegment: 'Loyal',
      totalSpent: 50_000,
      lastOrderAt: new Date('2026-03-01T00:00:00Z'),
      birthday: '1990-05-20',
    });
    const variants: CustomerValues[] = [
      { status: 'LEAD' },
      { levelId: levels.Silver },
      { rfmSegment: 'At Risk' },
      { totalSpent: 100 },
      { lastOrderAt: new Date('2025-01-01T00:00:00Z') },
      { lastOrderAt: new Date('2026-09-01T00:00:00Z') },
      { birthday: '1990-06-20' },
      { deletedAt: new Date() },
    ];
    for (const variant of variants)
      await insertCustomer(api.deps, owner.id, {
        status: 'CUSTOMER',
        levelId: levels.Gold,
        rfmSegment: 'Loyal',
        totalSpent: 50_000,
        lastOrderAt: new Date('2026-03-01T00:00:00Z'),
        birthday: '1990-05-20',
        ...variant,
      });
    const res = await create({
      name: 'Narrow',
      audience: {
        ownerIds: [owner.id],
        statuses: ['CUSTOMER'],
        levelIds: [levels.Gold],
        segments: ['Loyal'],
        minTotalSpent: 10_000,
        lastOrderAfter: '2026-01-01T00:00:00Z',
        lastOrderBefore: '2026-06-01T00:00:00Z',
        birthdayMonth: 5,
      },
    });
    const preview = await api.rest('GET', `/campaigns/${res.body.id}/preview`, { token: team.manager.token });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ audienceSize: 1, optedOut: 0 });
    expect(preview.body.samples.map((s: { customerId: string }) => s.customerId)).toEqual([match.id]);
    const detail = await api.rest('GET', `/campaigns/${res.body.id}`, { token: team.manager.token });
    expect(detail.body.counts.audience).toBe(1);
  });

  it('queues one rendered message per audience member, skips the opted-out, assigns the promotion; a second execute sends nothing', async () => {
    const owner = await ownTeamOwner();
    const [ann, bob] = [
      await insertCustomer(api.deps, owner.id, { firstName: 'Ann', levelId: levels.Silver }),
      await insertCustomer(api.deps, owner.id, { firstName: 'Bob' }),
    ];
    const optedOut = await insertCustomer(api.deps, owner.id, { firstName: 'Olga', smsOptIn: false });
    const promotion = await insertPromotion(api.deps, { code: `SPRING${Date.now()}`, validityDays: 10 });
    const res = await create({
      name: 'Spring sale',
      message: 'Hi {{firstName}} ({{level}}): {{promotionName}} with code {{ promotionCode }}',
      audience: { ownerIds: [owner.id] },
      promotionId: promotion.id,
    });
    expect(res.status).toBe(201);
    expect(res.body.message).toBe('Hi {{firstName}} ({{level}}): {{promotionName}} with code {{promotionCode}}');
    const preview = await api.rest('GET', `/campaigns/${res.body.id}/preview`, { token: team.manager.token });
    expect(preview.body).toMatchObject({ audienceSize: 3, optedOut: 1 });
    expect(preview.body.samples.map((s: { body: string }) => s.body)).toContain(
      `Hi Ann (Silver): ${promotion.name} with code ${promotion.code}`,
    );

    // Two executes at once and one after: one set of messages.
    const runs = await Promise.all([
      api.rest('POST', `/campaigns/${res.body.id}/execute`, { token: team.manager.token, body: {} }),
      api.rest('POST', `/campaigns/${res.body.id}/execute`, { token: team.admin.token, body: {} }),
    ]);
    expect(runs.map((run) => run.status)).toEqual([200, 200]);
    const again = await api.rest('POST', `/campaigns/${res.body.id}/execute`, { token: team.manager.token, body: {} });
    expect(again.body).toMatchObject({
      status: 'RUNNING',
      counts: { audience: 3, queued: 2, sent: 0, failed: 0, skipped: 1 },
    });
    expect(again.body.startedAt).not.toBeNull();

    const messages = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.campaignId, res.body.id));
    expect(messages).toHaveLength(3);
    const byCustomer = Object.fromEntries(messages.map((m) => [m.customerId, m]));
    expect(byCustomer[ann.id]).toMatchObject({
      type: 'CAMPAIGN',
      status: 'QUEUED',
      body: `Hi Ann (Silver): ${promotion.name} with code ${promotion.code}`,
      idempotencyKey: `campaign:${res.body.id}:${ann.id}`,
    });
    expect(byCustomer[bob.id]?.body).toBe(`Hi Bob (): ${promotion.name} with code ${promotion.code}`);
    expect(byCustomer[optedOut.id]).toMatchObject({
      status: 'SKIPPED',
      lastError: 'customer opted out of marketing SMS',
    });

    const assigned = await api.deps.db
      .select()
      .from(customerPromotions)
      .where(eq(customerPromotions.promotionId, promotion.id));
    expect(assigned.map((a) => a.customerId).sort()).toEqual([ann.id, bob.id].sort());
    expect(assigned[0]).toMatchObject({ source: 'CAMPAIGN', status: 'ACTIVE', assignedById: expect.any(String) });
    // On the recipients' timelines.
    const timeline = await api.rest('GET', `/customers/${ann.id}`, { token: team.manager.token });
    expect(timeline.body.activePromotions.map((p: { promotion: { id: string } }) => p.promotion.id)).toContain(
      promotion.id,
    );

    // The worker delivers them; the campaign completes.
    const worker = await startTestWorker(api, { SMS_PROVIDER: 'http', SMS_HTTP_URL: `${carrier.url}/sms` });
    try {
      const done = await waitFor(
        async () => {
          const detail = await api.rest('GET', `/campaigns/${res.body.id}`, { token: team.manager.token });
          return detail.body.status === 'COMPLETED' ? detail.body : undefined;
        },
        { what: 'the campaign to complete' },
      );
      expect(done.counts).toEqual({
        audience: 3,
        queued: 0,
        sent: 2,
        delivered: 0,
        undelivered: 0,
        failed: 0,
        skipped: 1,
        cancelled: 0,
      });
      expect(done.completedAt).not.toBeNull();
      const received = carrier.requests.filter((r) => r.idempotencyKey?.startsWith(`campaign:${res.body.id}:`));
      expect(received).toHaveLength(2);
      // Executing a completed campaign again still sends nothing.
      await api.rest('POST', `/campaigns/${res.body.id}/execute`, { token: team.manager.token, body: {} });
      expect(
        (await api.deps.db.select().from(messageQueue).where(eq(messageQueue.campaignId, res.body.id))).length,
      ).toBe(3);
    } finally {
      await worker.stop();
    }
  });

  it('cancel: before execution nothing is sent; while running, unsent messages are cancelled; completed is 409', async () => {
    const owner = await ownTeamOwner();
    await insertCustomer(api.deps, owner.id);
    await insertCustomer(api.deps, owner.id);
    const res = await create({ name: 'Oops', audience: { ownerIds: [owner.id] } });
    await api.rest('POST', `/campaigns/${res.body.id}/execute`, { token: team.manager.token, body: {} });
    const cancelled = await api.rest('POST', `/campaigns/${res.body.id}/cancel`, {
      token: team.manager.token,
      body: {},
    });
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', counts: { queued: 0, cancelled: 2 } });
    const statuses = await api.deps.db
      .select({ status: messageQueue.status, lastError: messageQueue.lastError })
      .from(messageQueue)
      .where(eq(messageQueue.campaignId, res.body.id));
    expect(statuses).toEqual([
      { status: 'CANCELLED', lastError: 'campaign cancelled' },
      { status: 'CANCELLED', lastError: 'campaign cancelled' },
    ]);
    expect(
      (await api.rest('POST', `/campaigns/${res.body.id}/cancel`, { token: team.manager.token, body: {} })).status,
    ).toBe(200);
    expect(
      (await api.rest('POST', `/campaigns/${res.body.id}/execute`, { token: team.manager.token, body: {} })).status,
    ).toBe(409);

    const draft = await create({ name: 'Never', audience: { ownerIds: [owner.id] } });
    expect(
      (await api.rest('POST', `/campaigns/${draft.body.id}/cancel`, { token: team.manager.token, body: {} })).body
        .status,
    ).toBe('CANCELLED');
    const empty = await create({
      name: 'Empty',
      audience: { ownerIds: [team.rep.id], birthdayMonth: 2, segments: ['Lost'] },
    });
    await api.rest('POST', `/campaigns/${empty.body.id}/execute`, { token: team.manager.token, body: {} });
    expect(
      (await api.rest('POST', `/campaigns/${empty.body.id}/cancel`, { token: team.manager.token, body: {} })).status,
    ).toBe(409);
  });

  it('during quiet hours, schedules campaign messages for the end of them', async () => {
    const owner = await ownTeamOwner();
    await insertCustomer(api.deps, owner.id);
    const res = await create({ name: 'Late', audience: { ownerIds: [owner.id] } });
    const deps = {
      ...api.deps,
      config: testConfig({ ...FAST_WORKER_ENV, SMS_QUIET_HOURS: '21:00-08:00', APP_TIMEZONE: 'America/New_York' }),
      // 23:15 in New York (EST) on 5 February 2030.
      now: () => new Date('2030-02-06T04:15:00Z'),
    };
    await executeCampaign(deps, jobCaller('test'), { id: res.body.id });
    const [message] = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.campaignId, res.body.id));
    expect(message?.scheduledFor.toISOString()).toBe('2030-02-06T13:00:00.000Z'); // 08:00 EST
  });
});

describe('scheduled campaigns', () => {
  it('are executed by the dispatch job once their time has come, and only then', async () => {
    const owner = await ownTeamOwner();
    await insertCustomer(api.deps, owner.id);
    const at = '2031-01-01T10:00:00.000Z';
    const res = await create({ name: 'New year', audience: { ownerIds: [owner.id] }, scheduledAt: at });
    const before = { ...api.deps, now: () => new Date('2031-01-01T09:59:00Z') };
    expect((await dispatchCampaigns(before)).executed).not.toContain(res.body.id);
    expect((await dispatchCampaigns(before, res.body.id)).executed).toEqual([]);
    const after = { ...api.deps, now: () => new Date('2031-01-01T10:00:30Z') };
    const [first, second] = await Promise.all([dispatchCampaigns(after), dispatchCampaigns(after, res.body.id)]);
    expect([...first.executed, ...second.executed]).toEqual([res.body.id]);
    const detail = await api.rest('GET', `/campaigns/${res.body.id}`, { token: team.manager.token });
    expect(detail.body).toMatchObject({ status: 'RUNNING', counts: { audience: 1, queued: 1 } });
  });

  it('the worker runs a campaign at its scheduledAt and delivers it', async () => {
    const owner = await ownTeamOwner();
    const customer = await insertCustomer(api.deps, owner.id, { firstName: 'Sched' });
    const worker = await startTestWorker(api, { SMS_PROVIDER: 'http', SMS_HTTP_URL: `${carrier.url}/scheduled` });
    try {
      const scheduledAt = new Date(Date.now() + 1_500).toISOString();
      const res = await create({ name: 'Soon', audience: { ownerIds: [owner.id] }, scheduledAt });
      expect(res.body.status).toBe('SCHEDULED');
      await waitFor(() => carrier.requests.some((r) => r.path === '/scheduled' && r.to === customer.phone), {
        what: 'the scheduled campaign to be delivered',
      });
      const [row] = await api.deps.db
        .select({ startedAt: schema.campaigns.startedAt })
        .from(schema.campaigns)
        .where(eq(schema.campaigns.id, res.body.id));
      expect(row?.startedAt?.getTime()).toBeGreaterThanOrEqual(new Date(scheduledAt).getTime());
      await waitFor(async () => {
        const [done] = await api.deps.db
          .select({ status: schema.campaigns.status })
          .from(schema.campaigns)
          .where(and(eq(schema.campaigns.id, res.body.id)));
        return done?.status === 'COMPLETED';
      });
    } finally {
      await worker.stop();
    }
  });
});
