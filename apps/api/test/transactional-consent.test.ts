import { schema } from '@touch-crm/db';
import { deliverMessages, SKIPPED_WITHDRAWN, type SmsProvider } from '@touch-crm/services';
import {
  createTeam,
  insertCustomer,
  insertSentMarketing,
  postHttpSmsCallback,
  startTestApi,
  type TestApi,
  unique,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { messageQueue } = schema;
const SECRET = 'http-gateway-secret-for-tests';
const HOUR = 3_600_000;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  // Quiet hours all day long: a transactional message must not wait for them.
  api = await startTestApi({ env: { SMS_INBOUND_SECRET: SECRET, SMS_QUIET_HOURS: '00:00-23:59' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

function recordingCarrier() {
  const sent: { id: string; body: string }[] = [];
  const provider: SmsProvider = {
    name: 'test',
    send: async (sms) => {
      sent.push({ id: sms.messageId, body: sms.body });
      return { status: 'sent', providerMessageId: null };
    },
  };
  return { provider, sent };
}

const messagesOf = (customerId: string) =>
  api.deps.db
    .select()
    .from(messageQueue)
    .where(eq(messageQueue.customerId, customerId))
    .orderBy(asc(messageQueue.createdAt), asc(messageQueue.id));

/** Delivers whatever is due now, as a worker's drain does. */
const deliverDue = (carrier: ReturnType<typeof recordingCarrier>) => deliverMessages(api.deps, carrier.provider);

const inbound = (from: string, body: string) =>
  postHttpSmsCallback(`${api.url}/api/v1/sms/inbound/http`, SECRET, { id: unique('in-'), from, body });

describe('the welcome message', () => {
  it('is written SKIPPED with the reason for a new customer who did not consent to SMS', async () => {
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: {
        firstName: 'Nadia',
        lastName: unique('NoSms'),
        phone: uniquePhone(),
        status: 'CUSTOMER',
        smsOptIn: false,
      },
    });
    expect(created.status, created.text).toBe(201);
    const welcome = await waitFor(async () => (await messagesOf(created.body.id)).find((m) => m.type === 'WELCOME'), {
      what: 'the welcome row',
    });
    expect(welcome).toMatchObject({ status: 'SKIPPED', lastError: SKIPPED_WITHDRAWN });
  });

  it('goes at once, whatever the quiet hours, to a customer who consented', async () => {
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Yara', lastName: unique('Sms'), phone: uniquePhone(), status: 'CUSTOMER', smsOptIn: true },
    });
    expect(created.status, created.text).toBe(201);
    await waitFor(async () => (await messagesOf(created.body.id)).find((m) => m.type === 'WELCOME'), {
      what: 'the welcome row',
    });
    const carrier = recordingCarrier();
    await deliverDue(carrier);
    const [welcome] = await messagesOf(created.body.id);
    expect(welcome).toMatchObject({ type: 'WELCOME', status: 'SENT' });
  });
});

describe('a customer who withdraws consent', () => {
  it('gets the one opt-out confirmation and no transactional message queued before it', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    // A person's transactional text, queued while the customer still consented.
    const queued = await api.rest('POST', '/messages', {
      token: team.rep.token,
      body: { customerId: customer.id, body: 'Your order is ready', kind: 'transactional' },
    });
    expect(queued.status, queued.text).toBe(201);
    expect((await inbound(customer.phone, 'Stop.')).status).toBe(200);
    // A second STOP changes nothing and confirms nothing.
    expect((await inbound(customer.phone, 'STOP')).status).toBe(200);
    const carrier = recordingCarrier();
    await deliverDue(carrier);

    const outbound = (await messagesOf(customer.id)).filter((m) => m.direction === 'OUTBOUND');
    expect(outbound.map((m) => [m.type, m.status, m.lastError])).toEqual([
      ['MANUAL', 'SKIPPED', SKIPPED_WITHDRAWN],
      ['OPT_OUT_CONFIRMATION', 'SENT', null],
    ]);
    expect(carrier.sent).toHaveLength(1);

    // A HELP reply and a person's transactional text both stay unsent from now on.
    expect((await inbound(customer.phone, 'help')).status).toBe(200);
    const refused = await api.rest('POST', '/messages', {
      token: team.rep.token,
      body: { customerId: customer.id, body: 'Your order is ready', kind: 'transactional' },
    });
    expect(refused.status).toBe(409);
    await deliverDue(carrier);
    expect(carrier.sent).toHaveLength(1);
  });
});

describe('transactional messages and the marketing rules', () => {
  it('are held neither by quiet hours nor by the frequency cap', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    await insertSentMarketing(
      api.deps,
      customer,
      [-3, -2, -1].map((hours) => new Date(Date.now() + hours * HOUR)),
    );
    const queued = await api.rest('POST', '/messages', {
      token: team.rep.token,
      body: { customerId: customer.id, body: 'Your order is ready', kind: 'transactional' },
    });
    expect(queued.status, queued.text).toBe(201);
    const carrier = recordingCarrier();
    await deliverDue(carrier);
    expect(carrier.sent.map((sms) => sms.body)).toContain('Your order is ready');
  });
});
