import { createCustomerInput } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { authenticate, createCustomer, createOrder, type ServiceDeps } from '@touch-crm/services';
import {
  createTeam,
  insertCustomer,
  insertProduct,
  LOCAL_WEBHOOK_RECEIVERS,
  startTestApi,
  type TestApi,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { queueTestMessage, startTestWorker } from './support.ts';
import {
  loadVerificationRecipe,
  startWebhookReceiver,
  type VerifyTouchWebhook,
  type WebhookReceiver,
} from './webhook-receiver.ts';

const { webhooks, webhookDeliveries, domainEvents } = schema;

let api: TestApi;
let worker: RunningWorker;
let receiver: WebhookReceiver;
let verify: VerifyTouchWebhook;
let team: Awaited<ReturnType<typeof createTeam>>;

// The receiver on 127.0.0.1 is allowed through WEBHOOK_ALLOWED_HOSTS; short timings keep
// retries and timeouts fast.
const WEBHOOK_ENV = {
  ...LOCAL_WEBHOOK_RECEIVERS,
  WEBHOOK_TIMEOUT: '500ms',
  WEBHOOK_RETRY_DELAY: '100ms',
  WEBHOOK_RETRY_MAX_DELAY: '400ms',
  WEBHOOK_MAX_ATTEMPTS: '4',
  WEBHOOK_RECOVERY_INTERVAL: '300ms',
};

beforeAll(async () => {
  api = await startTestApi({ env: WEBHOOK_ENV });
  team = await createTeam(api.deps);
  receiver = await startWebhookReceiver();
  verify = await loadVerificationRecipe();
  worker = await startTestWorker(api, WEBHOOK_ENV);
});
afterAll(async () => {
  await worker?.stop();
  await receiver?.close();
  await api?.close();
});

const admin = () => team.admin.token;
let paths = 0;
/** A subscription with its own receiver path. */
async function subscribe(events: string[] | '*', extra: Record<string, unknown> = {}) {
  const path = `/hook/${++paths}`;
  const response = await api.rest('POST', '/webhooks', {
    token: admin(),
    body: { url: receiver.url(path), events, ...extra },
  });
  expect(response.status).toBe(201);
  return { id: response.body.id as string, secret: response.body.secret as string, path };
}
const deliveriesOf = (webhookId: string) =>
  api.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, webhookId));
const settled = (webhookId: string, predicate: (row: typeof webhookDeliveries.$inferSelect) => boolean, what: string) =>
  waitFor(
    async () => {
      const rows = await deliveriesOf(webhookId);
      return rows.find(predicate);
    },
    { what, timeoutMs: 10_000 },
  );
/**
 * Every delivery of the hook has an outcome: whatever was queued for it has reached the receiver
 * (a delivery is recorded with its event, and SUCCEEDED only after the receiver answered).
 */
const quiet = (webhookId: string) =>
  waitFor(async () => (await deliveriesOf(webhookId)).every((row) => row.status !== 'PENDING'), {
    what: 'the deliveries to settle',
    timeoutMs: 10_000,
  });
const createCustomerOverRest = async () => {
  const response = await api.rest('POST', '/customers', {
    token: admin(),
    body: { firstName: 'Ada', lastName: 'Lovelace', phone: uniquePhone() },
  });
  expect(response.status).toBe(201);
  return response.body as { id: string };
};

