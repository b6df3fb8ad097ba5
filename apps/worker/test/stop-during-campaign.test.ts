import { schema } from '@touch-crm/db';
import { SKIPPED_REPLIED_STOP } from '@touch-crm/services';
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
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { startTestWorker } from './support.ts';

const { messageQueue } = schema;
const SECRET = 'http-gateway-secret-for-tests';
const HOUR = 3_600_000;

let api: TestApi;
let carrier: FakeCarrier;
let worker: RunningWorker;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi({ env: { SMS_INBOUND_SECRET: SECRET, SMS_QUIET_HOURS: 'off' } });
  team = await createTeam(api.deps);
  carrier = await startFakeCarrier();
  // A slow carrier: the campaign is still running when the reply comes in.
  carrier.behave(() => ({ delayMs: 100 }));
  worker = await startTestWorker(api, {
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: `${carrier.url}/sms`,
    SMS_HTTP_TIMEOUT: '5s',
    SMS_SENDING_LEASE: '10s',
    SMS_CONCURRENCY: '2',
    SMS_BATCH_SIZE: '5',
  });
});
afterAll(async () => {
  await worker?.stop();
  await carrier?.close();
  await api?.close();
});

const campaignMessages = (campaignId: string) =>
  api.deps.db
    .select()
    .from(messageQueue)
    .where(eq(messageQueue.campaignId, campaignId))
    .orderBy(desc(messageQueue.scheduledFor), desc(messageQueue.id));

describe('a customer who replies "Stop." while a campaign runs', () => {
  it('gets exactly one confirmation and nothing more from the campaign; a customer at the cap is held', async () => {
    const owner = await createUser(api.deps, { role: 'Sales Representative' });
    for (let i = 0; i < 30; i++) await insertCustomer(api.deps, owner.id, { lastName: unique('Crowd') });
    // This one already had three marketing texts in the last 24 hours.
    const capped = await insertCustomer(api.deps, owner.id, { lastName: unique('Capped') });
    const oldest = new Date(Date.now() - 20 * HOUR);
    for (const sentAt of [oldest, new Date(Date.now() - 2 * HOUR), new Date(Date.now() - HOUR)])
      await api.deps.db.insert(messageQueue).values({
        customerId: capped.id,
        phone: capped.phone,
        body: 'Earlier news',
        type: 'PROMOTION',
        status: 'SENT',
        scheduledFor: sentAt,
        sentAt,
        idempotencyKey: unique('earlier:'),
      });

    const created = await api.rest('POST', '/campaigns', {
      token: team.manager.token,
      body: {
        name: unique('Spring sale'),
        message: '{{firstName}}, spring sale today',
        audience: { ownerIds: [owner.id] },
      },
    });
    expect(created.status, created.text).toBe(201);
    const campaignId = created.body.id as string;
    const started = await api.rest('POST', `/campaigns/${campaignId}/execute`, { token: team.manager.token, body: {} });
    expect(started.status, started.text).toBe(200);
    const isCampaign = (key: string | undefined) => key?.startsWith(`campaign:${campaignId}:`);
    await waitFor(() => carrier.requests.some((request) => isCampaign(request.idempotencyKey)), {
      what: 'the campaign to reach the carrier',
    });

    // The customer whose message comes last replies while theirs is still waiting.
    const waiting = (await campaignMessages(campaignId)).find(
      (message) => message.status === 'QUEUED' && message.customerId !== capped.id,
    );
    expect(waiting, 'a message still waiting').toBeDefined();
    const stopper = waiting as typeof messageQueue.$inferSelect;
    const reply = await postHttpSmsCallback(`${api.url}/api/v1/sms/inbound/http`, SECRET, {
      id: unique('reply-'),
      from: stopper.phone,
      body: 'Stop.',
    });
    expect(reply.status, reply.text).toBe(200);

    // Everything settles but the capped customer's message, which waits for a free slot: when the
    // oldest of their three leaves the 24 h window.
    const settled = await waitFor(
      async () => {
        const messages = await campaignMessages(campaignId);
        const open = messages.filter((message) => ['QUEUED', 'SENDING'].includes(message.status));
        const held = open.length === 1 && open[0]?.customerId === capped.id && open[0];
        return held && held.scheduledFor.getTime() > Date.now() + HOUR ? messages : undefined;
      },
      { what: 'the campaign to settle', timeoutMs: 30_000 },
    );
    const confirmation = await waitFor(
      async () => {
        const [row] = await api.deps.db
          .select()
          .from(messageQueue)
          .where(
            and(
              eq(messageQueue.customerId, stopper.customerId as string),
              eq(messageQueue.type, 'OPT_OUT_CONFIRMATION'),
            ),
          )
          .orderBy(asc(messageQueue.createdAt));
        return row?.status === 'SENT' ? row : undefined;
      },
      { what: 'the opt-out confirmation' },
    );

    const mine = settled.find((message) => message.id === stopper.id);
    expect(mine).toMatchObject({ status: 'SKIPPED', lastError: SKIPPED_REPLIED_STOP, attempts: 0 });
    const toStopper = carrier.requests.filter((request) => request.to === stopper.phone);
    expect(toStopper.map((request) => request.idempotencyKey)).toEqual([confirmation.idempotencyKey]);
    expect(settled.filter((message) => message.status === 'SENT')).toHaveLength(29);

    const held = settled.find((message) => message.customerId === capped.id);
    expect(held).toMatchObject({ status: 'QUEUED', scheduledFor: new Date(oldest.getTime() + 24 * HOUR) });
    expect(carrier.requests.filter((request) => request.to === capped.phone)).toHaveLength(0);
    const detail = await api.rest('GET', `/campaigns/${campaignId}`, { token: team.manager.token });
    expect(detail.body).toMatchObject({ status: 'RUNNING', counts: { sent: 29, skipped: 1, queued: 1 } });

    // A second STOP confirms nothing more.
    await postHttpSmsCallback(`${api.url}/api/v1/sms/inbound/http`, SECRET, {
      id: unique('reply-'),
      from: stopper.phone,
      body: 'STOP',
    });
    const confirmations = await api.deps.db
      .select()
      .from(messageQueue)
      .where(inArray(messageQueue.type, ['OPT_OUT_CONFIRMATION']));
    expect(confirmations.filter((row) => row.customerId === stopper.customerId)).toHaveLength(1);
  });
});
