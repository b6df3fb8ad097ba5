import { insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, UNKNOWN_ID, workFixture, workRowCounts } from './support/work.ts';

let api: TestApi;
let f: Awaited<ReturnType<typeof workFixture>>;
let repLog: any;
let otherLog: any;
let managerLogOnRepCustomer: any;
/** The API's clock runs this far ahead of the wall clock; a test moves it on to order what it records. */
let clockAhead = 0;

const log = (token: string, body: unknown) => api.rest('POST', '/worklogs', { token, body });

beforeAll(async () => {
  api = await startTestApi({ now: () => new Date(Date.now() + clockAhead) });
  f = await workFixture(api);
  repLog = (
    await log(f.rep.token, {
      customerId: f.repCustomer.id,
      type: 'CALL',
      subject: 'Intro call',
      occurredAt: '2026-01-10T10:00:00Z',
    })
  ).body;
  otherLog = (
    await log(f.otherRep.token, {
      customerId: f.otherCustomer.id,
      type: 'VISIT',
      subject: 'Shop visit',
      occurredAt: '2026-01-11T10:00:00Z',
    })
  ).body;
  managerLogOnRepCustomer = (
    await log(f.manager.token, {
      customerId: f.repCustomer.id,
      type: 'NOTE',
      subject: 'Manager note',
      occurredAt: '2026-01-12T10:00:00Z',
    })
  ).body;
});
afterAll(() => api?.close());

