import { schema } from '@touch-crm/db';
import {
  countedMarketingSql,
  deliverMessages,
  previewCampaign,
  type ServiceDeps,
  type SmsProvider,
} from '@touch-crm/services';
import {
  createTeam,
  insertCustomer,
  insertSentMarketing,
  startTestApi,
  type TestApi,
  unique,
  waitFor,
} from '@touch-crm/test-utils';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueTestMessage } from './support.ts';

const { messageQueue, campaigns } = schema;
const HOUR = 3_600_000;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  // The default cap (3 a day); quiet hours off unless a test sets them.
  api = await startTestApi({ env: { SMS_QUIET_HOURS: 'off' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

/** A carrier that accepts everything and remembers whom it texted. */
function recordingCarrier() {
  const sent: string[] = [];
  const provider: SmsProvider = {
    name: 'test',
    send: async (sms) => {
      sent.push(sms.messageId);
      return { status: 'sent', providerMessageId: null };
    },
  };
  return { provider, sent };
}

const at = (now: Date, config: Partial<ServiceDeps['config']> = {}): ServiceDeps => ({
  ...api.deps,
  now: () => now,
  config: { ...api.deps.config, ...config },
});

/** Marketing already handed to the carrier at each of `times`. */
const alreadySent = (customer: { id: string; phone: string }, times: Date[]) =>
  insertSentMarketing(api.deps, customer, times);

const queueMarketing = (customer: { id: string; phone: string }, due: Date, type: 'CAMPAIGN' | 'MANUAL' = 'CAMPAIGN') =>
  queueTestMessage(api.deps, { customerId: customer.id, phone: customer.phone, type, scheduledFor: due });

const rowsOf = (ids: string[]) => api.deps.db.select().from(messageQueue).where(inArray(messageQueue.id, ids));

describe('the daily frequency cap', () => {
  it('holds a customer’s fourth marketing message in 24 h until the oldest leaves the window, and sends it then', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const now = new Date('2026-05-04T12:00:00Z');
    await alreadySent(
      customer,
      [-20, -10, -1].map((hours) => new Date(now.getTime() + hours * HOUR)),
    );
    const message = await queueMarketing(customer, now);
    const welcome = await queueMarketing(customer, now, 'MANUAL');
    const carrier = recordingCarrier();

    const first = await deliverMessages(at(now), carrier.provider, { messageIds: [message.id, welcome.id] });
    expect(first).toMatchObject({ sent: 1, deferred: 1 });
    // A message a person wrote is not marketing: the cap does not hold it.
    expect(carrier.sent).toEqual([welcome.id]);
    const [held] = await rowsOf([message.id]);
    expect(held).toMatchObject({ status: 'QUEUED', scheduledFor: new Date(now.getTime() + 4 * HOUR) });

    // Once the oldest is 24 h old, it goes.
    const due = new Date(now.getTime() + 4 * HOUR);
    expect(await deliverMessages(at(due), carrier.provider, { messageIds: [message.id] })).toMatchObject({ sent: 1 });
    expect(carrier.sent).toEqual([welcome.id, message.id]);
  });

  it('counts the messages one claim sends: of four due at once, three go and the fourth waits 24 h', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const now = new Date('2026-05-05T12:00:00Z');
    const messages = [];
    for (let i = 0; i < 4; i++) messages.push(await queueMarketing(customer, new Date(now.getTime() - (4 - i) * 1000)));
    const carrier = recordingCarrier();
    const report = await deliverMessages(at(now), carrier.provider, { messageIds: messages.map((m) => m.id) });
    expect(report).toMatchObject({ sent: 3, deferred: 1 });
    expect(carrier.sent).toEqual(messages.slice(0, 3).map((m) => m.id));
    const [fourth] = await rowsOf([messages[3]?.id ?? '']);
    expect(fourth).toMatchObject({ status: 'QUEUED', scheduledFor: new Date(now.getTime() + 24 * HOUR) });
  });

  it('holds a deferred message until the end of quiet hours where the customer lives', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { timeZone: 'Asia/Tokyo' });
    // 10:00 UTC is 19:00 in Tokyo; the oldest of three leaves the window at 14:00 UTC, 23:00 there.
    const now = new Date('2026-05-06T10:00:00Z');
    await alreadySent(
      customer,
      [-20, -2, -1].map((hours) => new Date(now.getTime() + hours * HOUR)),
    );
    const message = await queueMarketing(customer, now);
    const deps = at(now, { SMS_QUIET_HOURS: { start: 21 * 60, end: 8 * 60 } });
    await deliverMessages(deps, recordingCarrier().provider, { messageIds: [message.id] });
    const [held] = await rowsOf([message.id]);
    // 08:00 in Tokyo the next morning.
    expect(held?.scheduledFor).toEqual(new Date('2026-05-06T23:00:00Z'));
  });

  it('never drops a held message: cancelling its campaign cancels it with the reason', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const [campaign] = await api.deps.db
      .insert(campaigns)
      .values({ name: unique('Capped'), message: 'News', status: 'RUNNING' })
      .returning();
    const now = new Date();
    await alreadySent(
      customer,
      [-3, -2, -1].map((hours) => new Date(now.getTime() + hours * HOUR)),
    );
    const message = await queueTestMessage(api.deps, {
      customerId: customer.id,
      phone: customer.phone,
      type: 'CAMPAIGN',
      campaignId: campaign?.id,
    });
    await deliverMessages(at(now), recordingCarrier().provider, { messageIds: [message.id] });
    expect((await rowsOf([message.id]))[0]?.status).toBe('QUEUED');
    const cancel = await api.rest('POST', `/campaigns/${campaign?.id}/cancel`, {
      token: team.manager.token,
      body: {},
    });
    expect(cancel.status, cancel.text).toBe(200);
    expect((await rowsOf([message.id]))[0]).toMatchObject({ status: 'CANCELLED', lastError: 'campaign cancelled' });
  });
});

