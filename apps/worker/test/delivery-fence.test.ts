import { schema } from '@touch-crm/db';
import { enqueueDelivery, SKIPPED_REPLIED_STOP } from '@touch-crm/services';
import {
  createTeam,
  createUser,
  type FakeCarrier,
  insertCustomer,
  postHttpSmsCallback,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  unique,
  waitFor,
} from '@touch-crm/test-utils';
import { eq, gt, inArray } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { startTestWorker } from './support.ts';

// A worker claims a batch for fewer call slots than messages: the rest wait, claimed, for a slot.
// What happens to them meanwhile (STOP, cancel, recovery) must hold when their call would start.

const { messageQueue } = schema;
const SECRET = 'http-gateway-secret-for-tests';

let api: TestApi;
let carrier: FakeCarrier;
let team: Awaited<ReturnType<typeof createTeam>>;
let worker: RunningWorker | undefined;
beforeAll(async () => {
  api = await startTestApi({ env: { SMS_INBOUND_SECRET: SECRET, SMS_QUIET_HOURS: 'off' } });
  team = await createTeam(api.deps);
  carrier = await startFakeCarrier();
});
afterEach(async () => {
  // What a test left waiting (its STOP confirmations) goes now, not under the next test's worker.
  await waitFor(
    async () =>
      (
        await api.deps.db
          .select()
          .from(messageQueue)
          .where(inArray(messageQueue.status, ['QUEUED', 'SENDING']))
      ).length === 0,
    { what: 'nothing left to send' },
  ).catch(() => undefined);
  await worker?.stop();
  worker = undefined;
  carrier.behave(() => undefined);
});
afterAll(async () => {
  await carrier?.close();
  await api?.close();
});

/** One carrier slot, ten messages a claim: a claim of four has three waiting behind the first call. */
const startWorker = (options: { now?: () => Date; env?: Record<string, string> } = {}) =>
  startTestWorker(
    api,
    {
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: `${carrier.url}/sms`,
      SMS_HTTP_TIMEOUT: '20s',
      SMS_SENDING_LEASE: '30s',
      SMS_RECOVERY_INTERVAL: '200ms',
      SMS_CONCURRENCY: '1',
      SMS_BATCH_SIZE: '10',
      ...options.env,
    },
    options,
  );

/** The carrier holds its answer to the first call whose key starts with `prefix` until `release()`. */
function holdFirstCall(prefix: string) {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let first = true;
  carrier.behave((request) => {
    if (!first || !request.idempotencyKey?.startsWith(prefix)) return undefined;
    first = false;
    return { until: held };
  });
  return release;
}

const rowsOf = (ids: readonly string[]) => api.deps.db.select().from(messageQueue).where(inArray(messageQueue.id, ids));
const callsTo = (key: string) => carrier.requests.filter((request) => request.idempotencyKey === key).length;
const settled = (ids: readonly string[]) =>
  waitFor(
    async () => {
      const rows = await rowsOf(ids);
      return rows.every((row) => !['QUEUED', 'SENDING'].includes(row.status)) ? rows : undefined;
    },
    { what: 'the messages to settle', timeoutMs: 20_000 },
  );

/** Marketing messages to `count` new customers, with one delivery job: one claim takes them all. */
async function queuePromotions(prefix: string, count: number, first = 0) {
  const owner = await createUser(api.deps, { role: 'Sales Representative' });
  const customers: Awaited<ReturnType<typeof insertCustomer>>[] = [];
  for (let i = 0; i < count; i++) customers.push(await insertCustomer(api.deps, owner.id));
  return api.deps.db.transaction(async (tx) => {
    const rows = await tx
      .insert(messageQueue)
      .values(
        customers.map((customer, i) => ({
          customerId: customer.id,
          phone: customer.phone,
          body: 'Half price today',
          type: 'PROMOTION' as const,
          idempotencyKey: `${prefix}${first + i}`,
        })),
      )
      .returning();
    await enqueueDelivery(
      api.deps.jobs,
      tx,
      rows.map((row) => row.id),
      { batchSize: 10 },
    );
    return rows;
  });
}

/** Waits until the first call is at the carrier and the others are claimed behind it. */
const claimedBehindFirstCall = (ids: readonly string[]) =>
  waitFor(
    async () => {
      const rows = await rowsOf(ids);
      const keys = new Set(rows.map((row) => row.idempotencyKey));
      const calls = carrier.requests.filter((request) => keys.has(request.idempotencyKey ?? ''));
      const called = calls.length === 1 && calls[0]?.idempotencyKey;
      return called && rows.every((row) => row.status === 'SENDING') ? called : undefined;
    },
    { what: 'one call in flight and the rest claimed' },
  );

describe('a STOP reply for a message claimed but not yet called', () => {
  it('stops it: the message is SKIPPED and never reaches the carrier', async () => {
    const prefix = unique('promo:');
    const release = holdFirstCall(prefix);
    const messages = await queuePromotions(prefix, 4);
    worker = await startWorker();
    const inFlight = await claimedBehindFirstCall(messages.map((message) => message.id));
    const waiting = messages.filter((message) => message.idempotencyKey !== inFlight);
    expect(waiting).toHaveLength(3);

    for (const message of waiting) {
      const reply = await postHttpSmsCallback(`${api.url}/api/v1/sms/inbound/http`, SECRET, {
        id: unique('reply-'),
        from: message.phone,
        body: 'STOP',
      });
      expect(reply.status, reply.text).toBe(200);
    }
    release();

    const rows = await settled(messages.map((message) => message.id));
    for (const message of waiting) {
      expect(rows.find((row) => row.id === message.id)).toMatchObject({
        status: 'SKIPPED',
        lastError: SKIPPED_REPLIED_STOP,
      });
      expect(callsTo(message.idempotencyKey), 'the promotion was called').toBe(0);
    }
    expect(rows.find((row) => row.idempotencyKey === inFlight)?.status).toBe('SENT');
  });
});

