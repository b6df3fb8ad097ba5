import { schema } from '@touch-crm/db';
import {
  createTeam,
  freePort,
  insertCustomer,
  postHttpSmsCallback,
  postTwilioCallback,
  signTwilioRequest,
  startTestApi,
  type TestApi,
  unique,
  uniquePhone,
} from '@touch-crm/test-utils';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { messageQueue, consentEvents, domainEvents, workLogs, customers } = schema;

/** The public address Twilio is given (a name for this machine), and the one the server listens on. */
let PUBLIC_URL: string;
let listening: string;
const AUTH_TOKEN = 'twilio-auth-token-for-tests';
const SECRET = 'http-gateway-secret-for-tests';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let clock = new Date('2026-06-01T15:00:00Z');
beforeAll(async () => {
  const port = await freePort();
  PUBLIC_URL = `http://localhost:${port}`;
  listening = `http://127.0.0.1:${port}`;
  api = await startTestApi({
    now: () => clock,
    env: {
      PORT: String(port),
      PUBLIC_URL,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      SMS_INBOUND_SECRET: SECRET,
      SMS_STOP_KEYWORDS: 'ARRET, basta',
      SMS_QUIET_HOURS: 'off',
    },
  });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

let sid = 0;
/** Twilio posting an inbound SMS, signed for the public URL it was configured with. */
const twilioInbound = (from: string, body: string, options: { sid?: string; signature?: string | null } = {}) =>
  postTwilioCallback(
    `${listening}/api/v1/sms/inbound/twilio`,
    AUTH_TOKEN,
    { MessageSid: options.sid ?? `SM${process.pid}x${++sid}`, From: from, To: '+12025550100', Body: body },
    { signedUrl: `${PUBLIC_URL}/api/v1/sms/inbound/twilio`, signature: options.signature },
  );

const messagesOf = (customerId: string) =>
  api.deps.db
    .select()
    .from(messageQueue)
    .where(eq(messageQueue.customerId, customerId))
    .orderBy(messageQueue.createdAt);

/** A customer with a queued campaign message, as a running campaign leaves them. */
async function customerWithQueuedMarketing(smsOptIn = true) {
  const customer = await insertCustomer(api.deps, team.rep.id, { smsOptIn });
  await api.deps.db.insert(messageQueue).values({
    customerId: customer.id,
    phone: customer.phone,
    body: 'Big sale',
    type: 'CAMPAIGN',
    idempotencyKey: unique('campaign-test:'),
  });
  return customer;
}

describe("Twilio's signature, as the test carrier computes it", () => {
  it("matches the example in Twilio's documentation", () => {
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    };
    expect(signTwilioRequest('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params)).toBe(
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    );
  });
});

describe('POST /sms/inbound/twilio: STOP in any spelling opts out at once', () => {
  it.each(['Stop.', '  stop ', 'STOP!', 'opt-out', 'Opt Out', 'unsubscribe', 'StopAll', 'Revoke', 'arret', 'BASTA'])(
    '"%s": consent withdrawn with its evidence, queued marketing SKIPPED, one confirmation',
    async (word) => {
      const customer = await customerWithQueuedMarketing();
      const res = await twilioInbound(customer.phone, word);
      expect(res.status, res.text).toBe(200);
      expect(res.text).toContain('<Response></Response>');

      const [row] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
      expect(row?.smsOptIn).toBe(false);
      const messages = await messagesOf(customer.id);
      const inbound = messages.find((m) => m.direction === 'INBOUND');
      expect(inbound).toMatchObject({ type: 'REPLY', status: 'RECEIVED', body: word, provider: 'twilio' });
      expect(messages.find((m) => m.type === 'CAMPAIGN')).toMatchObject({
        status: 'SKIPPED',
        lastError: 'customer replied STOP: opted out of marketing SMS',
      });
      expect(messages.filter((m) => m.type === 'OPT_OUT_CONFIRMATION')).toMatchObject([{ status: 'QUEUED' }]);
      const consent = await api.deps.db.select().from(consentEvents).where(eq(consentEvents.customerId, customer.id));
      expect(consent).toMatchObject([
        {
          action: 'withdrawn',
          source: 'inbound_keyword',
          actorJob: 'sms-inbound',
          evidence: { messageId: inbound?.id, provider: 'twilio', body: word },
        },
      ]);
    },
  );

  it('confirms once: a second STOP is recorded but sends nothing more', async () => {
    const customer = await customerWithQueuedMarketing();
    await twilioInbound(customer.phone, 'STOP');
    await twilioInbound(customer.phone, 'stop');
    const messages = await messagesOf(customer.id);
    expect(messages.filter((m) => m.direction === 'INBOUND')).toHaveLength(2);
    expect(messages.filter((m) => m.type === 'OPT_OUT_CONFIRMATION')).toHaveLength(1);
  });

  it('reads "stop sending me these" as free text, not as STOP', async () => {
    const customer = await customerWithQueuedMarketing();
    await twilioInbound(customer.phone, 'stop sending me these');
    const [row] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
    expect(row?.smsOptIn).toBe(true);
    expect((await messagesOf(customer.id)).map((m) => m.type).sort()).toEqual(['CAMPAIGN', 'REPLY']);
  });
});

describe('POST /sms/inbound/twilio: START and HELP', () => {
  it('START (or UNSTOP, YES) re-subscribes with a confirmation', async () => {
    for (const word of ['START', 'unstop', 'Yes!']) {
      const customer = await insertCustomer(api.deps, team.rep.id, { smsOptIn: false });
      await twilioInbound(customer.phone, word);
      const [row] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
      expect(row?.smsOptIn).toBe(true);
      const types = (await messagesOf(customer.id)).map((m) => m.type);
      expect(types).toContain('OPT_IN_CONFIRMATION');
      const consent = await api.rest('GET', `/customers/${customer.id}/consent`, { token: team.rep.token });
      expect(consent.body).toMatchObject({ marketing: 'granted', marketingSource: 'inbound_keyword' });
    }
  });

  it('HELP and INFO answer with the help template; an opted-out customer gets no help text', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    await twilioInbound(customer.phone, 'help');
    await twilioInbound(customer.phone, 'INFO');
    const helps = (await messagesOf(customer.id)).filter((m) => m.type === 'HELP');
    expect(helps).toHaveLength(2);
    expect(helps[0]?.body).toMatch(/Reply STOP to unsubscribe/);
    const withdrawn = await insertCustomer(api.deps, team.rep.id, { smsOptIn: false });
    await twilioInbound(withdrawn.phone, 'HELP');
    expect((await messagesOf(withdrawn.id)).map((m) => m.type)).toEqual(['REPLY']);
  });
});

describe('POST /sms/inbound/twilio: recording', () => {
  it('records the reply once per carrier id, on the timeline and as a message.received event', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const id = `SMdup${process.pid}`;
    expect((await twilioInbound(customer.phone, 'See you Tuesday', { sid: id })).status).toBe(200);
    expect((await twilioInbound(customer.phone, 'See you Tuesday', { sid: id })).status).toBe(200);
    const inbound = (await messagesOf(customer.id)).filter((m) => m.direction === 'INBOUND');
    expect(inbound).toMatchObject([{ providerMessageId: id, body: 'See you Tuesday' }]);
    const events = await api.deps.db
      .select()
      .from(domainEvents)
      .where(and(eq(domainEvents.type, 'message.received'), eq(domainEvents.customerId, customer.id)));
    expect(events).toMatchObject([{ entityId: inbound[0]?.id, data: { body: 'See you Tuesday', keyword: null } }]);
    const timeline = await api.deps.db.select().from(workLogs).where(eq(workLogs.customerId, customer.id));
    expect(timeline).toMatchObject([{ subject: 'SMS received', content: 'See you Tuesday' }]);

    const list = await api.rest('GET', `/messages?customerId=${customer.id}&direction=INBOUND`, {
      token: team.rep.token,
    });
    expect(list.body.items).toMatchObject([{ direction: 'INBOUND', status: 'RECEIVED', type: 'REPLY' }]);
    const otherRep = await api.rest('GET', `/messages?customerId=${customer.id}`, { token: team.otherRep.token });
    expect(otherRep.body.items).toEqual([]);
  });

  it('records a text from an unknown number without a customer', async () => {
    const stranger = uniquePhone();
    expect((await twilioInbound(stranger, 'STOP')).status).toBe(200);
    const rows = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.phone, stranger));
    expect(rows).toMatchObject([{ customerId: null, direction: 'INBOUND', body: 'STOP' }]);
  });

  it('refuses unsigned, forged and wrongly addressed calls with 403 and records nothing', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const params = { MessageSid: `SMforged${process.pid}`, From: customer.phone, Body: 'STOP' };
    const url = `${listening}/api/v1/sms/inbound/twilio`;
    const attempts = [
      await postTwilioCallback(url, AUTH_TOKEN, params, { signature: null }),
      await postTwilioCallback(url, AUTH_TOKEN, params, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }),
      await postTwilioCallback(url, 'not-the-auth-token', params, {
        signedUrl: `${PUBLIC_URL}/api/v1/sms/inbound/twilio`,
      }),
      // Signed for the URL this server listens on, not the public one Twilio was given.
      await postTwilioCallback(url, AUTH_TOKEN, params),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(403);
      expect(JSON.parse(attempt.text)).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect(await messagesOf(customer.id)).toEqual([]);
    const [row] = await api.deps.db.select().from(customers).where(eq(customers.id, customer.id));
    expect(row?.smsOptIn).toBe(true);
  });

  it('needs no session: a bearer token neither helps nor hurts', async () => {
    const res = await fetch(`${listening}/api/v1/sms/inbound/twilio`, {
      method: 'POST',
      headers: { authorization: `Bearer ${team.admin.token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'MessageSid=SMx&From=%2B12025550123&Body=STOP',
    });
    expect(res.status).toBe(403);
  });
});

describe('POST /sms/inbound/http: signed JSON with a replay window', () => {
  const url = () => `${listening}/api/v1/sms/inbound/http`;
  const seconds = () => Math.floor(clock.getTime() / 1000);

  it('takes a signed reply, once per gateway id', async () => {
    const customer = await customerWithQueuedMarketing();
    const body = { id: `gw-${process.pid}-1`, from: customer.phone, to: '+12025550100', body: 'Stop' };
    const first = await postHttpSmsCallback(url(), SECRET, body, { timestamp: seconds() });
    expect(first.status, first.text).toBe(200);
    expect(JSON.parse(first.text)).toMatchObject({ duplicate: false });
    const again = await postHttpSmsCallback(url(), SECRET, body, { timestamp: seconds() });
    expect(JSON.parse(again.text)).toMatchObject({ id: null, duplicate: true });
    const messages = await messagesOf(customer.id);
    expect(messages.filter((m) => m.direction === 'INBOUND')).toMatchObject([{ provider: 'http' }]);
    expect(messages.filter((m) => m.type === 'OPT_OUT_CONFIRMATION')).toHaveLength(1);
  });

  it('refuses a stale or future timestamp, a wrong secret and no signature (403); a bad body is a 400', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const body = { id: `gw-${process.pid}-2`, from: customer.phone, body: 'STOP' };
    for (const timestamp of [seconds() - 301, seconds() + 301])
      expect((await postHttpSmsCallback(url(), SECRET, body, { timestamp })).status).toBe(403);
    expect((await postHttpSmsCallback(url(), 'another-secret-entirely', body, { timestamp: seconds() })).status).toBe(
      403,
    );
    expect((await postHttpSmsCallback(url(), SECRET, body, { timestamp: seconds(), signature: null })).status).toBe(
      403,
    );
    const bad = await postHttpSmsCallback(url(), SECRET, { id: 'x', body: 'hi' }, { timestamp: seconds() });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('from');
    expect(await messagesOf(customer.id)).toEqual([]);

    // The window moves with the clock: the same signed call is good once the clock is near it.
    const stale = seconds() - 400;
    clock = new Date(clock.getTime() - 400_000);
    expect((await postHttpSmsCallback(url(), SECRET, body, { timestamp: stale })).status).toBe(200);
  });
});

describe('POST /sms/status/http: the http gateway delivery receipts', () => {
  it('marks a SENT message DELIVERED or UNDELIVERED with the code and time; repeats and late ones change nothing', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const sent = (id: string) => ({
      customerId: customer.id,
      phone: customer.phone,
      body: 'Your order shipped',
      type: 'MANUAL' as const,
      status: 'SENT' as const,
      provider: 'http',
      providerMessageId: id,
      idempotencyKey: unique('receipt-test:'),
    });
    const [delivered, undelivered] = await api.deps.db
      .insert(messageQueue)
      .values([sent(`gw-r-${process.pid}-1`), sent(`gw-r-${process.pid}-2`)])
      .returning();
    const url = `${listening}/api/v1/sms/status/http`;
    const timestamp = Math.floor(clock.getTime() / 1000);
    const post = (body: unknown) => postHttpSmsCallback(url, SECRET, body, { timestamp });
    const first = await post({ id: delivered?.providerMessageId, status: 'delivered', at: '2026-06-01T14:59:00Z' });
    expect(JSON.parse(first.text)).toMatchObject({ messageId: delivered?.id, status: 'DELIVERED' });
    expect(JSON.parse((await post({ id: delivered?.providerMessageId, status: 'delivered' })).text)).toMatchObject({
      messageId: null,
    });
    await post({ id: delivered?.providerMessageId, status: 'sent' });
    await post({ id: undelivered?.providerMessageId, status: 'undelivered', errorCode: '30006' });
    const rows = await messagesOf(customer.id);
    expect(rows.find((m) => m.id === delivered?.id)).toMatchObject({
      status: 'DELIVERED',
      deliveryReportedAt: new Date('2026-06-01T14:59:00Z'),
    });
    expect(rows.find((m) => m.id === undelivered?.id)).toMatchObject({
      status: 'UNDELIVERED',
      carrierErrorCode: '30006',
    });
    expect((await postHttpSmsCallback(url, 'not-the-secret-at-all', { id: 'x', status: 'delivered' })).status).toBe(
      403,
    );
    expect((await post({ id: 'x', status: 'lost' })).status).toBe(400);
  });

  it('changes one message at most: of several SENT messages with the id, the one sent last', async () => {
    const customers = await Promise.all([1, 2, 3].map(() => insertCustomer(api.deps, team.rep.id)));
    const shared = `gw-shared-${process.pid}`;
    const rows = await api.deps.db
      .insert(messageQueue)
      .values(
        customers.map((customer, i) => ({
          customerId: customer.id,
          phone: customer.phone,
          body: 'Hello',
          type: 'MANUAL' as const,
          status: 'SENT' as const,
          provider: 'http',
          providerMessageId: shared,
          sentAt: new Date(Date.parse('2026-06-01T14:00:00Z') + i * 60_000),
          idempotencyKey: unique('receipt-shared:'),
        })),
      )
      .returning();
    const post = (body: unknown) =>
      postHttpSmsCallback(`${listening}/api/v1/sms/status/http`, SECRET, body, {
        timestamp: Math.floor(clock.getTime() / 1000),
      });
    const answer = await post({ id: shared, status: 'delivered' });
    expect(JSON.parse(answer.text)).toMatchObject({ messageId: rows[2]?.id, status: 'DELIVERED' });
    const after = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.providerMessageId, shared));
    expect(after.filter((row) => row.status === 'DELIVERED').map((row) => row.id)).toEqual([rows[2]?.id]);

    // The carrier repeats a receipt (an opt-out code, here): it changes nothing, not the next
    // older message of the id, whose customer never withdrew.
    for (let i = 0; i < 2; i++) await post({ id: shared, status: 'undelivered', errorCode: '21610' });
    const again = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.providerMessageId, shared));
    expect(again.filter((row) => row.status !== 'SENT').map((row) => row.id)).toEqual([rows[2]?.id]);
    const [older] = await api.deps.db
      .select()
      .from(schema.customers)
      .where(eq(schema.customers.id, customers[1]?.id as string));
    expect(older?.smsOptIn).toBe(true);
  });
});

describe('callbacks carrying what PostgreSQL cannot store, or too much of it', () => {
  const seconds = () => Math.floor(clock.getTime() / 1000);
  const httpInbound = (body: unknown) =>
    postHttpSmsCallback(`${listening}/api/v1/sms/inbound/http`, SECRET, body, { timestamp: seconds() });
  const twilio = (path: string, params: Record<string, string>) =>
    postTwilioCallback(`${listening}/api/v1/sms/${path}`, AUTH_TOKEN, params, {
      signedUrl: `${PUBLIC_URL}/api/v1/sms/${path}`,
    });
  const optedOut = async (customerId: string) =>
    (await api.deps.db.select().from(customers).where(eq(customers.id, customerId)))[0]?.smsOptIn === false;

  it.each([
    ['a NUL', 'STOP\u0000'],
    ['an unpaired surrogate', 'STOP\ud800'],
    ['a control character', '\u001bSTOP'],
  ])('an http gateway reply with %s is cleaned and still read: STOP opts out', async (_, text) => {
    const customer = await customerWithQueuedMarketing();
    const res = await httpInbound({ id: unique('gw-clean-'), from: customer.phone, body: text });
    expect(res.status, res.text).toBe(200);
    expect(await optedOut(customer.id)).toBe(true);
    expect((await messagesOf(customer.id)).find((m) => m.direction === 'INBOUND')).toMatchObject({ body: 'STOP' });
  });

  it('a Twilio reply with a NUL in its body is cleaned and still read: STOP opts out', async () => {
    const customer = await customerWithQueuedMarketing();
    const res = await twilioInbound(customer.phone, 'STOP\u0000');
    expect(res.status, res.text).toBe(200);
    expect(await optedOut(customer.id)).toBe(true);
  });

  it('a malformed or oversized id or phone is a 400 naming the field, and records nothing', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const huge = `SM${'a'.repeat(12_000)}`;
    const cases: [Promise<{ status: number; text: string }>, string][] = [
      [httpInbound({ id: 'gw-nul\u0000', from: customer.phone, body: 'STOP' }), 'id'],
      [httpInbound({ id: huge, from: customer.phone, body: 'STOP' }), 'id'],
      [httpInbound({ id: unique('gw-'), from: `${customer.phone}\u0000`, body: 'STOP' }), 'from'],
      [httpInbound({ id: unique('gw-'), from: customer.phone, body: 'x'.repeat(1601) }), 'body'],
      [twilio('inbound/twilio', { MessageSid: 'SMtest3\u0000', From: customer.phone, Body: 'STOP' }), 'MessageSid'],
      [twilio('inbound/twilio', { MessageSid: huge, From: customer.phone, Body: 'STOP' }), 'MessageSid'],
      [twilio('inbound/twilio', { MessageSid: unique('SM'), From: `${customer.phone}\u0000`, Body: 'STOP' }), 'From'],
      [twilio('inbound/twilio', { MessageSid: unique('SM'), From: customer.phone, To: 'x\u0000' }), 'To'],
      [twilio('status/twilio', { MessageSid: 'SMx\u0000', MessageStatus: 'delivered' }), 'MessageSid'],
      [twilio('status/twilio', { MessageSid: huge, MessageStatus: 'delivered' }), 'MessageSid'],
      [twilio('status/twilio', { MessageSid: 'SMx', MessageStatus: 'failed', ErrorCode: '3\u0000' }), 'ErrorCode'],
      [
        postHttpSmsCallback(
          `${listening}/api/v1/sms/status/http`,
          SECRET,
          { id: huge, status: 'delivered' },
          {
            timestamp: seconds(),
          },
        ),
        'id',
      ],
    ];
    for (const [pending, field] of cases) {
      const res = await pending;
      expect(res.status, `${field}: ${res.text}`).toBe(400);
      expect(JSON.parse(res.text).errors, res.text).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: [field] })]),
      );
    }
    expect(await messagesOf(customer.id)).toEqual([]);
    expect(await optedOut(customer.id)).toBe(false);
  });
});