describe('POST /worklogs', () => {
  it('logs activity authored by the caller, occurredAt defaulting to now (201)', async () => {
    const res = await log(f.rep.token, {
      customerId: f.repCustomer.id,
      type: 'MEETING',
      subject: 'Quarterly review',
      content: 'Agreed on the renewal',
      durationMinutes: 45,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      customerId: f.repCustomer.id,
      userId: f.rep.id,
      type: 'MEETING',
      subject: 'Quarterly review',
      content: 'Agreed on the renewal',
      durationMinutes: 45,
      eventType: null,
      details: null,
    });
    expect(Math.abs(Date.parse(res.body.occurredAt) - Date.now())).toBeLessThan(60_000);
  });

  it('links a task and takes its project', async () => {
    const caller = api.caller(f.rep.token);
    const project = await caller.projects.create({ name: 'Linked', customerId: f.repCustomer.id });
    const task = await caller.tasks.create({ title: 'Call back', projectId: project.id });
    const res = await log(f.rep.token, {
      customerId: f.repCustomer.id,
      type: 'TASK',
      subject: 'Did it',
      taskId: task.id,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ taskId: task.id, projectId: project.id });
  });

  it('lets a manager log on any customer', async () => {
    const res = await log(f.manager.token, { customerId: f.otherCustomer.id, type: 'EMAIL', subject: 'Offer sent' });
    expect(res.status).toBe(201);
  });

  it.each([
    ['an unknown customer', { customerId: UNKNOWN_ID }, ['customerId']],
    ["another rep's customer", { customerId: 'OTHER_CUSTOMER' }, ['customerId']],
    ['occurredAt in the future', { occurredAt: new Date(Date.now() + 86_400_000).toISOString() }, ['occurredAt']],
    ['occurredAt that is not a date', { occurredAt: 'yesterday' }, ['occurredAt']],
    ['the SYSTEM type', { type: 'SYSTEM' }, ['type']],
    ['a negative duration', { durationMinutes: -5 }, ['durationMinutes']],
    ["another rep's project", { projectId: 'OTHER_PROJECT' }, ['projectId']],
    ['a task of another customer', { taskId: 'FOREIGN_TASK' }, ['taskId']],
    ['an unknown task', { taskId: UNKNOWN_ID }, ['taskId']],
    ['no subject', { subject: '' }, ['subject']],
  ])('answers 400 naming the field for %s, writing nothing', async (_label, patch: any, path) => {
    const body: any = { customerId: f.repCustomer.id, type: 'CALL', subject: 'Bad', ...patch };
    if (body.customerId === 'OTHER_CUSTOMER') body.customerId = f.otherCustomer.id;
    if (body.projectId === 'OTHER_PROJECT')
      body.projectId = (await api.caller(f.otherRep.token).projects.create({ name: 'Otto p' })).id;
    if (body.taskId === 'FOREIGN_TASK') {
      const second = await api.caller(f.manager.token).tasks.create({
        title: 'For Otto',
        assigneeId: f.rep.id,
        customerId: f.otherCustomer.id,
      });
      body.taskId = second.id;
    }
    const before = await workRowCounts(api);
    const res = await log(f.rep.token, body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((issue: any) => issue.path)).toContainEqual(path);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it('answers 401 without a token and 403 without the permission', async () => {
    const body = { customerId: f.repCustomer.id, type: 'CALL', subject: 'x' };
    expect((await api.rest('POST', '/worklogs', { body })).status).toBe(401);
    expect((await log(f.nobody.token, body)).status).toBe(403);
  });
});

describe('GET /worklogs', () => {
  const ids = async (token: string, query = '') => {
    const res = await api.rest('GET', `/worklogs?pageSize=100${query}`, { token });
    expect(res.status).toBe(200);
    return res.body.items.map((entry: any) => entry.id) as string[];
  };

  it('shows a rep every log on their customers, whoever wrote it, and none on others', async () => {
    const rep = await ids(f.rep.token);
    expect(rep).toEqual(expect.arrayContaining([repLog.id, managerLogOnRepCustomer.id]));
    expect(rep).not.toContain(otherLog.id);
    const other = await ids(f.otherRep.token);
    expect(other).toContain(otherLog.id);
    expect(other).not.toContain(repLog.id);
    expect(await ids(f.otherRep.token, `&customerId=${f.repCustomer.id}`)).toEqual([]);
  });

  it.each(['manager', 'admin'] as const)(
    'shows a %s all logs, filtered by customer, author, type and period',
    async (who) => {
      const token = f[who].token;
      expect(await ids(token)).toEqual(expect.arrayContaining([repLog.id, otherLog.id, managerLogOnRepCustomer.id]));
      expect(await ids(token, `&userId=${f.otherRep.id}`)).toEqual([otherLog.id]);
      expect(await ids(token, `&customerId=${f.repCustomer.id}&type=CALL&to=2026-01-31T00:00:00Z`)).toEqual([
        repLog.id,
      ]);
      expect(await ids(token, '&from=2026-01-11T00:00:00Z&to=2026-01-12T23:59:59Z&sort=occurredAt')).toEqual([
        otherLog.id,
        managerLogOnRepCustomer.id,
      ]);
    },
  );

  it('leaves SYSTEM entries to the timeline unless type=SYSTEM asks for them', async () => {
    await placeOrder(api, f.repCustomer.id, f.rep.id);
    const res = await api.rest('GET', '/worklogs?pageSize=100', { token: f.rep.token });
    expect(res.body.items.every((entry: any) => entry.type !== 'SYSTEM')).toBe(true);
    const system = await api.rest('GET', '/worklogs?type=SYSTEM', { token: f.rep.token });
    expect(system.body.items.map((entry: any) => entry.eventType)).toContain('order.placed');
  });

  it('rejects a period that ends before it starts, and a malformed date, with 400', async () => {
    const reversed = await api.rest('GET', '/worklogs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', {
      token: f.rep.token,
    });
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors[0].path).toEqual(['to']);
    expect((await api.rest('GET', '/worklogs?from=January', { token: f.rep.token })).status).toBe(400);
  });

  it('refuses a user without the permission with 403', async () => {
    expect((await api.rest('GET', '/worklogs', { token: f.nobody.token })).status).toBe(403);
  });
});

describe('GET /customers/{id}/worklogs (timeline)', () => {
  it('shows logs and system entries, newest first, paginated', async () => {
    const customer = await insertCustomer(api.deps, f.rep.id);
    const caller = api.caller(f.rep.token);
    await caller.worklogs.create({
      customerId: customer.id,
      type: 'CALL',
      subject: 'First call',
      occurredAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    clockAhead += 1_000;
    const order = await placeOrder(api, customer.id, f.rep.id, 12_345);
    clockAhead += 1_000;
    await caller.worklogs.create({ customerId: customer.id, type: 'NOTE', subject: 'Happy customer' });

    const res = await api.rest('GET', `/customers/${customer.id}/worklogs`, { token: f.rep.token });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.items.map((entry: any) => [entry.type, entry.subject])).toEqual([
      ['NOTE', 'Happy customer'],
      ['SYSTEM', `Order #${order.number} placed`],
      ['CALL', 'First call'],
    ]);
    expect(res.body.items[1]).toMatchObject({ eventType: 'order.placed', content: 'Total 123.45 USD' });

    const page = await api.rest('GET', `/customers/${customer.id}/worklogs?pageSize=2&page=2`, { token: f.rep.token });
    expect(page.body).toMatchObject({ total: 3, page: 2, pageSize: 2 });
    expect(page.body.items.map((entry: any) => entry.subject)).toEqual(['First call']);
    const calls = await api.rest('GET', `/customers/${customer.id}/worklogs?type=CALL`, { token: f.rep.token });
    expect(calls.body.items.map((entry: any) => entry.subject)).toEqual(['First call']);
  });

  it.each([
    ['rep', 'repCustomer', 200],
    ['rep', 'otherCustomer', 404],
    ['otherRep', 'repCustomer', 404],
    ['manager', 'otherCustomer', 200],
    ['admin', 'repCustomer', 200],
    ['nobody', 'repCustomer', 403],
  ] as const)('%s reading the timeline of %s → %i', async (who, which, status) => {
    const customer = f[which];
    expect((await api.rest('GET', `/customers/${customer.id}/worklogs`, { token: f[who].token })).status).toBe(status);
  });

  it('answers 404 for an unknown or deleted customer', async () => {
    expect((await api.rest('GET', `/customers/${UNKNOWN_ID}/worklogs`, { token: f.admin.token })).status).toBe(404);
    const gone = await insertCustomer(api.deps, f.rep.id, {
      deletedAt: new Date(),
    });
    expect((await api.rest('GET', `/customers/${gone.id}/worklogs`, { token: f.admin.token })).status).toBe(404);
  });
});
