import { schema } from '@touch-crm/db';
import { createSendSlots, deliverMessages, jobActor, recordEvent, type SmsProvider } from '@touch-crm/services';
import {
  createTeam,
  type FakeCarrier,
  insertCustomer,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { queueTestMessage, startTestWorker } from './support.ts';

const { messageQueue, customers, workLogs } = schema;

let api: TestApi;
let carrier: FakeCarrier;
let worker: RunningWorker;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
  carrier = await startFakeCarrier();
  worker = await startTestWorker(api, {
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: `${carrier.url}/v1/sms`,
    SMS_HTTP_TOKEN: 'carrier-secret',
  });
});
afterAll(async () => {
  await worker?.stop();
  await carrier?.close();
  await api?.close();
});
beforeEach(() => {
  carrier.behave(() => undefined);
  carrier.failNext(0);
});

const messageById = async (id: string) => {
  const [row] = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.id, id));
  return row;
};
const settled = (id: string, status = 'SENT') =>
  waitFor(
    async () => {
      const row = await messageById(id);
      return row?.status === status ? row : undefined;
    },
    { what: `message ${id} to be ${status}` },
  );
const requestsFor = (key: string) => carrier.requests.filter((request) => request.idempotencyKey === key);

describe('delivery through the http provider', () => {
  it('posts JSON with the bearer token and idempotency key, marks the message SENT and writes the timeline', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const message = await queueTestMessage(api.deps, {
      customerId: customer.id,
      phone: customer.phone,
      body: 'Hi Ada',
    });
    const sent = await settled(message.id);
    const [request] = requestsFor(message.idempotencyKey);
    expect(request).toMatchObject({
      path: '/v1/sms',
      authorization: 'Bearer carrier-secret',
      to: customer.phone,
      body: 'Hi Ada',
      fields: { idempotencyKey: message.idempotencyKey, messageId: message.id },
    });
    expect(sent).toMatchObject({ attempts: 1, provider: 'http', lastError: null });
    expect(sent.providerMessageId).toBe(carrier.deliveries.get(message.idempotencyKey)?.id);
    expect(sent.sentAt).toBeInstanceOf(Date);
    const timeline = await api.deps.db.select().from(workLogs).where(eq(workLogs.customerId, customer.id));
    expect(timeline.map((entry) => [entry.eventType, entry.subject, entry.content])).toEqual([
      ['message.sent', 'SMS sent (message)', 'Hi Ada'],
    ]);
  });

  it('retries 5xx with backoff and sends once accepted (same idempotency key every time)', async () => {
    carrier.failNext(2, 503);
    const message = await queueTestMessage(api.deps);
    const sent = await settled(message.id);
    expect(sent.attempts).toBe(3);
    expect(requestsFor(message.idempotencyKey)).toHaveLength(3);
    const gaps = requestsFor(message.idempotencyKey).map((r, i, all) => (i ? r.at - (all[i - 1]?.at ?? 0) : 0));
    // 100 ms, then 200 ms (SMS_RETRY_DELAY doubled), give or take the worker's polling.
    expect(gaps[1]).toBeGreaterThanOrEqual(90);
    expect(gaps[2]).toBeGreaterThanOrEqual(190);
  });

  it('gives up after SMS_MAX_ATTEMPTS, FAILED with the last reason and a timeline entry', async () => {
    carrier.failNext(100, 500, { error: 'carrier on fire' });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const message = await queueTestMessage(api.deps, { customerId: customer.id, phone: customer.phone });
    const failed = await settled(message.id, 'FAILED');
    carrier.failNext(0);
    expect(failed).toMatchObject({ attempts: 3, lastError: 'gave up after 3 attempts: HTTP 500: carrier on fire' });
    expect(requestsFor(message.idempotencyKey)).toHaveLength(3);
    const timeline = await api.deps.db.select().from(workLogs).where(eq(workLogs.customerId, customer.id));
    expect(timeline.map((entry) => entry.eventType)).toEqual(['message.failed']);
  });

  it('takes a 4xx as final at once: FAILED with the carrier’s reason, one call', async () => {
    carrier.failNext(1, 400, { message: 'invalid destination number' });
    const message = await queueTestMessage(api.deps);
    const failed = await settled(message.id, 'FAILED');
    expect(failed).toMatchObject({ attempts: 1, lastError: 'HTTP 400: invalid destination number' });
    expect(requestsFor(message.idempotencyKey)).toHaveLength(1);
  });

  it('retries 429 (rate limited by the carrier)', async () => {
    carrier.failNext(1, 429);
    const message = await queueTestMessage(api.deps);
    expect((await settled(message.id)).attempts).toBe(2);
  });

  it('retries a carrier that answers too slowly; its idempotency key keeps the phone from getting it twice', async () => {
    let calls = 0;
    carrier.behave(() => (++calls === 1 ? { delayMs: 800 } : undefined));
    const message = await queueTestMessage(api.deps);
    const sent = await settled(message.id);
    expect(sent.attempts).toBe(2);
    await waitFor(() => carrier.accepted.get(message.idempotencyKey) === 2, { what: 'the slow answer' });
    // Two calls reached the carrier and both were accepted, but it delivered one message.
    expect(requestsFor(message.idempotencyKey)).toHaveLength(2);
    expect(carrier.deliveries.get(message.idempotencyKey)).toBeDefined();
    expect(sent.providerMessageId).toBe(carrier.deliveries.get(message.idempotencyKey)?.id);
  });

  it('retries when the carrier hangs up without answering', async () => {
    let calls = 0;
    carrier.behave(() => (++calls === 1 ? { destroy: true } : undefined));
    const message = await queueTestMessage(api.deps);
    const sent = await settled(message.id);
    expect(sent.attempts).toBe(2);
  });
});

