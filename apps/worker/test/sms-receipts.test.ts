import { schema } from '@touch-crm/db';
import {
  createTeam,
  type FakeCarrier,
  freePort,
  insertCustomer,
  postTwilioCallback,
  sendTwilioReceipt,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  unique,
  waitFor,
} from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { queueTestMessage, startTestWorker } from './support.ts';

const { messageQueue, customers, consentEvents, domainEvents, campaigns } = schema;
const AUTH_TOKEN = 'twilio-auth-token-for-receipts';

let api: TestApi;
let worker: RunningWorker;
let carrier: FakeCarrier;
let team: Awaited<ReturnType<typeof createTeam>>;
let publicUrl: string;
beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://localhost:${port}`;
  const twilio = { PUBLIC_URL: publicUrl, TWILIO_AUTH_TOKEN: AUTH_TOKEN };
  api = await startTestApi({ env: { ...twilio, PORT: String(port), SMS_QUIET_HOURS: 'off' } });
  carrier = await startFakeCarrier();
  team = await createTeam(api.deps);
  worker = await startTestWorker(api, {
    ...twilio,
    SMS_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: 'ACtest',
    TWILIO_FROM: '+12025550100',
    TWILIO_BASE_URL: carrier.url,
  });
});
afterAll(async () => {
  await worker?.stop();
  await carrier?.close();
  await api?.close();
});

const rowOf = async (id: string) =>
  (await api.deps.db.select().from(messageQueue).where(eq(messageQueue.id, id)))[0] as typeof messageQueue.$inferSelect;

/** A message to a new customer, sent through the fake Twilio. */
async function sentMessage(values: Partial<typeof messageQueue.$inferInsert> = {}) {
  const customer = await insertCustomer(api.deps, team.rep.id);
  const queued = await queueTestMessage(api.deps, { customerId: customer.id, phone: customer.phone, ...values });
  await waitFor(async () => (await rowOf(queued.id)).status === 'SENT', { what: 'the message sent' });
  return { customer, message: await rowOf(queued.id) };
}

describe('delivery receipts from Twilio', () => {
  it('passes the status callback on each send; delivered wins over a late or repeated receipt', async () => {
    const { message } = await sentMessage();
    const request = carrier.requests.find((r) => r.idempotencyKey === message.idempotencyKey);
    expect(request?.fields.StatusCallback).toBe(`${publicUrl}/api/v1/sms/status/twilio`);

    expect((await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'delivered')).status).toBe(204);
    await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'delivered');
    await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'sent');
    await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'undelivered', '30003');
    const row = await rowOf(message.id);
    expect(row).toMatchObject({ status: 'DELIVERED', carrierErrorCode: null });
    expect(row.deliveryReportedAt).toBeInstanceOf(Date);
    const events = await api.deps.db.select().from(domainEvents).where(eq(domainEvents.entityId, message.id));
    expect(events.map((e) => e.type).filter((type) => type.startsWith('message.'))).toEqual([
      'message.sent',
      'message.delivered',
    ]);

    const res = await api.rest('GET', `/messages?status=DELIVERED&customerId=${message.customerId}`, {
      token: team.rep.token,
    });
    expect(res.body.items).toMatchObject([{ id: message.id, status: 'DELIVERED' }]);
  });

  it('undelivered with an unreachable-number code: UNDELIVERED with the code, the phone marked undeliverable', async () => {
    const { customer, message } = await sentMessage();
    await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'sent');
    await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'undelivered', '30003');
    expect(await rowOf(message.id)).toMatchObject({ status: 'UNDELIVERED', carrierErrorCode: '30003' });
    const [row] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
    expect(row).toMatchObject({ phoneUndeliverableReason: 'carrier error 30003', smsOptIn: true });
    // A new number clears it.
    await api.rest('PUT', `/customers/${customer.id}`, { token: team.rep.token, body: { phone: '+12025550177' } });
    const [changed] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
    expect(changed?.phoneUndeliverableAt).toBeNull();
  });

  it('undelivered with 21610 (unsubscribed at the carrier) withdraws consent, source carrier', async () => {
    const { customer, message } = await sentMessage();
    await sendTwilioReceipt(carrier, message.idempotencyKey, AUTH_TOKEN, 'failed', '21610');
    expect(await rowOf(message.id)).toMatchObject({ status: 'UNDELIVERED', carrierErrorCode: '21610' });
    const consent = await api.deps.db.select().from(consentEvents).where(eq(consentEvents.customerId, customer.id));
    expect(consent).toMatchObject([
      { action: 'withdrawn', source: 'carrier', evidence: { messageId: message.id, carrierErrorCode: '21610' } },
    ]);
  });

  it('refuses unsigned and forged receipts (403) and changes nothing', async () => {
    const { message } = await sentMessage();
    const url = `${publicUrl}/api/v1/sms/status/twilio`;
    const params = { MessageSid: message.providerMessageId as string, MessageStatus: 'delivered' };
    expect((await postTwilioCallback(url, AUTH_TOKEN, params, { signature: null })).status).toBe(403);
    expect((await postTwilioCallback(url, 'wrong-token', params)).status).toBe(403);
    expect((await rowOf(message.id)).status).toBe('SENT');
  });

  it('counts delivered and undelivered per campaign', async () => {
    const [campaign] = await api.deps.db
      .insert(campaigns)
      .values({ name: unique('Receipts '), message: 'Hi' })
      .returning();
    const campaignId = campaign?.id as string;
    const a = await sentMessage({ type: 'CAMPAIGN', campaignId });
    const b = await sentMessage({ type: 'CAMPAIGN', campaignId });
    await sentMessage({ type: 'CAMPAIGN', campaignId });
    await sendTwilioReceipt(carrier, a.message.idempotencyKey, AUTH_TOKEN, 'delivered');
    await sendTwilioReceipt(carrier, b.message.idempotencyKey, AUTH_TOKEN, 'undelivered', '30005');
    const res = await api.rest('GET', `/campaigns/${campaignId}`, { token: team.manager.token });
    expect(res.body.counts).toMatchObject({ sent: 3, delivered: 1, undelivered: 1 });
  });
});

describe('a send Twilio refuses with an error code', () => {
  it('21610 withdraws consent (source carrier) and skips the queued marketing', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    carrier.behave((request) =>
      request.to === customer.phone
        ? { status: 400, body: { code: 21610, message: 'Attempt to send to unsubscribed recipient' } }
        : undefined,
    );
    const refused = await queueTestMessage(api.deps, { customerId: customer.id, phone: customer.phone });
    const later = await api.deps.db
      .insert(messageQueue)
      .values({
        customerId: customer.id,
        phone: customer.phone,
        body: 'Sale',
        type: 'CAMPAIGN',
        idempotencyKey: unique('later:'),
        scheduledFor: new Date(Date.now() + 3_600_000),
      })
      .returning();
    await waitFor(async () => (await rowOf(refused.id)).status === 'FAILED', { what: 'the refusal recorded' });
    carrier.behave(() => undefined);
    expect(await rowOf(refused.id)).toMatchObject({ carrierErrorCode: '21610' });
    const [row] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
    expect(row?.smsOptIn).toBe(false);
    expect(await rowOf(later[0]?.id as string)).toMatchObject({ status: 'SKIPPED' });
    const consent = await api.deps.db.select().from(consentEvents).where(eq(consentEvents.customerId, customer.id));
    expect(consent).toMatchObject([{ source: 'carrier', actorJob: 'sms.send' }]);
  });
});
