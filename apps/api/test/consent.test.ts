import { readFile } from 'node:fs/promises';
import { schema } from '@touch-crm/db';
import { createTeam, insertCustomer, startTestApi, type TestApi, uniquePhone } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { consentEvents } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const createCustomer = async (token: string, body: Record<string, unknown> = {}) => {
  const res = await api.rest('POST', '/customers', {
    token,
    body: { firstName: 'Con', lastName: 'Sent', phone: uniquePhone(), ...body },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; smsOptIn: boolean };
};

describe('the consent record of the API paths', () => {
  it('writes an entry on create and on every change of smsOptIn, none for an edit that keeps it', async () => {
    const customer = await createCustomer(team.rep.token, { smsOptIn: false });
    await api.rest('PUT', `/customers/${customer.id}`, { token: team.rep.token, body: { notes: 'no consent change' } });
    await api.rest('PUT', `/customers/${customer.id}`, { token: team.manager.token, body: { smsOptIn: true } });
    await api.rest('PUT', `/customers/${customer.id}`, { token: team.manager.token, body: { smsOptIn: true } });

    const res = await api.rest('GET', `/customers/${customer.id}/consent`, { token: team.rep.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ customerId: customer.id, marketing: 'granted', marketingSource: 'api' });
    expect(res.body.history).toMatchObject([
      {
        purpose: 'marketing',
        action: 'withdrawn',
        source: 'api',
        actorUserId: team.rep.id,
        evidence: { operation: 'createCustomer' },
      },
      { action: 'granted', source: 'api', actorUserId: team.manager.id, evidence: { operation: 'updateCustomer' } },
    ]);
    expect(Date.parse(res.body.history[0].occurredAt)).not.toBeNaN();
  });
});

describe('GET /customers/{id}/consent: who may read it', () => {
  it("lets a rep read their own customer's record, not another rep's (404); managers and admins read all", async () => {
    const customer = await createCustomer(team.rep.token);
    expect((await api.rest('GET', `/customers/${customer.id}/consent`, { token: team.otherRep.token })).status).toBe(
      404,
    );
    for (const token of [team.rep.token, team.manager.token, team.admin.token])
      expect((await api.rest('GET', `/customers/${customer.id}/consent`, { token })).status).toBe(200);
    expect((await api.rest('GET', `/customers/${customer.id}/consent`)).status).toBe(401);
  });
});

describe('the consent record is append-only', () => {
  it('refuses to change or delete an entry', async () => {
    const customer = await createCustomer(team.rep.token);
    await expect(
      api.deps.db.update(consentEvents).set({ action: 'withdrawn' }).where(eq(consentEvents.customerId, customer.id)),
    ).rejects.toThrow();
    await expect(api.deps.db.delete(consentEvents).where(eq(consentEvents.customerId, customer.id))).rejects.toThrow();
    expect(
      await api.deps.db.select().from(consentEvents).where(eq(consentEvents.customerId, customer.id)),
    ).toHaveLength(1);
  });
});

describe('the export carries the current consent and its source', () => {
  it('adds smsConsentSource and smsConsentAt to each customer', async () => {
    const customer = await createCustomer(team.manager.token, { smsOptIn: false });
    const res = await api.rest('GET', '/customers/export?format=json', { token: team.manager.token });
    expect(res.status).toBe(200);
    const rows = res.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const row = rows.find((r: { id: string }) => r.id === customer.id);
    expect(row).toMatchObject({ smsOptIn: false, smsConsentSource: 'api' });
    expect(Date.parse(row.smsConsentAt)).not.toBeNaN();
  });
});

describe('the consent backfill migration', () => {
  it('gives each customer without an entry one stating their state, from the migration', async () => {
    // Customers written straight to the table, as before the consent record existed.
    const optedIn = await insertCustomer(api.deps, team.rep.id, { smsOptIn: true });
    const optedOut = await insertCustomer(api.deps, team.rep.id, { smsOptIn: false });
    const migration = await readFile(
      new URL('../../../packages/db/migrations/0011_sms-consent-backfill.sql', import.meta.url),
      'utf8',
    );
    const backfill = migration.split('--> statement-breakpoint')[0] as string;
    await api.deps.db.$client.unsafe(
      backfill.replace('FROM "customers" c', `FROM "customers" c WHERE c.id IN ('${optedIn.id}', '${optedOut.id}')`),
    );
    for (const [customer, action] of [
      [optedIn, 'granted'],
      [optedOut, 'withdrawn'],
    ] as const) {
      const res = await api.rest('GET', `/customers/${customer.id}/consent`, { token: team.rep.token });
      expect(res.body).toMatchObject({
        marketing: action,
        marketingSource: 'admin',
        history: [{ action, source: 'admin', actorJob: 'migration' }],
      });
    }
  });
});