describe('delivery', () => {
  it('POSTs a committed change, signed: the recipe in docs/webhooks.md verifies it and refuses a replay or a wrong secret', async () => {
    const hook = await subscribe('*');
    const customer = await createCustomerOverRest();
    const [request] = await waitFor(
      () => {
        const found = receiver.on(hook.path).filter((r) => r.body.type === 'customer.created');
        return found.length ? found : undefined;
      },
      { what: 'the customer.created delivery' },
    );
    if (!request) throw new Error('no request');
    const event = verify(hook.secret, request.raw, request.headers);
    expect(Object.keys(event).sort()).toEqual(['data', 'id', 'occurredAt', 'type']);
    expect(event).toMatchObject({ type: 'customer.created', data: { id: customer.id } });
    const [recorded] = await api.deps.db.select().from(domainEvents).where(eq(domainEvents.id, event.id));
    expect(recorded).toMatchObject({ type: 'customer.created', entityId: customer.id });
    expect(event.occurredAt).toBe(recorded?.occurredAt.toISOString());
    expect(event.data).toEqual(recorded?.data);
    expect(request.headers).toMatchObject({
      'touch-event-id': event.id,
      'touch-event-type': 'customer.created',
      'content-type': 'application/json',
    });
    expect(request.headers['touch-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(Math.abs(Number(request.headers['touch-timestamp']) - Date.now() / 1000)).toBeLessThan(10);

    // The recipe refuses a wrong secret, a changed body and a replay outside its five minutes.
    expect(() => verify('whsec_wrong', request.raw, request.headers)).toThrow(/signature/);
    const tampered = Buffer.from(request.raw.toString().replace('customer.created', 'customer.deleted'));
    expect(tampered.equals(request.raw)).toBe(false);
    expect(() => verify(hook.secret, tampered, request.headers)).toThrow(/signature/);
    expect(() => verify(hook.secret, request.raw, request.headers, Date.now() + 10 * 60_000)).toThrow(/stale/);

    const delivery = await settled(
      hook.id,
      (row) => row.eventId === event.id && row.status === 'SUCCEEDED',
      'SUCCEEDED',
    );
    expect(delivery).toMatchObject({ attempts: 1, responseStatus: 200, responseBody: 'ok', lastError: null });
    expect(request.headers['touch-delivery-id']).toBe(delivery.id);
    expect(delivery.durationMs).toBeGreaterThanOrEqual(0);
    const listed = await api.rest('GET', `/webhooks/${hook.id}/deliveries?eventType=customer.created`, {
      token: admin(),
    });
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id: delivery.id,
        eventId: event.id,
        status: 'SUCCEEDED',
        attempts: 1,
        responseStatus: 200,
        nextAttemptAt: null,
      }),
    ]);
  });

  it('sends a subscription for order.placed the order, and not the customer events', async () => {
    const hook = await subscribe(['order.placed']);
    const customer = await createCustomerOverRest();
    const updated = await api.rest('PUT', `/customers/${customer.id}`, {
      token: admin(),
      body: { firstName: 'Augusta' },
    });
    expect(updated.status).toBe(200);
    const product = await insertProduct(api.deps, { unitPrice: 2500 });
    const order = await api.rest('POST', '/orders', {
      token: admin(),
      body: { customerId: customer.id, items: [{ productId: product.id, quantity: 2 }] },
    });
    expect(order.status).toBe(201);
    await waitFor(() => receiver.on(hook.path).length > 0, { what: 'the order.placed delivery' });
    // Anything wrongly queued would be a delivery row too: wait until every one has arrived.
    await quiet(hook.id);
    const received = receiver.on(hook.path);
    expect(received.map((r) => r.body.type)).toEqual(['order.placed']);
    expect(received[0]?.body.data).toMatchObject({ id: order.body.id, customerId: customer.id });
    verify(hook.secret, received[0]?.raw as Buffer, received[0]?.headers ?? {});
    expect((await deliveriesOf(hook.id)).map((row) => row.eventType)).toEqual(['order.placed']);
  });

  it('retries 5xx with backoff: a receiver failing twice then succeeding gets exactly one success', async () => {
    const hook = await subscribe(['customer.created']);
    receiver.behave(hook.path, (_request, index) =>
      index < 2 ? { status: 503, body: 'down for maintenance' } : undefined,
    );
    const customer = await createCustomerOverRest();
    const delivery = await settled(hook.id, (row) => row.status === 'SUCCEEDED', 'the delivery to succeed');
    const requests = receiver.on(hook.path);
    expect(requests.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(new Set(requests.map((r) => r.body.id)).size).toBe(1);
    expect(requests.every((r) => r.body.data.id === customer.id)).toBe(true);
    for (const request of requests) verify(hook.secret, request.raw, request.headers);
    expect(delivery).toMatchObject({ attempts: 3, responseStatus: 200, lastError: null });
    // 100 ms then 200 ms, give or take the worker's polling.
    const gaps = requests.map((r, i) => (i ? r.at - (requests[i - 1]?.at ?? 0) : 0));
    expect(gaps[1]).toBeGreaterThanOrEqual(90);
    expect(gaps[2]).toBeGreaterThanOrEqual(190);
    const [row] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
    expect(row?.failingSince).toBeNull();
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS, and takes a 4xx (not 408/429) as final at once', async () => {
    const down = await subscribe(['customer.created']);
    receiver.behave(down.path, () => ({ status: 500, body: 'on fire' }));
    const gone = await subscribe(['customer.created']);
    receiver.behave(gone.path, () => ({ status: 410, body: 'unsubscribed' }));
    const limited = await subscribe(['customer.created']);
    receiver.behave(limited.path, (_r, index) => (index === 0 ? { status: 429 } : undefined));
    await createCustomerOverRest();
    const failed = await settled(down.id, (row) => row.status === 'FAILED', 'the 500 delivery to fail');
    expect(failed).toMatchObject({ attempts: 4, responseStatus: 500, nextAttemptAt: null });
    expect(failed.lastError).toBe('gave up after 4 attempts: HTTP 500: on fire');
    expect(receiver.on(down.path)).toHaveLength(4);
    const final = await settled(gone.id, (row) => row.status === 'FAILED', 'the 410 delivery to fail');
    expect(final).toMatchObject({ attempts: 1, responseStatus: 410, lastError: 'HTTP 410: unsubscribed' });
    expect(receiver.on(gone.path)).toHaveLength(1);
    await settled(limited.id, (row) => row.status === 'SUCCEEDED' && row.attempts === 2, 'the 429 to be retried');
    const [health] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, down.id));
    expect(health?.failingSince).toBeInstanceOf(Date);
    expect(health?.isActive).toBe(true);
  });

  it('times out a slow receiver (WEBHOOK_TIMEOUT) and retries it', async () => {
    const hook = await subscribe(['customer.created']);
    receiver.behave(hook.path, (_r, index) => (index === 0 ? { delayMs: 2_000 } : undefined));
    await createCustomerOverRest();
    const timedOut = await settled(hook.id, (row) => row.attempts >= 1 && row.lastError !== null, 'a timeout');
    expect(timedOut.lastError).toBe('timed out after 500 ms');
    expect(timedOut.responseStatus).toBeNull();
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(480);
    expect(timedOut.durationMs).toBeLessThan(3_000);
    const delivered = await settled(hook.id, (row) => row.status === 'SUCCEEDED', 'the retry to succeed');
    expect(delivered.attempts).toBe(2);
  });

  it('delivers nothing for a rolled-back order or customer', async () => {
    const hook = await subscribe('*');
    const user = await authenticate(api.deps, admin());
    const customer = await insertCustomer(api.deps, team.admin.id);
    const product = await insertProduct(api.deps);
    class RolledBack extends Error {}
    // The real service verbs, whose transaction is rolled back after they did everything.
    const rollingBack: ServiceDeps = {
      ...api.deps,
      db: new Proxy(api.deps.db, {
        get(target, property, receiverObject) {
          if (property !== 'transaction') return Reflect.get(target, property, receiverObject);
          return (fn: (tx: unknown) => Promise<unknown>) =>
            target.transaction(async (tx) => {
              await fn(tx);
              // Everything the verb wrote, its webhook deliveries included, is in this transaction.
              const [pending] = await tx.execute<{ n: number }>(
                sql`select count(*)::int as n from webhook_deliveries where webhook_id = ${hook.id}`,
              );
              expect(pending?.n).toBeGreaterThan(0);
              throw new RolledBack();
            });
        },
      }),
    };
    await expect(
      createOrder(
        rollingBack,
        { user, scope: { kind: 'all' } },
        { customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] },
      ),
    ).rejects.toBeInstanceOf(RolledBack);
    await expect(
      createCustomer(
        rollingBack,
        { user, scope: { kind: 'all' } },
        createCustomerInput.parse({ firstName: 'Never', lastName: 'Was', phone: uniquePhone() }),
      ),
    ).rejects.toBeInstanceOf(RolledBack);
    // A committed change afterwards arrives; the rolled-back ones never do.
    const committed = await createCustomerOverRest();
    await waitFor(() => receiver.on(hook.path).some((r) => r.body.data.id === committed.id), {
      what: 'the committed customer',
    });
    await quiet(hook.id);
    expect(receiver.on(hook.path).map((r) => r.body.type)).toEqual(['customer.created']);
    expect((await deliveriesOf(hook.id)).map((row) => row.eventType)).toEqual(['customer.created']);
    const orders = await api.deps.db.select().from(schema.orders).where(eq(schema.orders.customerId, customer.id));
    expect(orders).toEqual([]);
    const jobs = await api.deps.db.execute<{ n: number }>(sql`
      select count(*)::int as n from pgboss.job j
       where j.name = 'webhooks.deliver'
         and exists (select 1 from jsonb_array_elements_text(j.data->'deliveryIds') d(id)
                      where not exists (select 1 from webhook_deliveries w where w.id = d.id::uuid))`);
    expect(jobs[0]?.n).toBe(0);
  });

  it('delivers events recorded set-based in SQL (message.sent) through the recovery pass', async () => {
    const hook = await subscribe(['message.sent']);
    const customer = await insertCustomer(api.deps, team.admin.id);
    const message = await queueTestMessage(api.deps, { customerId: customer.id, phone: customer.phone });
    const [request] = await waitFor(
      () => {
        const found = receiver.on(hook.path);
        return found.length ? found : undefined;
      },
      { what: 'the message.sent delivery' },
    );
    const event = verify(hook.secret, request?.raw as Buffer, request?.headers ?? {});
    expect(event).toMatchObject({
      type: 'message.sent',
      data: { id: message.id, customerId: customer.id, status: 'SENT' },
    });
  });
});

