import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WEBHOOK_EVENT_TYPES } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { QUEUE_NAMES } from '@touch-crm/jobs';
import { signWebhook } from '@touch-crm/services';
import { createTeam, startTestApi, type TestApi, uniquePhone } from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const { webhooks, webhookDeliveries, auditLog } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;

// No WEBHOOK_ALLOWED_HOSTS: the address rules are enforced (as in every environment). Valid URLs below
// use a documentation address (203.0.113.0/24), which is public and never called here.
const PUBLIC = 'https://203.0.113.10';

beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(async () => {
  await api?.close();
});
beforeEach(async () => {
  await api.deps.db.delete(webhooks);
});

const admin = () => team.admin.token;
const create = (body: unknown, token = admin()) => api.rest('POST', '/webhooks', { token, body });
const webhookCount = async () =>
  (await api.deps.db.select({ n: sql<number>`count(*)::int` }).from(webhooks))[0]?.n ?? 0;
/** REST POSTs carry a JSON body, even an empty one. */
const withBody = (method: string) => (method === 'POST' ? {} : undefined);
const issuePaths = (body: { errors?: { path: (string | number)[] }[] }) =>
  (body.errors ?? []).map((issue) => issue.path.join('.'));

describe('managing subscriptions', () => {
  it('creates a subscription and shows its secret once, never in GET or the audit trail', async () => {
    const created = await create({
      url: `${PUBLIC}/hooks`,
      events: ['order.placed', 'customer.created'],
      description: 'ERP',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: `${PUBLIC}/hooks`,
      events: ['order.placed', 'customer.created'],
      description: 'ERP',
      isActive: true,
      disabledReason: null,
      createdById: team.admin.id,
    });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const [row] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, created.body.id));
    expect(row?.secret).toBe(created.body.secret);

    const read = await api.rest('GET', `/webhooks/${created.body.id}`, { token: admin() });
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('secret');
    expect(read.text).not.toContain(created.body.secret);
    const list = await api.rest('GET', '/webhooks', { token: admin() });
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([created.body.id]);
    expect(list.text).not.toContain(created.body.secret);

    const audit = await api.deps.db.select().from(auditLog).where(eq(auditLog.entityId, created.body.id));
    expect(audit.map((entry) => entry.action)).toEqual(['created']);
    expect(JSON.stringify(audit)).not.toContain(created.body.secret);
  });

  it('takes "*" (alone or in a list) as every event', async () => {
    const star = await create({ url: `${PUBLIC}/a`, events: '*' });
    expect(star.status).toBe(201);
    expect(star.body.events).toEqual(['*']);
    const listed = await create({ url: `${PUBLIC}/b`, events: ['order.placed', '*'], isActive: false });
    expect(listed.body).toMatchObject({ events: ['*'], isActive: false });
  });

  it('rotates the secret: a new one, shown once, and signatures change with it', async () => {
    const created = await create({ url: `${PUBLIC}/hooks`, events: '*' });
    const rotated = await api.rest('POST', `/webhooks/${created.body.id}/rotate-secret`, { token: admin(), body: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body.secretRotatedAt).not.toBeNull();
    const [row] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, created.body.id));
    expect(row?.secret).toBe(rotated.body.secret);
    expect(signWebhook(rotated.body.secret, 1, '{}')).not.toBe(signWebhook(created.body.secret, 1, '{}'));
    const read = await api.rest('GET', `/webhooks/${created.body.id}`, { token: admin() });
    expect(read.text).not.toContain(rotated.body.secret);
    const audit = await api.deps.db.select().from(auditLog).where(eq(auditLog.entityId, created.body.id));
    expect(audit.map((entry) => entry.action).sort()).toEqual(['created', 'secret_rotated']);
    expect(JSON.stringify(audit)).not.toContain(rotated.body.secret);
  });

  it('updates the given fields; re-activating clears why the server disabled it', async () => {
    const created = await create({ url: `${PUBLIC}/hooks`, events: ['order.placed'] });
    await api.deps.db
      .update(webhooks)
      .set({
        isActive: false,
        disabledAt: new Date(),
        disabledReason: 'deliveries failed for 24h',
        failingSince: new Date(Date.now() - 90_000_000),
      })
      .where(eq(webhooks.id, created.body.id));
    const updated = await api.rest('PUT', `/webhooks/${created.body.id}`, {
      token: admin(),
      body: { events: ['order.placed', 'order.cancelled'], description: 'orders', isActive: true },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      url: `${PUBLIC}/hooks`,
      events: ['order.placed', 'order.cancelled'],
      description: 'orders',
      isActive: true,
      disabledAt: null,
      disabledReason: null,
      failingSince: null,
    });
    const [audit] = await api.deps.db
      .select()
      .from(auditLog)
      .where(sql`${auditLog.entityId} = ${created.body.id} and ${auditLog.action} = 'updated'`);
    expect(audit?.changes).toMatchObject({
      events: { before: ['order.placed'], after: ['order.placed', 'order.cancelled'] },
      isActive: { before: false, after: true },
    });
  });

  it('deletes a subscription with its deliveries', async () => {
    const created = await create({ url: `${PUBLIC}/hooks`, events: '*' });
    const ping = await api.rest('POST', `/webhooks/${created.body.id}/ping`, { token: admin(), body: {} });
    expect(ping.status).toBe(202);
    const deleted = await api.rest('DELETE', `/webhooks/${created.body.id}`, { token: admin() });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.body.id, outcome: 'DELETED' });
    expect((await api.rest('GET', `/webhooks/${created.body.id}`, { token: admin() })).status).toBe(404);
    const left = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, ping.body.id));
    expect(left).toEqual([]);
  });

  it('queues a ping as a PENDING delivery, listed with its status; redeliver waits until it is finished', async () => {
    const created = await create({ url: `${PUBLIC}/hooks`, events: ['order.placed'] });
    const ping = await api.rest('POST', `/webhooks/${created.body.id}/ping`, { token: admin(), body: {} });
    expect(ping.status).toBe(202);
    expect(ping.body).toMatchObject({
      webhookId: created.body.id,
      eventId: null,
      eventType: 'ping',
      status: 'PENDING',
      attempts: 0,
      payload: { id: ping.body.id, type: 'ping', data: { webhookId: created.body.id } },
    });
    const deliveries = await api.rest('GET', `/webhooks/${created.body.id}/deliveries?status=PENDING`, {
      token: admin(),
    });
    expect(deliveries.status).toBe(200);
    expect(deliveries.body).toMatchObject({ total: 1, page: 1, items: [{ id: ping.body.id, status: 'PENDING' }] });
    // Its job went on the queue in the same transaction.
    const jobs = await api.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from pgboss.job where name = 'webhooks.deliver' and data->'deliveryIds' ? ${ping.body.id}`,
    );
    expect(jobs[0]?.n).toBe(1);
    const again = await api.rest('POST', `/webhooks/${created.body.id}/deliveries/${ping.body.id}/redeliver`, {
      token: admin(),
      body: {},
    });
    expect(again.status).toBe(409);
    await api.deps.db
      .update(webhookDeliveries)
      .set({ status: 'FAILED', attempts: 3, lastError: 'HTTP 500', nextAttemptAt: null })
      .where(eq(webhookDeliveries.id, ping.body.id));
    const redelivered = await api.rest('POST', `/webhooks/${created.body.id}/deliveries/${ping.body.id}/redeliver`, {
      token: admin(),
      body: {},
    });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id: ping.body.id, status: 'PENDING', attempts: 0, lastError: null });
    // A delivery of another subscription is not found under this one.
    const other = await create({ url: `${PUBLIC}/other`, events: '*' });
    const elsewhere = await api.rest('POST', `/webhooks/${other.body.id}/deliveries/${ping.body.id}/redeliver`, {
      token: admin(),
      body: {},
    });
    expect(elsewhere.status).toBe(404);
  });
});

describe('which events become deliveries', () => {
  it('writes a delivery per event and matching active subscription, in the event’s transaction', async () => {
    const orders = await create({ url: `${PUBLIC}/orders`, events: ['order.placed'] });
    const everything = await create({ url: `${PUBLIC}/all`, events: '*' });
    const customersOff = await create({ url: `${PUBLIC}/off`, events: ['customer.created'], isActive: false });
    const customer = await api.rest('POST', '/customers', {
      token: admin(),
      body: { firstName: 'Grace', lastName: 'Hopper', phone: uniquePhone() },
    });
    expect(customer.status).toBe(201);
    const rows = await api.deps.db
      .select()
      .from(webhookDeliveries)
      .where(sql`${webhookDeliveries.payload}->'data'->>'id' = ${customer.body.id}`);
    expect(rows.map((row) => [row.webhookId, row.eventType])).toEqual([[everything.body.id, 'customer.created']]);
    const [event] = await api.deps.db
      .select()
      .from(schema.domainEvents)
      .where(eq(schema.domainEvents.id, rows[0]?.eventId as string));
    expect(rows[0]?.payload).toEqual({
      id: event?.id,
      type: 'customer.created',
      occurredAt: event?.occurredAt.toISOString(),
      data: event?.data,
    });
    // Subscriptions created after it are audited, not delivered to it (their URLs may hold credentials).
    const all = await api.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhookId, everything.body.id));
    expect(all.map((row) => row.eventType)).toEqual(['customer.created']);
    for (const id of [orders.body.id, customersOff.body.id]) {
      const none = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id));
      expect(none).toEqual([]);
    }
  });

  it('names every event type the services record (the list in docs/webhooks.md and the contract)', async () => {
    const root = new URL('../../../packages/services/src/', import.meta.url).pathname;
    // url-safety.ts and address-rules.ts hold host and module names (metadata.goog, ipaddr.js), not event types.
    const files = (await readdir(root, { recursive: true })).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('url-safety.ts') && !file.endsWith('address-rules.ts'),
    );
    const literals = new Set<string>();
    for (const file of files)
      for (const match of (await readFile(join(root, file), 'utf8')).matchAll(/'([a-z_]+\.[a-z_]+)'/g))
        literals.add(match[1] as string);
    const notEvents = new Set<string>([...QUEUE_NAMES, 'demo.manager', 'demo.rep']);
    // webhook.* events are audited, never delivered.
    const recorded = [...literals].filter(
      (name) => !notEvents.has(name) && !name.startsWith('demo.') && !name.startsWith('webhook.'),
    );
    expect(recorded.filter((type) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type))).toEqual([]);
    const page = await readFile(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('**Events.**'), page.indexOf('**The request.**'));
    for (const type of WEBHOOK_EVENT_TYPES) {
      const [entity, action] = type.split('.') as [string, string];
      expect(section.includes(`\`${type}\``) || section.includes(`\`.${action}\``), type).toBe(true);
      expect(section, type).toContain(entity);
    }
  });
});

