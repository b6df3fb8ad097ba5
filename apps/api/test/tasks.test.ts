import { createUser, insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN_ID, workFixture, workRowCounts } from './support/work.ts';

let api: TestApi;
let f: Awaited<ReturnType<typeof workFixture>>;
let repProject: any;
let otherProject: any;

const HOUR = 3_600_000;
const at = (offsetHours: number) => new Date(Date.now() + offsetHours * HOUR).toISOString();
const create = (token: string, body: unknown) => api.rest('POST', '/tasks', { token, body });
const setStatus = (token: string, id: string, body: Record<string, unknown>) =>
  api.rest('PUT', `/tasks/${id}/status`, { token, body });

beforeAll(async () => {
  api = await startTestApi();
  f = await workFixture(api);
  repProject = await api.caller(f.rep.token).projects.create({ name: 'Rita', customerId: f.repCustomer.id });
  otherProject = await api.caller(f.otherRep.token).projects.create({ name: 'Otto', customerId: f.otherCustomer.id });
});
afterAll(() => api?.close());

describe('POST /tasks', () => {
  it('creates a task assigned to the caller by default (201)', async () => {
    const res = await create(f.rep.token, { title: 'Call Rita', dueAt: '2030-05-04T09:00:00+02:00' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      title: 'Call Rita',
      assigneeId: f.rep.id,
      createdById: f.rep.id,
      status: 'TODO',
      priority: 'MEDIUM',
      dueAt: '2030-05-04T07:00:00.000Z',
      completedAt: null,
      overdue: false,
      recurrence: null,
      seriesId: null,
    });
  });

  it("takes the project's customer when none is given", async () => {
    const res = await create(f.rep.token, { title: 'Prepare offer', projectId: repProject.id, priority: 'HIGH' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ projectId: repProject.id, customerId: f.repCustomer.id, priority: 'HIGH' });
  });

  it('creates a recurring task as the first of its series', async () => {
    const res = await create(f.rep.token, {
      title: 'Weekly check-in',
      dueAt: '2030-01-07T09:00:00Z',
      recurrence: { frequency: 'WEEKLY', interval: 2, until: '2030-12-31T00:00:00Z' },
    });
    expect(res.status).toBe(201);
    expect(res.body.seriesId).toBe(res.body.id);
    expect(res.body.recurrence).toEqual({ frequency: 'WEEKLY', interval: 2, until: '2030-12-31T00:00:00.000Z' });
  });

  it('lets a manager assign someone else; a rep may not (403), writing nothing', async () => {
    const assigned = await create(f.manager.token, { title: 'For the rep', assigneeId: f.rep.id });
    expect(assigned.status).toBe(201);
    expect(assigned.body).toMatchObject({ assigneeId: f.rep.id, createdById: f.manager.id });
    const before = await workRowCounts(api);
    const refused = await create(f.rep.token, { title: 'For my colleague', assigneeId: f.otherRep.id });
    expect(refused.status).toBe(403);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it.each([
    ['a due date that is not a date', { dueAt: 'next friday' }, ['dueAt']],
    ['a date without a time', { dueAt: '2030-01-01' }, ['dueAt']],
    ['an unknown customer', { customerId: UNKNOWN_ID }, ['customerId']],
    ["another rep's customer", { customerId: 'OTHER_CUSTOMER' }, ['customerId']],
    ['an unknown project', { projectId: UNKNOWN_ID }, ['projectId']],
    ["another rep's project", { projectId: 'OTHER_PROJECT' }, ['projectId']],
    ['a customer other than the project’s', { projectId: 'REP_PROJECT', customerId: 'REP_CUSTOMER_2' }, ['customerId']],
    ['recurrence without a due date', { recurrence: { frequency: 'DAILY', interval: 1 } }, ['dueAt']],
    [
      'an interval below 1',
      { dueAt: '2030-01-01T09:00:00Z', recurrence: { frequency: 'DAILY', interval: 0 } },
      ['recurrence', 'interval'],
    ],
    [
      'until before the due date',
      { dueAt: '2030-01-01T09:00:00Z', recurrence: { frequency: 'DAILY', interval: 1, until: '2029-01-01T00:00:00Z' } },
      ['recurrence', 'until'],
    ],
    ['an unknown priority', { priority: 'ASAP' }, ['priority']],
    ['no title', { title: '' }, ['title']],
  ])('answers 400 naming the field for %s, writing nothing', async (_label, patch: any, path) => {
    const body: any = { title: 'Bad task', ...patch };
    if (body.customerId === 'OTHER_CUSTOMER') body.customerId = f.otherCustomer.id;
    if (body.projectId === 'OTHER_PROJECT') body.projectId = otherProject.id;
    if (body.projectId === 'REP_PROJECT') body.projectId = repProject.id;
    if (body.customerId === 'REP_CUSTOMER_2') body.customerId = (await secondRepCustomer()).id;
    const before = await workRowCounts(api);
    const res = await create(f.rep.token, body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((issue: any) => issue.path)).toContainEqual(path);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it('answers 400 for an unknown assignee given by a manager', async () => {
    const res = await create(f.manager.token, { title: 'Ghost', assigneeId: UNKNOWN_ID });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['assigneeId']);
  });

  it('refuses a user without tasks:create (403)', async () => {
    expect((await create(f.nobody.token, { title: 'x' })).status).toBe(403);
  });
});

let secondCustomer: { id: string } | undefined;
async function secondRepCustomer() {
  secondCustomer ??= await insertCustomer(api.deps, f.rep.id, { firstName: 'Second' });
  return secondCustomer;
}

describe('GET /tasks/my-tasks', () => {
  let user: typeof f.rep;
  const made: Record<string, any> = {};

  beforeAll(async () => {
    // A fresh rep, so the list holds exactly these tasks.
    user = await createUser(api.deps);
    const caller = api.caller(user.token);
    made.later = await caller.tasks.create({ title: 'later', dueAt: at(48) });
    made.undated = await caller.tasks.create({ title: 'undated' });
    made.overdueRecent = await caller.tasks.create({ title: 'overdue recent', dueAt: at(-1) });
    made.soon = await caller.tasks.create({ title: 'soon', dueAt: at(2) });
    made.overdueOld = await caller.tasks.create({ title: 'overdue old', dueAt: at(-72) });
    made.donePast = await caller.tasks.create({ title: 'done past', dueAt: at(-100) });
    await caller.tasks.setStatus({ id: made.donePast.id, status: 'DONE' });
    await api.caller(f.manager.token).tasks.create({ title: 'someone else’s', assigneeId: f.rep.id, dueAt: at(-5) });
  });

  const titles = async (query = '', token = user.token) => {
    const res = await api.rest('GET', `/tasks/my-tasks${query}`, { token });
    expect(res.status).toBe(200);
    return res.body.items.map((t: any) => t.title) as string[];
  };

  it('is not shadowed by /tasks/{id}, and sorts overdue first, then by due date, undated last', async () => {
    expect(await titles()).toEqual(['overdue old', 'overdue recent', 'done past', 'soon', 'later', 'undated']);
    const res = await api.rest('GET', '/tasks/my-tasks', { token: user.token });
    expect(res.body.items[0].overdue).toBe(true);
    expect(res.body.items.find((t: any) => t.title === 'done past').overdue).toBe(false);
  });

  it('filters by status, overdue, dueBefore and project', async () => {
    expect(await titles('?status=DONE')).toEqual(['done past']);
    expect(await titles('?overdue=true')).toEqual(['overdue old', 'overdue recent']);
    expect(await titles('?overdue=false')).toEqual(['done past', 'soon', 'later', 'undated']);
    expect(await titles(`?dueBefore=${encodeURIComponent(at(24))}&status=TODO`)).toEqual([
      'overdue old',
      'overdue recent',
      'soon',
    ]);
    const project = await api.caller(user.token).projects.create({ name: 'mine' });
    await api.caller(user.token).tasks.create({ title: 'in project', projectId: project.id });
    expect(await titles(`?projectId=${project.id}`)).toEqual(['in project']);
  });

  it('shows only the caller’s tasks, whatever their role', async () => {
    const manager = await titles('', f.manager.token);
    expect(manager).not.toContain('overdue old');
    const rep = await titles('?pageSize=100', f.rep.token);
    expect(rep).toContain('someone else’s');
    expect(rep).not.toContain('overdue old');
  });

  it('paginates, and rejects bad filters with 400', async () => {
    const res = await api.rest('GET', '/tasks/my-tasks?pageSize=2&page=2', { token: user.token });
    expect(res.body).toMatchObject({ page: 2, pageSize: 2, total: 7 });
    expect(res.body.items.map((t: any) => t.title)).toEqual(['done past', 'soon']);
    for (const query of ['?dueBefore=tomorrow', '?status=OPEN', '?overdue=maybe', '?projectId=nope']) {
      const bad = await api.rest('GET', `/tasks/my-tasks${query}`, { token: user.token });
      expect(bad.status, query).toBe(400);
    }
  });

  it('refuses a user without tasks:read (403)', async () => {
    expect((await api.rest('GET', '/tasks/my-tasks', { token: f.nobody.token })).status).toBe(403);
  });
});

describe('GET /tasks (team view) and GET /tasks/{id}', () => {
  let repTask: any;
  let otherTask: any;

  beforeAll(async () => {
    repTask = await api.caller(f.rep.token).tasks.create({ title: 'team rep', customerId: f.repCustomer.id });
    otherTask = await api.caller(f.otherRep.token).tasks.create({ title: 'team other', projectId: otherProject.id });
  });

  const ids = async (token: string, query = '') => {
    const res = await api.rest('GET', `/tasks?pageSize=100${query}`, { token });
    expect(res.status).toBe(200);
    return res.body.items.map((t: any) => t.id) as string[];
  };

  it('shows a rep only their own tasks', async () => {
    const rep = await ids(f.rep.token);
    expect(rep).toContain(repTask.id);
    expect(rep).not.toContain(otherTask.id);
    expect(await ids(f.rep.token, `&assigneeId=${f.otherRep.id}`)).toEqual([]);
  });

  it.each(['manager', 'admin'] as const)('shows a %s the whole team, filtered', async (who) => {
    expect(await ids(f[who].token)).toEqual(expect.arrayContaining([repTask.id, otherTask.id]));
    expect(await ids(f[who].token, `&assigneeId=${f.otherRep.id}&projectId=${otherProject.id}`)).toEqual([
      otherTask.id,
    ]);
    expect(await ids(f[who].token, `&customerId=${f.repCustomer.id}&search=team`)).toEqual([repTask.id]);
    expect(await ids(f[who].token, `&customerId=${f.otherCustomer.id}&status=TODO`)).toEqual([otherTask.id]);
  });

  it.each([
    ['rep', 'repTask', 200],
    ['rep', 'otherTask', 404],
    ['otherRep', 'repTask', 404],
    ['otherRep', 'otherTask', 200],
    ['manager', 'repTask', 200],
    ['admin', 'otherTask', 200],
    ['nobody', 'repTask', 403],
  ] as const)('GET /tasks/{id}: %s reading %s → %i', async (who, which, status) => {
    const task = { repTask, otherTask }[which];
    expect((await api.rest('GET', `/tasks/${task.id}`, { token: f[who].token })).status).toBe(status);
  });
});

describe('PUT /tasks/{id}', () => {
  const update = (token: string, id: string, body: unknown) => api.rest('PUT', `/tasks/${id}`, { token, body });

  it('lets the assignee edit their task', async () => {
    const task = (await create(f.rep.token, { title: 'Draft' })).body;
    const res = await update(f.rep.token, task.id, {
      title: 'Final',
      priority: 'URGENT',
      dueAt: '2031-01-01T10:00:00Z',
      projectId: repProject.id,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      title: 'Final',
      priority: 'URGENT',
      dueAt: '2031-01-01T10:00:00.000Z',
      projectId: repProject.id,
      customerId: f.repCustomer.id,
    });
  });

  it('answers 404 to another rep; a manager may reassign, after which the old assignee gets 404', async () => {
    const task = (await create(f.rep.token, { title: 'Hand over' })).body;
    expect((await update(f.otherRep.token, task.id, { title: 'Mine now' })).status).toBe(404);
    const moved = await update(f.manager.token, task.id, { assigneeId: f.otherRep.id });
    expect(moved.status).toBe(200);
    expect(moved.body.assigneeId).toBe(f.otherRep.id);
    expect((await api.rest('GET', `/tasks/${task.id}`, { token: f.rep.token })).status).toBe(404);
    expect((await api.rest('GET', `/tasks/${task.id}`, { token: f.otherRep.token })).status).toBe(200);
  });

  it('refuses a rep reassigning (403), a foreign project (400) and an unknown customer (400), writing nothing', async () => {
    const task = (await create(f.rep.token, { title: 'Stay' })).body;
    const before = await workRowCounts(api);
    expect((await update(f.rep.token, task.id, { assigneeId: f.otherRep.id })).status).toBe(403);
    const project = await update(f.rep.token, task.id, { projectId: otherProject.id });
    expect(project.status).toBe(400);
    expect(project.body.errors[0].path).toEqual(['projectId']);
    const customer = await update(f.rep.token, task.id, { customerId: UNKNOWN_ID });
    expect(customer.status).toBe(400);
    expect(customer.body.errors[0].path).toEqual(['customerId']);
    expect((await update(f.rep.token, task.id, { dueAt: 'soon' })).status).toBe(400);
    expect(await workRowCounts(api)).toEqual(before);
  });

  it('keeps a recurring task dated, and ends the whole series with recurrenceUntil', async () => {
    const task = (
      await create(f.rep.token, {
        title: 'Daily',
        dueAt: '2030-01-01T09:00:00Z',
        recurrence: { frequency: 'DAILY', interval: 1 },
      })
    ).body;
    const undated = await update(f.rep.token, task.id, { dueAt: null });
    expect(undated.status).toBe(400);
    expect(undated.body.errors[0].path).toEqual(['dueAt']);
    const ended = await update(f.rep.token, task.id, { recurrenceUntil: '2030-02-01T00:00:00Z' });
    expect(ended.status).toBe(200);
    expect(ended.body.recurrence.until).toBe('2030-02-01T00:00:00.000Z');
    const plain = (await create(f.rep.token, { title: 'Once' })).body;
    expect((await update(f.rep.token, plain.id, { recurrenceUntil: '2030-02-01T00:00:00Z' })).status).toBe(400);
  });
});

describe('PUT /tasks/{id}/status', () => {
  it('follows the transitions, setting completedAt on close and clearing it on reopen', async () => {
    const task = (await create(f.rep.token, { title: 'Lifecycle' })).body;
    const steps: [Record<string, unknown>, number, string | null][] = [
      [{ status: 'IN_PROGRESS' }, 200, null],
      [{ status: 'TODO' }, 200, null],
      [{ status: 'IN_PROGRESS' }, 200, null],
      [{ status: 'DONE' }, 200, 'set'],
      [{ status: 'DONE' }, 200, 'set'], // asking for the current status changes nothing
      [{ status: 'TODO' }, 409, 'set'], // closed: only reopen leaves it
      [{ status: 'IN_PROGRESS', reopen: true }, 409, 'set'], // reopening goes to TODO
      [{ status: 'CANCELLED' }, 409, 'set'],
      [{ status: 'TODO', reopen: true }, 200, null],
      [{ status: 'CANCELLED' }, 200, 'set'],
      [{ status: 'DONE' }, 409, 'set'],
      [{ status: 'TODO', reopen: true }, 200, null],
      [{ status: 'DONE' }, 200, 'set'],
    ];
    let previous = task;
    for (const [body, status, completed] of steps) {
      const res = await setStatus(f.rep.token, task.id, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      const current = (await api.rest('GET', `/tasks/${task.id}`, { token: f.rep.token })).body;
      if (completed === null) expect(current.completedAt).toBeNull();
      else expect(current.completedAt).toEqual(expect.any(String));
      if (status === 409 || previous.status === body.status) {
        // Refused, or asked for the status it already has: nothing changed.
        expect(current).toMatchObject({ status: previous.status, completedAt: previous.completedAt });
      }
      if (status === 409) {
        expect(res.body.detail).toMatch(/cannot move/);
        expect(res.body).toMatchObject({
          reason: 'TASK_TRANSITION_NOT_ALLOWED',
          details: { from: current.status, to: body.status },
        });
      }
      previous = current;
    }
    const final = (await api.rest('GET', `/tasks/${task.id}`, { token: f.rep.token })).body;
    expect(final.status).toBe('DONE');
  });

  it('puts a completed task with a customer on the customer timeline', async () => {
    const task = (await create(f.rep.token, { title: 'Send brochure', customerId: f.repCustomer.id })).body;
    expect((await setStatus(f.rep.token, task.id, { status: 'DONE' })).status).toBe(200);
    const timeline = await api.rest('GET', `/customers/${f.repCustomer.id}/worklogs`, { token: f.rep.token });
    expect(timeline.body.items[0]).toMatchObject({
      type: 'SYSTEM',
      eventType: 'task.completed',
      subject: 'Task completed: Send brochure',
      userId: f.rep.id,
    });
  });

  it.each([
    ['otherRep', 404],
    ['nobody', 403],
    ['manager', 200],
    ['admin', 200],
  ] as const)("%s moving a rep's task → %i", async (who, status) => {
    const task = (await create(f.rep.token, { title: `moved by ${who}` })).body;
    const res = await setStatus(f[who].token, task.id, { status: 'IN_PROGRESS' });
    expect(res.status).toBe(status);
    const after = (await api.rest('GET', `/tasks/${task.id}`, { token: f.rep.token })).body;
    expect(after.status).toBe(status === 200 ? 'IN_PROGRESS' : 'TODO');
  });

  it('rejects an unknown status with 400 and an unknown task with 404', async () => {
    const task = (await create(f.rep.token, { title: 'x' })).body;
    const bad = await setStatus(f.rep.token, task.id, { status: 'FINISHED' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toEqual(['status']);
    expect((await setStatus(f.admin.token, UNKNOWN_ID, { status: 'DONE' })).status).toBe(404);
  });
});

describe('dueAt in years 0001–9999', () => {
  it.each([
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0099-06-01T12:00:00Z', '0099-06-01T12:00:00.000Z'],
    ['0100-01-01T00:30:00+01:00', '0099-12-31T23:30:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('%s is answered and read back as %s', async (dueAt, stored) => {
    // A user of its own: these tasks are overdue (or far off) and stay out of the others' lists.
    const user = await createUser(api.deps);
    const created = await create(user.token, { title: `due ${dueAt}`, dueAt });
    expect(created.status).toBe(201);
    expect(created.body.dueAt).toBe(stored);
    const read = await api.rest('GET', `/tasks/${created.body.id}`, { token: user.token });
    expect(read.body.dueAt).toBe(stored);
    const listed = await api.rest('GET', '/tasks/my-tasks', { token: user.token });
    expect(listed.body.items.map((task: { dueAt: string }) => task.dueAt)).toEqual([stored]);
    expect((await api.caller(user.token).tasks.get({ id: created.body.id })).dueAt).toBe(stored);
  });
});
