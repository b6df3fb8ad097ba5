import { generateRecurringTasks } from '@touch-crm/services';
import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, workFixture } from './support/work.ts';

let api: TestApi;
let f: Awaited<ReturnType<typeof workFixture>>;

beforeAll(async () => {
  api = await startTestApi();
  f = await workFixture(api);
});
afterAll(() => api?.close());

describe("the sales rep's day, over REST alone (issue 5: done when)", () => {
  it('project → recurring task → my-tasks → DONE → call logged → timeline with the call and orders; another rep sees none of it', async () => {
    const rep = f.rep.token;
    const customer = f.repCustomer;
    const order = await placeOrder(api, customer.id, f.rep.id, 9_900); // as the order service records it

    const project = await api.rest('POST', '/projects', {
      token: rep,
      body: { name: 'Key account', customerId: customer.id, status: 'ACTIVE', startDate: '2026-01-01' },
    });
    expect(project.status).toBe(201);

    const dueAt = new Date(Date.now() - 60_000).toISOString();
    const task = await api.rest('POST', '/tasks', {
      token: rep,
      body: {
        title: 'Weekly call with the key account',
        projectId: project.body.id,
        dueAt,
        priority: 'HIGH',
        recurrence: { frequency: 'WEEKLY', interval: 1 },
      },
    });
    expect(task.status).toBe(201);
    expect(task.body).toMatchObject({ customerId: customer.id, seriesId: task.body.id, overdue: true });

    const mine = await api.rest('GET', '/tasks/my-tasks', { token: rep });
    expect(mine.status).toBe(200);
    expect(mine.body.items[0]).toMatchObject({ id: task.body.id, overdue: true });

    const progress = await api.rest('PUT', `/tasks/${task.body.id}/status`, {
      token: rep,
      body: { status: 'IN_PROGRESS' },
    });
    expect(progress.status).toBe(200);
    const done = await api.rest('PUT', `/tasks/${task.body.id}/status`, { token: rep, body: { status: 'DONE' } });
    expect(done.status).toBe(200);
    expect(done.body.completedAt).toEqual(expect.any(String));

    const call = await api.rest('POST', '/worklogs', {
      token: rep,
      body: {
        customerId: customer.id,
        type: 'CALL',
        subject: 'Weekly call',
        content: 'Wants a quote for 20 seats',
        durationMinutes: 20,
        taskId: task.body.id,
      },
    });
    expect(call.status).toBe(201);
    expect(call.body.projectId).toBe(project.body.id);

    const timeline = await api.rest('GET', `/customers/${customer.id}/worklogs`, { token: rep });
    expect(timeline.status).toBe(200);
    const entries = timeline.body.items.map((entry: any) => [entry.type, entry.eventType, entry.subject]);
    expect(entries).toEqual([
      ['CALL', null, 'Weekly call'],
      ['SYSTEM', 'task.completed', 'Task completed: Weekly call with the key account'],
      ['SYSTEM', 'project.created', 'Project created: Key account'],
      ['SYSTEM', 'order.placed', `Order #${order.number} placed`],
    ]);

    // The daily job creates the next occurrence; it shows up in my-tasks.
    const generated = await generateRecurringTasks(api.deps, new Date());
    expect(generated.created).toBe(1);
    const next = await api.rest('GET', `/tasks/my-tasks?status=TODO`, { token: rep });
    expect(next.body.items).toEqual([
      expect.objectContaining({ id: generated.taskIds[0], seriesId: task.body.id, overdue: false }),
    ]);

    // Another rep sees none of it.
    const other = f.otherRep.token;
    expect((await api.rest('GET', '/projects', { token: other })).body.items).toEqual([]);
    expect((await api.rest('GET', `/projects/${project.body.id}`, { token: other })).status).toBe(404);
    expect((await api.rest('GET', '/tasks/my-tasks', { token: other })).body.items).toEqual([]);
    expect((await api.rest('GET', '/tasks', { token: other })).body.items).toEqual([]);
    expect((await api.rest('GET', `/tasks/${task.body.id}`, { token: other })).status).toBe(404);
    expect(
      (await api.rest('PUT', `/tasks/${task.body.id}/status`, { token: other, body: { status: 'CANCELLED' } })).status,
    ).toBe(404);
    expect((await api.rest('GET', '/worklogs', { token: other })).body.items).toEqual([]);
    expect((await api.rest('GET', `/customers/${customer.id}/worklogs`, { token: other })).status).toBe(404);
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const doc = (await api.rest('GET', '//openapi.json')).body;
    for (const [path, method] of [
      ['/projects', 'post'],
      ['/projects/{id}', 'put'],
      ['/tasks/my-tasks', 'get'],
      ['/tasks/{id}/status', 'put'],
      ['/worklogs', 'get'],
      ['/customers/{id}/worklogs', 'get'],
    ] as const)
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(doc.paths['/customers/{id}/worklogs'].get.tags).toEqual(['worklogs']);
  });
});