describe('who may manage webhooks', () => {
  it('refuses reps and managers on every endpoint (403) and writes nothing', async () => {
    const created = await create({ url: `${PUBLIC}/hooks`, events: '*' });
    const ping = await api.rest('POST', `/webhooks/${created.body.id}/ping`, { token: admin(), body: {} });
    const id = created.body.id;
    const deliveriesOf = () => api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id));
    // The ping only: its own webhook.created event is audited, never delivered.
    const before = await deliveriesOf();
    expect(before.map((row) => row.eventType)).toEqual(['ping']);
    const calls: [string, string, unknown?][] = [
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: '*' }],
      ['GET', '/webhooks'],
      ['GET', `/webhooks/${id}`],
      ['PUT', `/webhooks/${id}`, { url: `${PUBLIC}/changed` }],
      ['DELETE', `/webhooks/${id}`],
      ['POST', `/webhooks/${id}/rotate-secret`],
      ['GET', `/webhooks/${id}/deliveries`],
      ['POST', `/webhooks/${id}/deliveries/${ping.body.id}/redeliver`],
      ['POST', `/webhooks/${id}/ping`],
    ];
    for (const user of [team.rep, team.manager])
      for (const [method, path, body] of calls) {
        const response = await api.rest(method, path, { token: user.token, body: body ?? withBody(method) });
        expect(response.status, `${method} ${path}`).toBe(403);
      }
    expect((await api.rest('GET', '/webhooks')).status).toBe(401);
    const [row] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, id));
    expect(row).toMatchObject({ url: `${PUBLIC}/hooks`, secret: created.body.secret });
    expect(await webhookCount()).toBe(1);
    expect(await deliveriesOf()).toEqual(before);
  });
});