describe('opt-out', () => {
  it('skips messages to a customer who opted out after they were queued, with the reason; never calls the carrier', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { smsOptIn: false });
    const marketing = await queueTestMessage(api.deps, {
      customerId: customer.id,
      phone: customer.phone,
      type: 'CAMPAIGN',
    });
    const manual = await queueTestMessage(api.deps, { customerId: customer.id, phone: customer.phone, type: 'MANUAL' });
    const skipped = await settled(marketing.id, 'SKIPPED');
    expect(skipped).toMatchObject({ lastError: 'customer opted out of marketing SMS', attempts: 0 });
    expect(requestsFor(marketing.idempotencyKey)).toHaveLength(0);
    // A message a person wrote is not marketing, but a customer who withdrew consent gets none.
    expect(await settled(manual.id, 'SKIPPED')).toMatchObject({ lastError: 'customer withdrew consent to SMS' });
    expect(requestsFor(manual.idempotencyKey)).toHaveLength(0);
  });
});

describe('the welcome message (a reaction of the one record of what happened)', () => {
  async function createCustomerWithEvent(status: 'CUSTOMER' | 'LEAD', options: { thenFail?: boolean } = {}) {
    const phone = uniquePhone();
    const id = await api.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(customers)
        .values({ firstName: 'Wendy', lastName: 'Welcome', phone, ownerId: team.rep.id, status })
        .returning();
      const created = row as typeof customers.$inferSelect;
      await recordEvent(
        { tx, jobs: api.deps.jobs },
        {
          type: 'customer.created',
          entityType: 'customer',
          entityId: created.id,
          customerId: created.id,
          actor: jobActor('test'),
          data: { id: created.id, status },
        },
      );
      if (options.thenFail) throw new Error('something later in the transaction failed');
      return created.id;
    });
    return { id, phone };
  }

  it('sends the WELCOME template to a customer created as CUSTOMER, within seconds, once ever', async () => {
    const { id, phone } = await createCustomerWithEvent('CUSTOMER');
    const [message] = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.customerId, id));
    expect(message).toMatchObject({ type: 'WELCOME', idempotencyKey: `welcome:${id}` });
    await settled(message?.id as string);
    expect(carrier.requests.filter((r) => r.to === phone).map((r) => r.body)).toEqual([
      'Welcome, Wendy! Thank you for choosing us.',
    ]);
    const [customer] = await api.deps.db.select().from(customers).where(eq(customers.id, id));
    expect(customer?.welcomedAt).toBeInstanceOf(Date);

    // Any later CUSTOMER event (an edit, a status change back and forth) welcomes nobody again.
    await api.deps.db.transaction((tx) =>
      recordEvent(
        { tx, jobs: api.deps.jobs },
        {
          type: 'customer.status_changed',
          entityType: 'customer',
          entityId: id,
          customerId: id,
          actor: jobActor('test'),
          data: { id, status: 'CUSTOMER' },
          changes: { status: { before: 'INACTIVE', after: 'CUSTOMER' } },
        },
      ),
    );
    const welcomes = await api.deps.db
      .select()
      .from(messageQueue)
      .where(and(eq(messageQueue.customerId, id), eq(messageQueue.type, 'WELCOME')));
    expect(welcomes).toHaveLength(1);
  });

  it('welcomes a LEAD on the first transition to CUSTOMER (through the REST API)', async () => {
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Lena', lastName: 'Lead', phone: uniquePhone() },
    });
    expect(created.status).toBe(201);
    expect(await api.deps.db.select().from(messageQueue).where(eq(messageQueue.customerId, created.body.id))).toEqual(
      [],
    );
    const updated = await api.rest('PUT', `/customers/${created.body.id}`, {
      token: team.rep.token,
      body: { status: 'CUSTOMER' },
    });
    expect(updated.status).toBe(200);
    const [welcome] = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.customerId, created.body.id));
    expect(welcome?.body).toBe('Welcome, Lena! Thank you for choosing us.');
    await settled(welcome?.id as string);
  });

  it('sends nothing when the customer creation rolls back: no message row, no job, no carrier call', async () => {
    const jobsBefore = await api.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from pgboss.job where name = 'sms.send'`,
    );
    let phone = '';
    await expect(
      (async () => {
        const result = await createCustomerWithEvent('CUSTOMER', { thenFail: true });
        phone = result.phone;
      })(),
    ).rejects.toThrow('something later in the transaction failed');
    const jobsAfter = await api.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from pgboss.job where name = 'sms.send'`,
    );
    expect(jobsAfter[0]?.n).toBe(jobsBefore[0]?.n);
    expect(
      await api.deps.db
        .select()
        .from(messageQueue)
        .where(eq(messageQueue.body, 'Welcome, Wendy! Thank you for choosing us.')),
    ).toHaveLength(1); // only the committed customer's, from the first test
    // A message queued afterwards goes through; the rolled-back one never does.
    const sentinel = await queueTestMessage(api.deps);
    await settled(sentinel.id);
    expect(carrier.requests.filter((r) => r.to === phone && phone !== '')).toHaveLength(0);
  });
});