describe('cancelling a campaign whose messages are claimed but not yet called', () => {
  it('cancels them: CANCELLED, and none reaches the carrier', async () => {
    const release = holdFirstCall('campaign:');
    const owner = await createUser(api.deps, { role: 'Sales Representative' });
    for (let i = 0; i < 4; i++) await insertCustomer(api.deps, owner.id);
    const created = await api.rest('POST', '/campaigns', {
      token: team.manager.token,
      body: { name: unique('Flash sale'), message: 'Flash sale, {{firstName}}', audience: { ownerIds: [owner.id] } },
    });
    expect(created.status, created.text).toBe(201);
    const campaignId = created.body.id as string;
    const executed = await api.rest('POST', `/campaigns/${campaignId}/execute`, {
      token: team.manager.token,
      body: {},
    });
    expect(executed.status, executed.text).toBe(200);
    const messages = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.campaignId, campaignId));
    const ids = messages.map((message) => message.id);
    worker = await startWorker();
    const inFlight = await claimedBehindFirstCall(ids);

    const cancelled = await api.rest('POST', `/campaigns/${campaignId}/cancel`, {
      token: team.manager.token,
      body: {},
    });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', counts: { queued: 1, cancelled: 3 } });
    release();

    const rows = await settled(ids);
    for (const row of rows.filter((message) => message.idempotencyKey !== inFlight)) {
      expect(row).toMatchObject({ status: 'CANCELLED', lastError: 'campaign cancelled' });
      expect(callsTo(row.idempotencyKey), 'the cancelled message was called').toBe(0);
    }
    expect(rows.find((row) => row.idempotencyKey === inFlight)?.status).toBe('SENT');
  });
});

describe('the rate limit (SMS_RATE_PER_SECOND) with claims waiting for a slot', () => {
  it('counts call starts: however the claims bunched, no more than the limit start in any second', async () => {
    // The earlier tests' sends leave the window.
    await waitFor(
      async () =>
        (
          await api.deps.db
            .select()
            .from(messageQueue)
            .where(gt(messageQueue.scheduledFor, new Date(Date.now() - 1_000)))
        ).length === 0,
      { what: 'an empty rate window' },
    );
    const prefix = unique('promo:');
    const release = holdFirstCall(prefix);
    worker = await startWorker({ env: { SMS_RATE_PER_SECOND: '5', SMS_BATCH_SIZE: '5' } });
    // Two jobs of five: one loop claims five and holds the slot with the first call; the other
    // claims four or five more a second later, and they wait behind it with the first four:
    // released at once, the eight or nine would start together.
    const messages = [...(await queuePromotions(prefix, 5)), ...(await queuePromotions(prefix, 5, 5))];
    const ids = messages.map((message) => message.id);
    await waitFor(
      async () => {
        const rows = await rowsOf(ids);
        const called = carrier.requests.filter((request) => request.idempotencyKey?.startsWith(prefix));
        return called.length === 1 && rows.filter((row) => row.status === 'SENDING').length >= 9;
      },
      { what: 'both claims behind one held call' },
    );
    release();

    await settled(ids);
    const starts = carrier.requests
      .filter((request) => request.idempotencyKey?.startsWith(prefix))
      .map((request) => request.at)
      .sort((a, b) => a - b);
    expect(starts).toHaveLength(10);
    // Arrivals trail the starts by a little jitter: six within 900 ms would be over the limit.
    const busiest = Math.max(...starts.map((start, i) => starts.filter((t, j) => j >= i && t - start < 900).length));
    expect(busiest).toBeLessThanOrEqual(5);
  });
});

describe('a claim taken over by recovery while it waited for a slot', () => {
  it('is not called by the worker that lost it: each waiting message is called once, by the new claim', async () => {
    const prefix = unique('promo:');
    const release = holdFirstCall(prefix);
    // The worker's clock jumps past three leases while the first call is held: recovery takes the
    // claim as wedged and queues it again, as it would a paused worker's. (Last: its messages carry
    // claim times in the future, which the rate limit's window would count.)
    let skew = 0;
    worker = await startWorker({ now: () => new Date(Date.now() + skew) });
    const messages = await queuePromotions(prefix, 4);
    const ids = messages.map((message) => message.id);
    const inFlight = await claimedBehindFirstCall(ids);
    skew = 100_000;
    // Recovery re-queued the claim and the worker's other loop claimed it again (attempt 2).
    await waitFor(
      async () => {
        const rows = await rowsOf(ids);
        return rows.every((row) => row.status === 'SENDING' && row.attempts === 2);
      },
      { what: 'the claim to be taken over', timeoutMs: 10_000 },
    );
    release();

    const rows = await settled(ids);
    expect(rows.every((row) => row.status === 'SENT')).toBe(true);
    for (const message of messages.filter((message) => message.idempotencyKey !== inFlight))
      expect(callsTo(message.idempotencyKey), 'calls for a message waiting behind the held call').toBe(1);
  });
});
