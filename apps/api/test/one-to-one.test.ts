import { createTeam, insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
// 23:00 in APP_TIMEZONE (UTC): inside the default quiet hours, 21:00–08:00.
const clock = new Date('2026-06-01T23:00:00Z');
beforeAll(async () => {
  api = await startTestApi({ now: () => clock });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const send = (token: string, body: Record<string, unknown>) => api.rest('POST', '/messages', { token, body });

describe('POST /messages: who may text whom', () => {
  it('lets a rep text their own customer, not another rep’s (404); managers and admins text anyone', async () => {
    const own = await insertCustomer(api.deps, team.rep.id, { firstName: 'Olga' });
    const res = await send(team.rep.token, {
      customerId: own.id,
      body: 'Hi {{firstName}}, your order is ready',
      kind: 'transactional',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      customerId: own.id,
      type: 'MANUAL',
      direction: 'OUTBOUND',
      status: 'QUEUED',
      body: 'Hi Olga, your order is ready',
      scheduledFor: clock.toISOString(),
    });
    const theirs = await insertCustomer(api.deps, team.otherRep.id);
    expect((await send(team.rep.token, { customerId: theirs.id, body: 'Hi', kind: 'transactional' })).status).toBe(404);
    for (const token of [team.manager.token, team.admin.token])
      expect((await send(token, { customerId: theirs.id, body: 'Hi', kind: 'transactional' })).status).toBe(201);
    expect(
      (await api.rest('POST', '/messages', { body: { customerId: own.id, body: 'Hi', kind: 'marketing' } })).status,
    ).toBe(401);
  });
});

describe('POST /messages: the rules', () => {
  it('holds a marketing text until quiet hours end; a transactional one goes at once', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const marketing = await send(team.rep.token, { customerId: customer.id, body: '20% off today', kind: 'marketing' });
    expect(marketing.body).toMatchObject({ type: 'MANUAL_MARKETING', scheduledFor: '2026-06-02T08:00:00.000Z' });
  });

  it('refuses a customer who withdrew consent with 409 SMS_CONSENT_WITHDRAWN, whatever the kind', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { smsOptIn: false });
    for (const kind of ['marketing', 'transactional']) {
      const res = await send(team.rep.token, { customerId: customer.id, body: 'Hello', kind });
      expect(res.status).toBe(409);
      expect(res.body.reason).toBe('SMS_CONSENT_WITHDRAWN');
    }
  });

  it('refuses marketing to a phone the carrier called undeliverable (409 PHONE_UNDELIVERABLE)', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { phoneUndeliverableAt: clock });
    const res = await send(team.rep.token, { customerId: customer.id, body: 'Sale', kind: 'marketing' });
    expect(res.status).toBe(409);
    expect(res.body.reason).toBe('PHONE_UNDELIVERABLE');
  });

  it('names the body for an unknown variable and the kind for a bad one (400)', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const badVariable = await send(team.rep.token, {
      customerId: customer.id,
      body: 'Hi {{nickname}}',
      kind: 'marketing',
    });
    expect(badVariable.status).toBe(400);
    expect(badVariable.text).toContain('body');
    const badKind = await send(team.rep.token, { customerId: customer.id, body: 'Hi', kind: 'spam' });
    expect(badKind.status).toBe(400);
    expect(badKind.text).toContain('kind');
  });
});
