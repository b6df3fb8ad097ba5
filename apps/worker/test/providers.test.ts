import { loadConfig } from '@touch-crm/config';
import { schema } from '@touch-crm/db';
import { deliverMessages, type OutgoingSms, type SendOutcome, type SmsProvider } from '@touch-crm/services';
import {
  createTeam,
  type FakeCarrier,
  insertCustomer,
  startFakeCarrier,
  startTestApi,
  type TestApi,
  testConfig,
  waitFor,
} from '@touch-crm/test-utils';
import { and, eq, inArray, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleSmsProvider, createSmsProvider, HttpClient, TwilioSmsProvider } from '../src/providers/index.ts';
import { FAST_WORKER_ENV, queueTestMessage, startTestWorker } from './support.ts';

const { messageQueue } = schema;

let api: TestApi;
let carrier: FakeCarrier;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi();
  carrier = await startFakeCarrier();
  team = await createTeam(api.deps);
});
afterAll(async () => {
  await carrier?.close();
  await api?.close();
});

const sms = (key: string): OutgoingSms => ({
  messageId: '7b0f3b7e-3a3c-4d6f-9d8e-2f1c0b9a8e7d',
  to: '+12025550123',
  body: 'Hello',
  idempotencyKey: key,
});

describe('the twilio provider', () => {
  const twilio = () =>
    new TwilioSmsProvider({
      baseUrl: `${carrier.url}/`,
      accountSid: 'AC0123',
      authToken: 'tok',
      from: '+12025550100',
      client: new HttpClient({ timeoutMs: 1000, maxSockets: 4 }),
    });

  it("speaks Twilio's Messages API: form POST to Accounts/{sid}/Messages.json with Basic auth; sid kept", async () => {
    const provider = twilio();
    const outcome = await provider.send(sms('tw-1'));
    await provider.close();
    const request = carrier.requests.find((r) => r.idempotencyKey === 'tw-1');
    expect(request).toMatchObject({
      path: '/2010-04-01/Accounts/AC0123/Messages.json',
      contentType: 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('AC0123:tok').toString('base64')}`,
      fields: { To: '+12025550123', Body: 'Hello', From: '+12025550100' },
    });
    expect(outcome).toEqual({ status: 'sent', providerMessageId: `SM${carrier.deliveries.get('tw-1')?.id}` });
  });

  it('maps Twilio errors: 400 final with its message and code, 429 and 5xx retried', async () => {
    const provider = twilio();
    carrier.failNext(1, 400, { code: 21211, message: "The 'To' number is not valid." });
    expect(await provider.send(sms('tw-2'))).toEqual({
      status: 'failed',
      error: "HTTP 400: The 'To' number is not valid. (Twilio error 21211)",
    });
    carrier.failNext(1, 429, { code: 20429, message: 'Too Many Requests' });
    expect((await provider.send(sms('tw-3'))).status).toBe('retry');
    carrier.failNext(1, 503);
    expect((await provider.send(sms('tw-4'))).status).toBe('retry');
    await provider.close();
  });

  it('uses a messaging service instead of a From number when configured', async () => {
    const provider = createSmsProvider(
      loadConfig({
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: 'AC9',
        TWILIO_AUTH_TOKEN: 't',
        TWILIO_MESSAGING_SERVICE_SID: 'MG1',
        TWILIO_BASE_URL: carrier.url,
      }),
      pino({ level: 'silent' }),
    );
    expect(provider.name).toBe('twilio');
    await provider.send(sms('tw-5'));
    await provider.close?.();
    expect(carrier.requests.find((r) => r.idempotencyKey === 'tw-5')?.fields).toMatchObject({
      MessagingServiceSid: 'MG1',
    });
  });
});

describe('configuration of providers', () => {
  it('names the missing setting for http and twilio', () => {
    expect(() => loadConfig({ SMS_PROVIDER: 'http' })).toThrow(/SMS_HTTP_URL/);
    expect(() => loadConfig({ SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: 'AC1' })).toThrow(/TWILIO_AUTH_TOKEN/);
    expect(() => loadConfig({ SMS_HTTP_TIMEOUT: '30s', SMS_SENDING_LEASE: '20s' })).toThrow(/SMS_SENDING_LEASE/);
    expect(() => loadConfig({ SMS_QUIET_HOURS: '9pm-8am' })).toThrow(/SMS_QUIET_HOURS/);
    expect(() => loadConfig({ CRON_RFM_SCORE: '0 0 2 * * *' })).toThrow(/CRON_RFM_SCORE/);
    expect(loadConfig({}).SMS_PROVIDER).toBe('console');
    expect(loadConfig({ SMS_QUIET_HOURS: 'off' }).SMS_QUIET_HOURS).toBeNull();
  });
});

describe('the console provider (the default)', () => {
  it('logs the SMS and reports it sent', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const outcome = await new ConsoleSmsProvider(log).send(sms('c-1'));
    expect(outcome).toEqual({ status: 'sent', providerMessageId: `console:${sms('c-1').messageId}` });
    expect(JSON.parse(lines[0] as string).sms).toEqual({ to: '+12025550123', body: 'Hello', idempotencyKey: 'c-1' });
  });
});

/** A provider that records calls and accepts everything. */
class RecordingProvider implements SmsProvider {
  readonly name = 'recording';
  readonly calls: OutgoingSms[] = [];
  async send(message: OutgoingSms): Promise<SendOutcome> {
    this.calls.push(message);
    return { status: 'sent', providerMessageId: null };
  }
}

describe('quiet hours (SMS_QUIET_HOURS in APP_TIMEZONE)', () => {
  it('defers marketing messages to the next allowed minute; WELCOME goes out at once', async () => {
    const config = testConfig({ ...FAST_WORKER_ENV, SMS_QUIET_HOURS: '21:00-08:00', APP_TIMEZONE: 'Europe/Berlin' });
    // 22:30 in Berlin (CET, UTC+1) on 10 January 2030.
    const now = new Date('2030-01-10T21:30:00Z');
    const deps = { ...api.deps, config, now: () => now };
    const customer = await insertCustomer(api.deps, team.rep.id);
    const marketing = await queueTestMessage(api.deps, {
      customerId: customer.id,
      type: 'BIRTHDAY',
      scheduledFor: new Date('2030-01-10T21:00:00Z'),
    });
    const welcome = await queueTestMessage(api.deps, {
      customerId: customer.id,
      type: 'WELCOME',
      scheduledFor: new Date('2030-01-10T21:00:00Z'),
    });
    const provider = new RecordingProvider();
    const report = await deliverMessages(deps, provider, { messageIds: [marketing.id, welcome.id] });
    expect(report).toMatchObject({ sent: 1, deferred: 1 });
    expect(provider.calls.map((call) => call.messageId)).toEqual([welcome.id]);
    const [deferred] = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.id, marketing.id));
    // 08:00 the next morning in Berlin.
    expect(deferred).toMatchObject({ status: 'QUEUED', attempts: 0 });
    expect(deferred?.scheduledFor.toISOString()).toBe('2030-01-11T07:00:00.000Z');
    // …with a delivery job that starts then.
    const jobs = await api.deps.db.execute<{ start_after: Date }>(
      sql`select start_after from pgboss.job where name = 'sms.send' and data->'messageIds' ? ${marketing.id} order by created_on desc limit 1`,
    );
    expect(new Date(jobs[0]?.start_after as Date).toISOString()).toBe('2030-01-11T07:00:00.000Z');

    // At 08:00 it goes.
    const morning = { ...deps, now: () => new Date('2030-01-11T07:00:00Z') };
    const later = await deliverMessages(morning, provider, { messageIds: [marketing.id] });
    expect(later.sent).toBe(1);
  });

  it('handles quiet hours that do not wrap midnight, and DST (next allowed minute in local time)', async () => {
    const { nextAllowedMinute, inQuietHours } = await import('@touch-crm/services');
    const lunch = { start: 12 * 60, end: 13 * 60 + 30 };
    expect(inQuietHours(new Date('2030-06-03T10:15:00Z'), lunch, 'Europe/Berlin')).toBe(true); // 12:15 CEST
    expect(nextAllowedMinute(new Date('2030-06-03T10:15:00Z'), lunch, 'Europe/Berlin').toISOString()).toBe(
      '2030-06-03T11:30:00.000Z',
    );
    // The night of 30–31 March 2030 moves Berlin from CET to CEST: 08:00 is 06:00 UTC.
    const night = { start: 21 * 60, end: 8 * 60 };
    expect(nextAllowedMinute(new Date('2030-03-30T22:00:00Z'), night, 'Europe/Berlin').toISOString()).toBe(
      '2030-03-31T06:00:00.000Z',
    );
    expect(inQuietHours(new Date('2030-03-31T06:00:00Z'), night, 'Europe/Berlin')).toBe(false);
  });
});

describe('the send rate limit (SMS_RATE_PER_SECOND), across workers', () => {
  it('never hands more than the limit to the carrier in any one-second window, with two workers', async () => {
    const env = {
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: `${carrier.url}/rate`,
      SMS_RATE_PER_SECOND: '25',
      SMS_BATCH_SIZE: '10',
    };
    const workers = [await startTestWorker(api, env), await startTestWorker(api, env)];
    try {
      const messages = [];
      for (let i = 0; i < 75; i++) messages.push(await queueTestMessage(api.deps, { body: `rate ${i}` }));
      const ids = messages.map((m) => m.id);
      await waitFor(
        async () => {
          const [row] = await api.deps.db
            .select({ n: sql<number>`count(*)::int` })
            .from(messageQueue)
            .where(and(inArray(messageQueue.id, ids), eq(messageQueue.status, 'SENT')));
          return row?.n === 75;
        },
        { timeoutMs: 15_000, what: '75 rate-limited messages' },
      );
      const busiest = (times: number[]) => {
        let most = 0;
        for (let i = 0; i < times.length; i++) {
          let j = i;
          while (j < times.length && (times[j] as number) - (times[i] as number) < 1000) j++;
          most = Math.max(most, j - i);
        }
        return most;
      };
      // When each message was handed to the carrier (its claim time): exactly within the limit.
      const claims = (
        await api.deps.db
          .select({ at: messageQueue.scheduledFor })
          .from(messageQueue)
          .where(inArray(messageQueue.id, ids))
      )
        .map((row) => row.at.getTime())
        .sort((a, b) => a - b);
      expect(busiest(claims)).toBeLessThanOrEqual(25);
      // Arrivals at the carrier: the same, give or take the jitter of a busy test machine.
      const arrivals = carrier.requests
        .filter((r) => r.path === '/rate')
        .map((r) => r.at)
        .sort((a, b) => a - b);
      expect(arrivals).toHaveLength(75);
      expect(busiest(arrivals)).toBeLessThanOrEqual(35);
      expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(1_900);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  });
});

describe('recovery', () => {
  it('queues again a message left SENDING by a dead worker once its lease expires, with the same key', async () => {
    const worker = await startTestWorker(api, { SMS_PROVIDER: 'http', SMS_HTTP_URL: `${carrier.url}/recover` });
    try {
      // As a worker that claimed it and died would leave it.
      const [row] = await api.deps.db
        .insert(messageQueue)
        .values({
          phone: '+12025550199',
          body: 'orphan',
          type: 'MANUAL',
          idempotencyKey: 'recover:1',
          status: 'SENDING',
          attempts: 1,
          scheduledFor: new Date(Date.now() - 5_000),
        })
        .returning();
      const sent = await waitFor(async () => {
        const [current] = await api.deps.db
          .select()
          .from(messageQueue)
          .where(eq(messageQueue.id, row?.id as string));
        return current?.status === 'SENT' ? current : undefined;
      });
      expect(sent.attempts).toBe(2);
      expect(carrier.requests.filter((r) => r.idempotencyKey === 'recover:1')).toHaveLength(1);
    } finally {
      await worker.stop();
    }
  });

  it('hands due messages that no job covers to a new job', async () => {
    const worker = await startTestWorker(api, { SMS_PROVIDER: 'http', SMS_HTTP_URL: `${carrier.url}/orphan` });
    try {
      const [row] = await api.deps.db
        .insert(messageQueue)
        .values({
          phone: '+12025550198',
          body: 'no job',
          type: 'MANUAL',
          idempotencyKey: 'orphan:1',
          scheduledFor: new Date(Date.now() - 60_000),
        })
        .returning();
      await waitFor(async () => {
        const [current] = await api.deps.db
          .select()
          .from(messageQueue)
          .where(eq(messageQueue.id, row?.id as string));
        return current?.status === 'SENT';
      });
    } finally {
      await worker.stop();
    }
  });
});
