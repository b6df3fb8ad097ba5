import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN_ID, workFixture, workRowCounts } from './support/work.ts';

let api: TestApi;
let f: Awaited<ReturnType<typeof workFixture>>;
/** rep's own project on rep's customer; otherRep's project; a manager-owned project on rep's customer. */
let repProject: any;
let otherProject: any;
let managerProjectOnRepCustomer: any;

const create = (token: string, body: unknown) => api.rest('POST', '/projects', { token, body });

beforeAll(async () => {
  api = await startTestApi();
  f = await workFixture(api);
  repProject = (await create(f.rep.token, { name: 'Rita onboarding', customerId: f.repCustomer.id })).body;
  otherProject = (await create(f.otherRep.token, { name: 'Otto renewal', customerId: f.otherCustomer.id })).body;
  managerProjectOnRepCustomer = (
    await create(f.manager.token, { name: 'Rita upsell', customerId: f.repCustomer.id, status: 'ACTIVE' })
  ).body;
});
afterAll(() => api?.close());

describe('POST /projects', () => {
  it('creates a project owned by the caller, 201, with zero task counts and an event on the timeline', async () => {
    const res = await create(f.rep.token, {
      name: '  Spring campaign ',
      description: 'Call every lead',
      customerId: f.repCustomer.id,
      startDate: '2026-03-01',
      dueDate: '2026-04-30',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Spring campaign',
      ownerId: f.rep.id,
      customerId: f.repCustomer.id,
      status: 'PLANNED',
      startDate: '2026-03-01',
      dueDate: '2026-04-30',
      taskCounts: { TODO: 0, IN_PROGRESS: 0, DONE: 0, CANCELLED: 0, total: 0 },
    });
    expect(res.body.id).toEqual(expect.any(String));
    const timeline = await api.rest('GET', `/customers/${f.repCustomer.id}/worklogs`, { token: f.rep.token });
    expect(timeline.body.items.map((entry: any) => entry.subject)).toContain('Project created: Spring campaign');
  });

  it('lets a manager create a project for someone else on any customer', async () => {
    const res = await create(f.manager.token, { name: 'Handover', ownerId: f.rep.id, customerId: f.otherCustomer.id });
    expect(res.status).toBe(201);
    expect(res.body.ownerId).toBe(f.rep.id);
  });

  it('refuses a rep creating a project owned by someone else (403), writing nothing', async () => {
    const before = await workRowCounts(api);
    const res = await create(f.rep.token, { name: 'Not mine', ownerId: f.otherRep.id });
    expect(res.status).toBe(403);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it.each([
    ['an unknown customer', { customerId: UNKNOWN_ID }, ['customerId']],
    ['a customer of another rep', { customerId: 'OTHER' }, ['customerId']],
    ['an unknown owner', { ownerId: UNKNOWN_ID, asManager: true }, ['ownerId']],
    ['a due date that is not a date', { dueDate: 'next week' }, ['dueDate']],
    ['an impossible date', { startDate: '2026-02-30' }, ['startDate']],
    ['a due date before the start', { startDate: '2026-05-02', dueDate: '2026-05-01' }, ['dueDate']],
    ['an unknown status', { status: 'DONE' }, ['status']],
    ['a blank name', { name: '   ' }, ['name']],
  ])('answers 400 naming the field for %s, writing nothing', async (_label, patch: any, path) => {
    const { asManager, ...rest } = patch;
    if (rest.customerId === 'OTHER') rest.customerId = f.otherCustomer.id;
    const before = await workRowCounts(api);
    const res = await create(asManager ? f.manager.token : f.rep.token, { name: 'Bad', ...rest });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((issue: any) => issue.path)).toContainEqual(path);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it('answers 401 without a token and 403 without the permission', async () => {
    expect((await api.rest('POST', '/projects', { body: { name: 'x' } })).status).toBe(401);
    expect((await create(f.nobody.token, { name: 'x' })).status).toBe(403);
  });
});

describe('GET /projects', () => {
  const ids = async (token: string, query = '') => {
    const res = await api.rest('GET', `/projects?pageSize=100${query}`, { token });
    expect(res.status).toBe(200);
    return res.body.items.map((p: any) => p.id) as string[];
  };

  it('shows a rep the projects they own and those on their customers, never another rep’s', async () => {
    const rep = await ids(f.rep.token);
    expect(rep).toEqual(expect.arrayContaining([repProject.id, managerProjectOnRepCustomer.id]));
    expect(rep).not.toContain(otherProject.id);
    const other = await ids(f.otherRep.token);
    expect(other).toContain(otherProject.id);
    expect(other).not.toContain(repProject.id);
    expect(other).not.toContain(managerProjectOnRepCustomer.id);
  });

  it.each(['manager', 'admin'] as const)('shows a %s every project', async (who) => {
    const all = await ids(f[who].token);
    expect(all).toEqual(expect.arrayContaining([repProject.id, otherProject.id, managerProjectOnRepCustomer.id]));
  });

  it('filters by status, customer, owner and search, and paginates', async () => {
    expect(await ids(f.manager.token, '&status=ACTIVE')).toEqual([managerProjectOnRepCustomer.id]);
    expect(await ids(f.manager.token, `&customerId=${f.otherCustomer.id}&ownerId=${f.otherRep.id}`)).toEqual([
      otherProject.id,
    ]);
    expect(await ids(f.manager.token, '&search=OTTO%20ren')).toEqual([otherProject.id]);
    const page = await api.rest('GET', '/projects?pageSize=1&page=2&sort=name', { token: f.manager.token });
    expect(page.body).toMatchObject({ page: 2, pageSize: 1, items: [expect.any(Object)] });
    expect(page.body.total).toBeGreaterThanOrEqual(3);
  });

  it('rejects a page size over 100 and an unknown sort with 400', async () => {
    expect((await api.rest('GET', '/projects?pageSize=101', { token: f.rep.token })).status).toBe(400);
    expect((await api.rest('GET', '/projects?sort=secret', { token: f.rep.token })).status).toBe(400);
  });

  it('refuses a user without the permission with 403', async () => {
    expect((await api.rest('GET', '/projects', { token: f.nobody.token })).status).toBe(403);
  });
});

describe('GET /projects/{id}', () => {
  it('returns task counts by status, counting every task on the project', async () => {
    const caller = api.caller(f.manager.token);
    const project = await caller.projects.create({ name: 'Counted', customerId: f.repCustomer.id });
    for (const [assigneeId, status] of [
      [f.rep.id, 'TODO'],
      [f.rep.id, 'IN_PROGRESS'],
      [f.otherRep.id, 'DONE'],
      [f.manager.id, 'DONE'],
    ] as const) {
      const task = await caller.tasks.create({ title: `t ${status}`, projectId: project.id, assigneeId });
      if (status !== 'TODO') await caller.tasks.setStatus({ id: task.id, status });
    }
    const res = await api.rest('GET', `/projects/${project.id}`, { token: f.rep.token });
    expect(res.status).toBe(200);
    expect(res.body.taskCounts).toEqual({ TODO: 1, IN_PROGRESS: 1, DONE: 2, CANCELLED: 0, total: 4 });
    const listed = await api.rest('GET', `/projects?search=Counted`, { token: f.rep.token });
    expect(listed.body.items[0].taskCounts.total).toBe(4);
  });

  it.each([
    ['rep', 'repProject', 200],
    ['rep', 'managerProjectOnRepCustomer', 200],
    ['rep', 'otherProject', 404],
    ['otherRep', 'repProject', 404],
    ['otherRep', 'otherProject', 200],
    ['manager', 'otherProject', 200],
    ['admin', 'repProject', 200],
  ] as const)('%s reading %s → %i', async (who, which, status) => {
    const project = { repProject, otherProject, managerProjectOnRepCustomer }[which];
    const res = await api.rest('GET', `/projects/${project.id}`, { token: f[who].token });
    expect(res.status).toBe(status);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await api.rest('GET', `/projects/${UNKNOWN_ID}`, { token: f.admin.token })).status).toBe(404);
    const bad = await api.rest('GET', '/projects/not-an-id', { token: f.admin.token });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toEqual(['id']);
  });
});

describe('PUT /projects/{id}', () => {
  const update = (token: string, id: string, body: unknown) => api.rest('PUT', `/projects/${id}`, { token, body });

  it('lets the owner edit; a status change lands on the customer timeline', async () => {
    const res = await update(f.rep.token, repProject.id, { status: 'ACTIVE', description: 'Now active' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ACTIVE', description: 'Now active', name: 'Rita onboarding' });
    const timeline = await api.rest('GET', `/customers/${f.repCustomer.id}/worklogs?type=SYSTEM`, {
      token: f.rep.token,
    });
    expect(timeline.body.items[0]).toMatchObject({
      type: 'SYSTEM',
      eventType: 'project.status_changed',
      subject: 'Project Rita onboarding: PLANNED → ACTIVE',
      details: { changes: { status: { before: 'PLANNED', after: 'ACTIVE' } } },
    });
  });

  it('lets a rep edit a project on their customer that a manager owns', async () => {
    const res = await update(f.rep.token, managerProjectOnRepCustomer.id, { dueDate: '2027-01-15' });
    expect(res.status).toBe(200);
    expect(res.body.dueDate).toBe('2027-01-15');
  });

  it('answers 404 to another rep, and changes nothing', async () => {
    const res = await update(f.otherRep.token, repProject.id, { name: 'Hijacked' });
    expect(res.status).toBe(404);
    expect((await api.rest('GET', `/projects/${repProject.id}`, { token: f.rep.token })).body.name).toBe(
      'Rita onboarding',
    );
  });

  it.each(['manager', 'admin'] as const)('lets a %s edit anyone’s project and reassign it', async (who) => {
    const res = await update(f[who].token, otherProject.id, { ownerId: f.otherRep.id, name: `Otto renewal (${who})` });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(`Otto renewal (${who})`);
  });

  it('refuses a rep handing their project to someone else (403) or moving it to a foreign customer (400)', async () => {
    const before = await workRowCounts(api);
    expect((await update(f.rep.token, repProject.id, { ownerId: f.otherRep.id })).status).toBe(403);
    const foreign = await update(f.rep.token, repProject.id, { customerId: f.otherCustomer.id });
    expect(foreign.status).toBe(400);
    expect(foreign.body.errors[0].path).toEqual(['customerId']);
    const dates = await update(f.rep.token, repProject.id, { startDate: '2030-01-01', dueDate: '2029-01-01' });
    expect(dates.status).toBe(400);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it('checks a new due date against the stored start date', async () => {
    const project = (await create(f.rep.token, { name: 'Dated', startDate: '2026-06-01' })).body;
    const res = await update(f.rep.token, project.id, { dueDate: '2026-05-31' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['dueDate']);
  });
});