describe('two workers at once', () => {
  it('deliver a burst with every message sent exactly once', async () => {
    const second = await startTestWorker(api, {
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: `${carrier.url}/v1/sms`,
      SMS_HTTP_TOKEN: 'carrier-secret',
    });
    try {
      const before = carrier.requests.length;
      const ids = await api.deps.db.transaction(async (tx) => {
        const rows = await tx
          .insert(messageQueue)
          .values(
            Array.from({ length: 300 }, (_, i) => ({
              phone: uniquePhone(),
              body: `burst ${i}`,
              type: 'MANUAL' as const,
              idempotencyKey: `burst:${i}:${Date.now()}`,
            })),
          )
          .returning({ id: messageQueue.id });
        // Small jobs, so both workers get some.
        const { enqueueDelivery } = await import('@touch-crm/services');
        await enqueueDelivery(
          api.deps.jobs,
          tx,
          rows.map((row) => row.id),
          { batchSize: 20 },
        );
        return rows.map((row) => row.id);
      });
      await waitFor(
        async () => {
          const rows = await api.deps.db
            .select({ n: sql<number>`count(*)::int` })
            .from(messageQueue)
            .where(and(inArray(messageQueue.id, ids), eq(messageQueue.status, 'SENT')));
          return rows[0]?.n === 300;
        },
        { what: '300 messages sent', timeoutMs: 20_000 },
      );
      const burst = carrier.requests.slice(before).filter((r) => r.body?.startsWith('burst '));
      expect(new Set(burst.map((r) => r.idempotencyKey)).size).toBe(300);
      // One call per attempt: a second call only for a retry (a call that timed out on a loaded machine).
      const rows = await api.deps.db
        .select({ key: messageQueue.idempotencyKey, attempts: messageQueue.attempts })
        .from(messageQueue)
        .where(inArray(messageQueue.id, ids));
      for (const row of rows) expect(burst.filter((r) => r.idempotencyKey === row.key)).toHaveLength(row.attempts);
    } finally {
      await second.stop();
    }
  });
});

describe('the worker’s send slots (SMS_CONCURRENCY), shared by its delivery loops', () => {
  it('bounds the carrier calls of two runs together', async () => {
    // No jobs: only the two runs below claim them, not this file's worker.
    const ids = async (body: string) => {
      const rows = await api.deps.db
        .insert(messageQueue)
        .values(
          Array.from({ length: 12 }, (_, i) => ({
            phone: uniquePhone(),
            body: `${body} ${i}`,
            type: 'MANUAL' as const,
            idempotencyKey: `${body}:${i}:${Date.now()}`,
          })),
        )
        .returning({ id: messageQueue.id });
      return rows.map((row) => row.id);
    };
    const [first, second] = [await ids('slots a'), await ids('slots b')];
    let inFlight = 0;
    let most = 0;
    const provider: SmsProvider = {
      name: 'slots-test',
      send: async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        // Answers on a later turn, so the calls of both runs overlap.
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        return { status: 'sent', providerMessageId: null };
      },
    };
    const slots = createSendSlots(3);
    const reports = await Promise.all([
      deliverMessages(api.deps, provider, { messageIds: first, slots }),
      deliverMessages(api.deps, provider, { messageIds: second, slots }),
    ]);
    expect(reports.map((report) => report.sent)).toEqual([12, 12]);
    expect(most).toBe(3);
  });
});
