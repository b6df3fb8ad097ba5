import { schema } from '@touch-crm/db';
import { enqueueDelivery } from '@touch-crm/services';
import {
  type FakeCarrier,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { startTestWorker } from './support.ts';

const { messageQueue } = schema;

let api: TestApi;
let carrier: FakeCarrier;
let worker: RunningWorker;

beforeAll(async () => {
  api = await startTestApi();
  carrier = await startFakeCarrier();
  worker = await startTestWorker(api, {
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: `${carrier.url}/sms`,
    SMS_CONCURRENCY: '8',
    SMS_BATCH_SIZE: '50',
    // Per-message backoff alone would give up on no message here: the breaker must do the waiting.
    SMS_MAX_ATTEMPTS: '10',
  });
});
afterAll(async () => {
  await worker?.stop();
  await carrier?.close();
  await api?.close();
});

/**
 * How long the carrier answers 500: the 30 s of the operator's scenario by default (the file then
 * takes about 35 s); CARRIER_OUTAGE_MS shortens it for a quick local run.
 */
const OUTAGE_MS = Number(process.env.CARRIER_OUTAGE_MS ?? 30_000);
/** What the campaign may take beyond the outage: one cool-down (1 s here) and sending its 300 messages. */
const AFTER_OUTAGE_MS = 10_000;

describe(`a carrier answering 500 to everything for ${OUTAGE_MS / 1000} s`, () => {
  it(
    'is backed off as a whole (a few calls, not hundreds) and the campaign ends soon after it recovers',
    async () => {
      const size = 300;
      const outage = OUTAGE_MS;
      const started = Date.now();
      // From the first call on.
      let outageEnds = Number.POSITIVE_INFINITY;
      carrier.behave(() => {
        if (outageEnds === Number.POSITIVE_INFINITY) outageEnds = Date.now() + outage;
        return Date.now() < outageEnds ? { status: 500, body: { error: 'carrier down' } } : undefined;
      });
      const ids = await api.deps.db.transaction(async (tx) => {
        const rows = await tx
          .insert(messageQueue)
          .values(
            Array.from({ length: size }, (_, i) => ({
              phone: uniquePhone(),
              body: `outage ${i}`,
              type: 'CAMPAIGN' as const,
              idempotencyKey: `carrier-outage:${i}`,
            })),
          )
          .returning({ id: messageQueue.id });
        await enqueueDelivery(
          api.deps.jobs,
          tx,
          rows.map((row) => row.id),
          { batchSize: 50 },
        );
        return rows.map((row) => row.id);
      });

      await waitFor(
        async () => {
          const [row] = await api.deps.db
            .select({ n: sql<number>`count(*)::int` })
            .from(messageQueue)
            .where(and(inArray(messageQueue.id, ids), eq(messageQueue.status, 'SENT')));
          return row?.n === size;
        },
        { what: `${size} messages SENT`, timeoutMs: outage + 30_000, intervalMs: 50 },
      );
      const finished = Date.now();
      // The circuit's probes find the carrier back within about a second (cool-down at most 1 s here).
      const firstAccepted = carrier.requests.find((r) => r.at >= outageEnds);
      expect((firstAccepted?.at ?? finished) - outageEnds).toBeLessThan(1_500);
      // The outage adds little more than itself to the campaign.
      expect(finished - outageEnds).toBeLessThan(AFTER_OUTAGE_MS);
      const failing = carrier.requests.filter((r) => r.at < outageEnds);
      // The circuit opens after 10 failures in a row (plus the calls already in flight, 8 here); then
      // a probe per cool-down (100 ms doubling to 1 s): about one a second, not hundreds.
      expect(failing.length).toBeLessThan(30 + (1.5 * outage) / 1_000);
      expect(carrier.deliveries.size).toBe(size);
      // Retries and postponed claims share jobs: fewer than the failed calls (a retry job per failed
      // probe, the batches' own), not one per failed message; only one loop claims each probe.
      const [jobs] = await api.deps.db.execute<{ n: number }>(
        sql`select count(*)::int as n from pgboss.job where name = 'sms.send' and created_on >= ${new Date(started).toISOString()}::timestamptz`,
      );
      expect(jobs?.n).toBeLessThan(Math.max(30, failing.length));
    },
    OUTAGE_MS + 60_000,
  );
});
