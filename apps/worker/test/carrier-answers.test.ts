import { randomBytes } from 'node:crypto';
import { schema } from '@touch-crm/db';
import {
  cleanCarrierText,
  createSendSlots,
  deliverMessages,
  enqueueDelivery,
  providerMessageIdOf,
  type SmsProvider,
} from '@touch-crm/services';
import {
  type FakeCarrier,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  unique,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { startTestWorker } from './support.ts';

const { messageQueue } = schema;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

/** `count` MANUAL messages, with delivery jobs of `batchSize` when given (else none: only a direct run claims them). */
async function queueMessages(count: number, batchSize?: number) {
  return api.deps.db.transaction(async (tx) => {
    const rows = await tx
      .insert(messageQueue)
      .values(
        Array.from({ length: count }, (_, i) => ({
          phone: uniquePhone(),
          body: `carrier answers ${i}`,
          type: 'MANUAL' as const,
          idempotencyKey: unique(`carrier-answers:${i}:`),
        })),
      )
      .returning();
    if (batchSize)
      await enqueueDelivery(
        api.deps.jobs,
        tx,
        rows.map((row) => row.id),
        { batchSize },
      );
    return rows;
  });
}

const rowsOf = async (ids: readonly string[]) =>
  new Map(
    (await api.deps.db.select().from(messageQueue).where(inArray(messageQueue.id, ids))).map((row) => [row.id, row]),
  );

describe('an answer the database cannot store holds back no other message of its group', () => {
  it('writes the others; the bad one is retried or failed under the normal rules', async () => {
    const messages = await queueMessages(24);
    const [nul, longId] = messages as [(typeof messages)[0], (typeof messages)[0]];
    // A provider that passes the carrier's words through as they came (the real ones clean them).
    const provider: SmsProvider = {
      name: 'raw-test',
      send: async (sms) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (sms.messageId === nul.id) return { status: 'retry', error: 'HTTP 500: bad\u0000gateway' };
        // Random, so PostgreSQL cannot compress it below the index's limit.
        if (sms.messageId === longId.id)
          return { status: 'sent', providerMessageId: randomBytes(8_000).toString('hex') };
        return { status: 'sent', providerMessageId: `raw-${sms.messageId}` };
      },
    };
    const report = await deliverMessages(api.deps, provider, {
      messageIds: messages.map((m) => m.id),
      slots: createSendSlots(8),
    });
    expect(report).toMatchObject({ sent: 22, failed: 1, retrying: 1, postponed: 0 });
    const rows = await rowsOf(messages.map((m) => m.id));
    for (const message of messages.slice(2))
      expect(rows.get(message.id)).toMatchObject({ status: 'SENT', providerMessageId: `raw-${message.id}` });
    expect(rows.get(nul.id)).toMatchObject({
      status: 'QUEUED',
      attempts: 1,
      lastError: "the carrier's answer could not be stored (SQLSTATE 22P05)",
    });
    expect(rows.get(longId.id)).toMatchObject({
      status: 'FAILED',
      providerMessageId: null,
      lastError: "the carrier's answer could not be stored (SQLSTATE 54000); not retried: it may have sent the SMS",
    });
  });
});

describe('a carrier answer with text or an id we cannot keep, through the real worker and http provider', () => {
  let carrier: FakeCarrier;
  let worker: RunningWorker;
  beforeAll(async () => {
    carrier = await startFakeCarrier();
    worker = await startTestWorker(api, {
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: `${carrier.url}/v1/sms`,
      SMS_BATCH_SIZE: '20',
      SMS_CONCURRENCY: '8',
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await carrier?.close();
  });

  it('sends every other message once; cleans the error text; an invalid id FAILS the send, never "[object Object]"', async () => {
    const messages = await queueMessages(60, 20);
    const [nul, surrogate, longId, objectId] = messages as [
      (typeof messages)[0],
      (typeof messages)[0],
      (typeof messages)[0],
      (typeof messages)[0],
    ];
    const answers = new Map<string | undefined, { status: number; body: unknown }>([
      [nul.phone, { status: 500, body: { message: 'bad\u0000gateway' } }],
      [surrogate.phone, { status: 500, body: { message: 'bad\ud800gateway\u0007' } }],
      [longId.phone, { status: 200, body: { id: randomBytes(8_000).toString('hex') } }],
      [objectId.phone, { status: 200, body: { id: { nested: true } } }],
    ]);
    carrier.behave((request) => answers.get(request.to));
    const ids = messages.map((m) => m.id);
    const rows = await waitFor(
      async () => {
        const current = await rowsOf(ids);
        return [...current.values()].every((row) => row.status === 'SENT' || row.status === 'FAILED')
          ? current
          : undefined;
      },
      { what: 'every message final', timeoutMs: 20_000 },
    );
    const calls = (key: string) => carrier.requests.filter((r) => r.idempotencyKey === key).length;
    for (const message of messages.slice(4)) {
      expect(rows.get(message.id)).toMatchObject({ status: 'SENT', attempts: 1 });
      expect(calls(message.idempotencyKey)).toBe(1);
    }
    expect(rows.get(nul.id)).toMatchObject({
      status: 'FAILED',
      lastError: 'gave up after 3 attempts: HTTP 500: badgateway',
    });
    expect(rows.get(surrogate.id)).toMatchObject({
      status: 'FAILED',
      lastError: 'gave up after 3 attempts: HTTP 500: badgateway',
    });
    for (const message of [longId, objectId]) {
      expect(rows.get(message.id)).toMatchObject({
        status: 'FAILED',
        attempts: 1,
        providerMessageId: null,
        lastError: 'HTTP 200: the carrier answered an invalid message id (not retried: it may have sent the SMS)',
      });
      expect(calls(message.idempotencyKey)).toBe(1);
    }
  });
});

describe('cleaning what a carrier says', () => {
  it('drops NUL, control characters and unpaired surrogates, keeps pairs, line breaks and tabs, never cuts a pair', () => {
    expect(cleanCarrierText('STOP\u0000', 100)).toBe('STOP');
    expect(cleanCarrierText('a\ud800b\udc00c\u001b\u007f', 100)).toBe('abc');
    expect(cleanCarrierText('caf\u00e9 \ud83d\ude00\n\tok', 100)).toBe('caf\u00e9 \ud83d\ude00\n\tok');
    expect(cleanCarrierText(`${'a'.repeat(9)}\ud83d\ude00`, 10)).toBe('a'.repeat(9));
    const plain = 'HTTP 500: carrier on fire';
    expect(cleanCarrierText(plain, 300)).toBe(plain);
  });

  it('keeps a provider message id of up to 128 printable ASCII characters, or an integer; none for none', () => {
    expect(providerMessageIdOf('SM0123456789abcdef0123456789abcdef')).toBe('SM0123456789abcdef0123456789abcdef');
    expect(providerMessageIdOf(4711)).toBe('4711');
    for (const none of [undefined, null, '']) expect(providerMessageIdOf(none)).toBeNull();
    for (const invalid of [{ nested: true }, ['a'], true, 1.5, 'x'.repeat(129), 'a b', 'id\u0000', 'caf\u00e9'])
      expect(providerMessageIdOf(invalid)).toBe(false);
  });
});