describe('the weekly frequency cap', () => {
  it('holds the next marketing message once SMS_MARKETING_MAX_PER_WEEK went out in 7 days, whatever the day', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    const now = new Date('2026-05-10T12:00:00Z');
    await alreadySent(
      customer,
      [-150, -100, -50, -30].map((hours) => new Date(now.getTime() + hours * HOUR)),
    );
    const message = await queueMarketing(customer, now);
    const report = await deliverMessages(at(now, { SMS_MARKETING_MAX_PER_WEEK: 4 }), recordingCarrier().provider, {
      messageIds: [message.id],
    });
    expect(report).toMatchObject({ sent: 0, deferred: 1 });
    const [held] = await rowsOf([message.id]);
    // Held by the weekly cap alone (none in the last 24 h): until the oldest is 7 days old.
    expect(held?.scheduledFor).toEqual(new Date(now.getTime() + (168 - 150) * HOUR));
  });
});

describe('two workers claiming for the same customer at once', () => {
  it('never exceed the cap between them: the second waits for the first claim to commit', async () => {
    const now = new Date('2026-05-12T12:00:00Z');
    const customer = await insertCustomer(api.deps, team.rep.id);
    const first = [await queueMarketing(customer, now), await queueMarketing(customer, now)];
    const second = [await queueMarketing(customer, now), await queueMarketing(customer, now)];
    // The first worker's claim stays uncommitted until released: its two messages are SENDING
    // but invisible to anyone else meanwhile.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding = false;
    const realDb = api.deps.db;
    const heldDb = new Proxy(realDb, {
      get(target, property, receiver) {
        if (property !== 'transaction') return Reflect.get(target, property, receiver);
        return (work: (tx: unknown) => Promise<unknown>) =>
          target.transaction(async (tx) => {
            const result = await work(tx);
            if (!holding) {
              holding = true;
              await released;
            }
            return result;
          });
      },
    });
    const slowWorker = deliverMessages({ ...at(now), db: heldDb }, recordingCarrier().provider, {
      messageIds: first.map((m) => m.id),
    });
    await waitFor(() => holding || undefined, { what: 'the first claim to be made' });
    let secondDone = false;
    const fastWorker = deliverMessages(at(now), recordingCarrier().provider, {
      messageIds: second.map((m) => m.id),
    }).finally(() => {
      secondDone = true;
    });
    // The second worker either finished (no lock: it could not see the first's claims) or waits on the customer's lock.
    await waitFor(
      async () => {
        if (secondDone) return true;
        const [waiting] = await realDb.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_locks
                where locktype = 'advisory' and not granted
                  and database = (select oid from pg_database where datname = current_database())`,
        );
        return (waiting?.n ?? 0) > 0 || undefined;
      },
      { what: 'the second worker to claim or to wait' },
    );
    release();
    await Promise.all([slowWorker, fastWorker]);
    const rows = await rowsOf([...first, ...second].map((m) => m.id));
    expect(rows.filter((row) => row.status === 'SENT')).toHaveLength(3);
    expect(rows.filter((row) => row.status === 'QUEUED')).toHaveLength(1);
  });
});

describe('what the cap costs', () => {
  it('counts a customer’s recent marketing through the partial index', async () => {
    // A customer with a long history of messages the cap does not count (queued, transactional).
    const customer = await insertCustomer(api.deps, team.rep.id);
    await api.deps.db.execute(sql`
      insert into message_queue (customer_id, phone, body, type, status, idempotency_key)
      select ${customer.id}::uuid, ${customer.phone}, 'Old', case when n % 2 = 0 then 'MANUAL' else 'CAMPAIGN' end::message_type,
             case when n % 2 = 0 then 'SENT' else 'SKIPPED' end::message_status, ${unique('history:')} || n
        from generate_series(1, 5000) n`);
    await api.deps.db.execute(sql`analyze message_queue`);
    const since = sql`now() - interval '24 hours'`;
    const plan = await api.deps.db.execute<{ 'QUERY PLAN': string }>(sql`
      explain select count(*) from message_queue s where s.customer_id = ${customer.id}::uuid and ${countedMarketingSql(since)}`);
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('message_queue_marketing_sent_idx');
  });
});

describe('the campaign preview', () => {
  it('counts the audience members the cap holds now', async () => {
    const { createUser } = await import('@touch-crm/test-utils');
    const owner = await createUser(api.deps, { role: 'Sales Representative' });
    const capped = await insertCustomer(api.deps, owner.id);
    const underCap = await insertCustomer(api.deps, owner.id);
    await alreadySent(
      capped,
      [-3, -2, -1].map((hours) => new Date(Date.now() + hours * HOUR)),
    );
    await alreadySent(
      underCap,
      [-2, -1].map((hours) => new Date(Date.now() + hours * HOUR)),
    );
    const [campaign] = await api.deps.db
      .insert(campaigns)
      .values({ name: unique('Preview'), message: 'News', audience: { ownerIds: [owner.id] } })
      .returning();
    const preview = await previewCampaign(api.deps, campaign?.id ?? '');
    expect(preview).toMatchObject({ audienceSize: 2, heldByCap: 1 });
  });
});

describe('configuration', () => {
  it('defaults to 3 a day and no weekly cap', () => {
    expect(api.deps.config.SMS_MARKETING_MAX_PER_DAY).toBe(3);
    expect(api.deps.config.SMS_MARKETING_MAX_PER_WEEK).toBeUndefined();
  });

  it('refuses a cap that is not a positive whole number, naming the variable', async () => {
    const { loadConfig } = await import('@touch-crm/config');
    expect(() => loadConfig({ SMS_MARKETING_MAX_PER_DAY: '0' })).toThrow(/SMS_MARKETING_MAX_PER_DAY/);
    expect(() => loadConfig({ SMS_MARKETING_MAX_PER_WEEK: 'many' })).toThrow(/SMS_MARKETING_MAX_PER_WEEK/);
    expect(loadConfig({ SMS_MARKETING_MAX_PER_WEEK: '10' }).SMS_MARKETING_MAX_PER_WEEK).toBe(10);
  });
});