describe('ping, redeliver and secrets', () => {
  it('pings, redelivers with the same event id, and signs with the rotated secret', async () => {
    const hook = await subscribe(['customer.created']);
    const ping = await api.rest('POST', `/webhooks/${hook.id}/ping`, { token: admin(), body: {} });
    expect(ping.status).toBe(202);
    await settled(hook.id, (row) => row.id === ping.body.id && row.status === 'SUCCEEDED', 'the ping');
    const [pinged] = receiver.on(hook.path);
    expect(verify(hook.secret, pinged?.raw as Buffer, pinged?.headers ?? {})).toMatchObject({
      id: ping.body.id,
      type: 'ping',
      data: { webhookId: hook.id },
    });
    expect(pinged?.headers['touch-event-type']).toBe('ping');

    await createCustomerOverRest();
    const first = await settled(
      hook.id,
      (row) => row.eventType === 'customer.created' && row.status === 'SUCCEEDED',
      'the event',
    );
    const rotated = await api.rest('POST', `/webhooks/${hook.id}/rotate-secret`, { token: admin(), body: {} });
    expect(rotated.status).toBe(200);
    const redeliver = await api.rest('POST', `/webhooks/${hook.id}/deliveries/${first.id}/redeliver`, {
      token: admin(),
      body: {},
    });
    expect(redeliver.status).toBe(202);
    expect(redeliver.body).toMatchObject({ id: first.id, status: 'PENDING', attempts: 0 });
    await waitFor(() => receiver.on(hook.path).filter((r) => r.body.id === first.eventId).length === 2, {
      what: 'the redelivery',
    });
    const [original, again] = receiver.on(hook.path).filter((r) => r.body.id === first.eventId);
    // At least once: the same event (id, occurredAt, data), now signed with the new secret only.
    expect(again?.raw.equals(original?.raw as Buffer)).toBe(true);
    expect(verify(rotated.body.secret, again?.raw as Buffer, again?.headers ?? {}).id).toBe(first.eventId);
    expect(() => verify(hook.secret, again?.raw as Buffer, again?.headers ?? {})).toThrow(/signature/);
    expect(() => verify(rotated.body.secret, original?.raw as Buffer, original?.headers ?? {})).toThrow(/signature/);
    const done = await settled(hook.id, (row) => row.id === first.id && row.status === 'SUCCEEDED', 'redelivered');
    expect(done.attempts).toBe(1);
  });
});