describe('bad input', () => {
  it('answers 400 naming the field on every endpoint, and writes nothing', async () => {
    const created = await create({ url: `${PUBLIC}/hooks`, events: ['order.placed'] });
    const id = created.body.id;
    const ping = await api.rest('POST', `/webhooks/${id}/ping`, { token: admin(), body: {} });
    const before = await api.deps.db.select().from(webhooks);
    const cases: [string, string, unknown, string][] = [
      ['POST', '/webhooks', { events: '*' }, 'url'],
      ['POST', '/webhooks', { url: 'ftp://203.0.113.10/x', events: '*' }, 'url'],
      ['POST', '/webhooks', { url: 'not a url', events: '*' }, 'url'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x` }, 'events'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: [] }, 'events'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: ['order.plaed'] }, 'events'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: ['order.placed', 'order.placed'] }, 'events'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: 'all' }, 'events'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: '*', description: 'x'.repeat(501) }, 'description'],
      ['POST', '/webhooks', { url: `${PUBLIC}/x`, events: '*', isActive: 'yes' }, 'isActive'],
      ['PUT', `/webhooks/${id}`, { url: 'javascript:alert(1)' }, 'url'],
      ['PUT', `/webhooks/${id}`, { events: ['nope'] }, 'events'],
      ['PUT', `/webhooks/${id}`, { isActive: 1 }, 'isActive'],
      ['PUT', '/webhooks/not-an-id', { isActive: true }, 'id'],
      ['GET', '/webhooks/not-an-id', undefined, 'id'],
      ['GET', '/webhooks?page=0', undefined, 'page'],
      ['GET', '/webhooks?pageSize=1000', undefined, 'pageSize'],
      ['GET', '/webhooks?isActive=maybe', undefined, 'isActive'],
      ['DELETE', '/webhooks/not-an-id', undefined, 'id'],
      ['POST', '/webhooks/not-an-id/rotate-secret', undefined, 'id'],
      ['POST', '/webhooks/not-an-id/ping', undefined, 'id'],
      ['GET', '/webhooks/not-an-id/deliveries', undefined, 'id'],
      ['GET', `/webhooks/${id}/deliveries?status=LOST`, undefined, 'status'],
      ['GET', `/webhooks/${id}/deliveries?page=-1`, undefined, 'page'],
      ['POST', `/webhooks/${id}/deliveries/not-an-id/redeliver`, undefined, 'deliveryId'],
      ['POST', `/webhooks/not-an-id/deliveries/${ping.body.id}/redeliver`, undefined, 'id'],
    ];
    for (const [method, path, body, field] of cases) {
      const response = await api.rest(method, path, { token: admin(), body: body ?? withBody(method) });
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(
        issuePaths(response.body).some((p) => p === field || p.startsWith(`${field}.`)),
        `${method} ${path}`,
      ).toBe(true);
      expect(response.text).not.toMatch(/at .*\.ts:\d+/);
    }
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, body] of [
      ['GET', `/webhooks/${missing}`],
      ['PUT', `/webhooks/${missing}`, { isActive: false }],
      ['DELETE', `/webhooks/${missing}`],
      ['POST', `/webhooks/${missing}/rotate-secret`],
      ['POST', `/webhooks/${missing}/ping`],
      ['GET', `/webhooks/${missing}/deliveries`],
      ['POST', `/webhooks/${id}/deliveries/${missing}/redeliver`],
    ] as [string, string, unknown?][]) {
      const response = await api.rest(method, path, { token: admin(), body: body ?? withBody(method) });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    expect(await api.deps.db.select().from(webhooks)).toEqual(before);
    const deliveries = await api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id));
    expect(deliveries.map((row) => row.id)).toEqual([ping.body.id]);
  });
});

describe('address rules (SSRF)', () => {
  const refused = [
    'http://127.0.0.1:8080/hook',
    'http://127.1.2.3/hook',
    'http://localhost:3000/hook',
    'http://api.localhost/hook',
    'http://[::1]/hook',
    'http://0.0.0.0/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:0:127.0.0.1]/hook',
    'http://[::127.0.0.1]/hook',
    'http://[64:ff9b:1::a00:1]/hook',
    'http://[fec0::1]/hook',
    'http://[64:ff9b::a00:1]/hook',
    'http://10.1.2.3/hook',
    'http://172.16.5.4/hook',
    'http://172.31.255.255/hook',
    'http://192.168.1.10/hook',
    'http://100.64.0.1/hook',
    'http://[fd12:3456::1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://[fe80::1]/hook',
    'http://224.0.0.1/hook',
  ];

  it('refuses loopback, private, link-local and metadata URLs when saved (400 on url), allow list off', async () => {
    const existing = await create({ url: `${PUBLIC}/hooks`, events: '*' });
    for (const url of refused) {
      const response = await create({ url, events: '*' });
      expect(response.status, url).toBe(400);
      expect(response.body.errors, url).toEqual([
        expect.objectContaining({ path: ['url'], message: expect.stringMatching(/^refused: /) }),
      ]);
      const update = await api.rest('PUT', `/webhooks/${existing.body.id}`, { token: admin(), body: { url } });
      expect(update.status, url).toBe(400);
    }
    expect(await webhookCount()).toBe(1);
    const [row] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, existing.body.id));
    expect(row?.url).toBe(`${PUBLIC}/hooks`);
  });
});
