import { schema } from '@touch-crm/db';
import { queueBirthdayMessages } from '@touch-crm/services';
import { createTeam, insertCustomer, startTestApi, type TestApi, unique } from '@touch-crm/test-utils';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { messageQueue, domainEvents, auditLog } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi({ env: { SMS_QUIET_HOURS: 'off' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

describe('message templates', () => {
  it('lists the template of every message type with its variables (managers and admins)', async () => {
    const res = await api.rest('GET', '/message-templates', { token: team.manager.token });
    expect(res.status).toBe(200);
    const byType = Object.fromEntries(res.body.map((t: { type: string }) => [t.type, t]));
    expect(Object.keys(byType).sort()).toEqual([
      'BIRTHDAY',
      'CAMPAIGN',
      'HELP',
      'INACTIVITY',
      'MANUAL',
      'MANUAL_MARKETING',
      'OPT_IN_CONFIRMATION',
      'OPT_OUT_CONFIRMATION',
      'PROMOTION',
      'WELCOME',
    ]);
    expect(byType.WELCOME).toMatchObject({
      body: 'Welcome, {{firstName}}! Thank you for choosing us.',
      variables: ['firstName', 'lastName', 'fullName', 'level'],
    });
    expect(byType.PROMOTION.variables).toEqual(expect.arrayContaining(['promotionCode', 'promotionName']));
    expect((await api.rest('GET', '/message-templates', { token: team.rep.token })).status).toBe(403);
    const one = await api.rest('GET', '/message-templates/BIRTHDAY', { token: team.admin.token });
    expect(one.body.type).toBe('BIRTHDAY');
  });

  it('lets admins edit a template (normalising {{ variable }}), audited; the next birthday run uses it', async () => {
    const res = await api.rest('PUT', '/message-templates/BIRTHDAY', {
      token: team.admin.token,
      body: { body: 'Happy birthday {{ fullName }}, our {{level}} friend!' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: 'BIRTHDAY', body: 'Happy birthday {{fullName}}, our {{level}} friend!' });
    const [event] = await api.deps.db
      .select()
      .from(domainEvents)
      .where(eq(domainEvents.type, 'message_template.updated'));
    const [audit] = await api.deps.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.eventId, event?.id as string));
    expect(audit?.changes).toEqual({
      body: {
        before: 'Happy birthday, {{firstName}}! We have a little something waiting for you.',
        after: 'Happy birthday {{fullName}}, our {{level}} friend!',
      },
    });

    const customer = await insertCustomer(api.deps, team.rep.id, {
      firstName: 'Bea',
      lastName: 'Day',
      birthday: '1999-10-10',
    });
    const now = new Date('2026-10-10T09:00:00Z');
    await queueBirthdayMessages({ ...api.deps, now: () => now }, now);
    const [message] = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.customerId, customer.id));
    expect(message?.body).toBe('Happy birthday Bea Day, our  friend!');
  });

  it.each([
    [
      'an unknown variable',
      'BIRTHDAY',
      'Hi {{nickname}}',
      /unknown variable \{\{nickname\}\}; allowed: \{\{firstName\}\}/,
    ],
    [
      'a variable the type does not have',
      'BIRTHDAY',
      'Code {{promotionCode}}',
      /unknown variable \{\{promotionCode\}\}/,
    ],
    ['unbalanced braces', 'WELCOME', 'Hi {{firstName', /unbalanced/],
    ['an empty body', 'WELCOME', '  ', /./],
  ])('rejects %s with 400 naming `body`', async (_, type, body, message) => {
    const res = await api.rest('PUT', `/message-templates/${type}`, { token: team.admin.token, body: { body } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toEqual(['body']);
    expect(res.body.errors[0].message).toMatch(message);
  });

  it('accepts promotion variables where the type has them; managers may not edit (403)', async () => {
    const ok = await api.rest('PUT', '/message-templates/PROMOTION', {
      token: team.admin.token,
      body: { body: '{{firstName}}: {{promotionName}}, code {{promotionCode}}' },
    });
    expect(ok.status).toBe(200);
    const denied = await api.rest('PUT', '/message-templates/PROMOTION', {
      token: team.manager.token,
      body: { body: 'x' },
    });
    expect(denied.status).toBe(403);
  });
});

describe('GET /messages', () => {
  async function message(customerId: string, values: Partial<typeof messageQueue.$inferInsert> = {}) {
    const [row] = await api.deps.db
      .insert(messageQueue)
      .values({
        customerId,
        phone: '+12025550111',
        body: 'hi',
        type: 'MANUAL',
        idempotencyKey: unique('m:'),
        ...values,
      })
      .returning();
    return row as typeof messageQueue.$inferSelect;
  }

  it('filters by customer, campaign, status and type; reps see only their own customers’ messages', async () => {
    const mine = await insertCustomer(api.deps, team.rep.id);
    const theirs = await insertCustomer(api.deps, team.otherRep.id);
    const [campaign] = await api.deps.db.insert(schema.campaigns).values({ name: 'C', message: 'x' }).returning();
    const sent = await message(mine.id, {
      status: 'SENT',
      type: 'CAMPAIGN',
      campaignId: campaign?.id,
      sentAt: new Date(),
      providerMessageId: 'p-1',
    });
    const failed = await message(mine.id, { status: 'FAILED', lastError: 'HTTP 400: bad number', attempts: 1 });
    const other = await message(theirs.id, { type: 'BIRTHDAY' });

    const list = (query: string, token = team.rep.token) => api.rest('GET', `/messages${query}`, { token });
    const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((item) => item.id).sort();

    expect(ids(await list(`?customerId=${mine.id}`))).toEqual([sent.id, failed.id].sort());
    expect(ids(await list(`?customerId=${theirs.id}`))).toEqual([]);
    expect(ids(await list(`?customerId=${theirs.id}`, team.manager.token))).toEqual([other.id]);
    expect(ids(await list(`?campaignId=${campaign?.id}`))).toEqual([sent.id]);
    expect(ids(await list(`?customerId=${mine.id}&status=FAILED`))).toEqual([failed.id]);
    expect(ids(await list(`?customerId=${mine.id}&type=CAMPAIGN`))).toEqual([sent.id]);
    const one = await list(`?customerId=${mine.id}&status=SENT`);
    expect(one.body).toMatchObject({ total: 1, page: 1, pageSize: 20 });
    expect(one.body.items[0]).toMatchObject({
      id: sent.id,
      customerId: mine.id,
      campaignId: campaign?.id,
      status: 'SENT',
      type: 'CAMPAIGN',
      providerMessageId: 'p-1',
      idempotencyKey: sent.idempotencyKey,
      sentAt: expect.any(String),
    });
    expect((await list('?status=SENDINGX')).status).toBe(400);

    expect((await api.rest('GET', `/messages/${failed.id}`, { token: team.rep.token })).body).toMatchObject({
      lastError: 'HTTP 400: bad number',
    });
    expect((await api.rest('GET', `/messages/${other.id}`, { token: team.rep.token })).status).toBe(404);
    expect((await api.rest('GET', `/messages/${other.id}`, { token: team.manager.token })).status).toBe(200);
  });

  it('shows the welcome message queued for a customer created as CUSTOMER over REST', async () => {
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Neo', lastName: 'Customer', phone: '+1 202 555 0177', status: 'CUSTOMER' },
    });
    expect(created.status).toBe(201);
    const res = await api.rest('GET', `/messages?customerId=${created.body.id}`, { token: team.rep.token });
    expect(res.body.items).toEqual([
      expect.objectContaining({ type: 'WELCOME', status: 'QUEUED', body: 'Welcome, Neo! Thank you for choosing us.' }),
    ]);
    const welcomes = await api.deps.db
      .select()
      .from(messageQueue)
      .where(and(eq(messageQueue.customerId, created.body.id), eq(messageQueue.type, 'WELCOME')));
    expect(welcomes).toHaveLength(1);
  });
});