describe('safety and health', () => {
  it('refuses at delivery time an address that became internal, without calling it', async () => {
    // Saved when allowed (or re-pointed by DNS since): the delivery-time check still refuses.
    const rows = await api.deps.db
      .insert(webhooks)
      .values([
        { url: 'http://169.254.169.254/latest/meta-data/', events: ['ping'], secret: 'whsec_test' },
        { url: 'http://127.0.0.2:9/hook', events: ['ping'], secret: 'whsec_test' },
        { url: 'http://[::1]:9/hook', events: ['ping'], secret: 'whsec_test' },
      ])
      .returning({ id: webhooks.id });
    const ids = rows.map((row) => row.id);
    for (const id of ids) await api.rest('POST', `/webhooks/${id}/ping`, { token: admin(), body: {} });
    const reasons = new Map<string, string>();
    for (const id of ids) {
      const failed = await settled(id, (d) => d.status === 'FAILED', 'the refusal');
      expect(failed).toMatchObject({ attempts: 1, responseStatus: null });
      reasons.set(id, failed.lastError as string);
    }
    expect([...reasons.values()].sort()).toEqual([
      'refused: 127.0.0.2 is a loopback address',
      'refused: 169.254.169.254 is a metadata address',
      'refused: ::1 is a loopback address',
    ]);
    await api.deps.db.delete(webhooks).where(inArray(webhooks.id, ids));
  });

  it('disables a subscription failing for WEBHOOK_DISABLE_AFTER without a success, and says why', async () => {
    const hook = await subscribe(['customer.created']);
    receiver.behave(hook.path, () => ({ status: 502, body: 'bad gateway' }));
    await api.deps.db
      .update(webhooks)
      .set({ failingSince: new Date(Date.now() - 25 * 3_600_000) })
      .where(eq(webhooks.id, hook.id));
    await createCustomerOverRest();
    const disabled = await waitFor(
      async () => {
        const [row] = await api.deps.db.select().from(webhooks).where(eq(webhooks.id, hook.id));
        return row?.isActive === false ? row : undefined;
      },
      { what: 'the subscription to be disabled' },
    );
    expect(disabled.disabledAt).toBeInstanceOf(Date);
    expect(disabled.disabledReason).toMatch(
      /^deliveries failed for 24h without a success \(failing since .*\); last error: HTTP 502: bad gateway$/,
    );
    const read = await api.rest('GET', `/webhooks/${hook.id}`, { token: admin() });
    expect(read.body).toMatchObject({ isActive: false, disabledReason: disabled.disabledReason });
    const [event] = await api.deps.db
      .select()
      .from(domainEvents)
      .where(and(eq(domainEvents.entityId, hook.id), eq(domainEvents.type, 'webhook.disabled')));
    expect(event).toMatchObject({ actorJob: 'webhooks.deliver', data: { id: hook.id, isActive: false } });
    // Its retry is not sent: FAILED when due.
    await settled(
      hook.id,
      (row) => row.status === 'FAILED' && (row.lastError ?? '').startsWith('not sent'),
      'the drop',
    );
    const sent = receiver.on(hook.path).length;
    // No new deliveries while disabled.
    await createCustomerOverRest();
    await quiet(hook.id);
    expect(receiver.on(hook.path)).toHaveLength(sent);
    expect((await deliveriesOf(hook.id)).filter((row) => row.eventType === 'customer.created')).toHaveLength(1);
    // Re-enabled, it is healthy again.
    const enabled = await api.rest('PUT', `/webhooks/${hook.id}`, { token: admin(), body: { isActive: true } });
    expect(enabled.body).toMatchObject({ isActive: true, disabledAt: null, disabledReason: null, failingSince: null });
  });
});
