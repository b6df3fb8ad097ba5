import { schema } from '@touch-crm/db';
import {
  queueBirthdayMessages,
  queueInactivityMessages,
  RFM_SEGMENT_GRID,
  type ServiceDeps,
  scoreRfm,
} from '@touch-crm/services';
import {
  createTeam,
  customerWithRfm,
  insertCustomer,
  insertPromotion,
  startTestApi,
  type TestApi,
} from '@touch-crm/test-utils';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const { auditLog, customers, messageQueue, orders, customerLevels, customerPromotions, workLogs, domainEvents } =
  schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  // Tokyo: no DST, and 9 hours ahead of UTC, so "today" differs from the UTC date at night.
  api = await startTestApi({ env: { APP_TIMEZONE: 'Asia/Tokyo' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

/** The services with a controlled clock. */
const at = (iso: string): ServiceDeps => ({ ...api.deps, now: () => new Date(iso) });

async function messagesOf(customerIds: string[], type: 'BIRTHDAY' | 'INACTIVITY') {
  return api.deps.db
    .select()
    .from(messageQueue)
    .where(and(inArray(messageQueue.customerId, customerIds), eq(messageQueue.type, type)));
}

/** sms.send jobs (pg-boss) that carry the given message id. */
async function deliveryJobsFor(messageId: string) {
  const rows = await api.deps.db.execute<{ n: number }>(
    sql`select count(*)::int as n from pgboss.job where name = 'sms.send' and data->'messageIds' ? ${messageId}`,
  );
  return rows[0]?.n ?? 0;
}

describe('birthday messages (daily 09:00 in APP_TIMEZONE)', () => {
  beforeEach(async () => {
    // Each test sees only its own customers' birthdays.
    await api.deps.db.update(customers).set({ birthday: null });
  });

  it('queues one message for each customer whose birthday is today in APP_TIMEZONE, with its delivery job', async () => {
    const today = await insertCustomer(api.deps, team.rep.id, { firstName: 'Hana', birthday: '1990-03-11' });
    const utcToday = await insertCustomer(api.deps, team.rep.id, { birthday: '1985-03-10' });
    const otherDay = await insertCustomer(api.deps, team.rep.id, { birthday: '1985-04-11' });
    // 2026-03-10 20:00 UTC is 2026-03-11 05:00 in Tokyo.
    const result = await queueBirthdayMessages(at('2026-03-10T20:00:00Z'), new Date('2026-03-10T20:00:00Z'));
    expect(result).toMatchObject({ date: '2026-03-11', queued: 1, skipped: 0 });
    const rows = await messagesOf([today.id, utcToday.id, otherDay.id], 'BIRTHDAY');
    expect(rows).toHaveLength(1);
    const [message] = rows;
    expect(message).toMatchObject({
      customerId: today.id,
      status: 'QUEUED',
      idempotencyKey: `birthday:${today.id}:2026`,
      body: 'Happy birthday, Hana! We have a little something waiting for you.',
      phone: today.phone,
    });
    // 05:00 is inside the default quiet hours (21:00–08:00): delivery waits for 08:00 Tokyo.
    expect(message?.scheduledFor.toISOString()).toBe('2026-03-10T23:00:00.000Z');
    expect(await deliveryJobsFor(message?.id as string)).toBe(1);
  });

  it('is once per customer per year: a second run and concurrent runs add nothing; next year sends again', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { birthday: '2000-07-01' });
    const nine = '2026-07-01T00:00:00Z'; // 09:00 Tokyo
    const runs = await Promise.all([
      queueBirthdayMessages(at(nine), new Date(nine)),
      queueBirthdayMessages(at(nine), new Date(nine)),
      queueBirthdayMessages(at(nine), new Date(nine)),
    ]);
    expect(runs.map((run) => run.queued).sort()).toEqual([0, 0, 1]);
    expect((await queueBirthdayMessages(at(nine), new Date('2026-07-01T05:00:00Z'))).queued).toBe(0);
    expect(await messagesOf([customer.id], 'BIRTHDAY')).toHaveLength(1);
    await queueBirthdayMessages(at(nine), new Date('2027-07-01T00:00:00Z'));
    const keys = (await messagesOf([customer.id], 'BIRTHDAY')).map((m) => m.idempotencyKey).sort();
    expect(keys).toEqual([`birthday:${customer.id}:2026`, `birthday:${customer.id}:2027`]);
  });

  it('greets 29 February birthdays on 28 February in other years, and on the 29th in leap years', async () => {
    const leapling = await insertCustomer(api.deps, team.rep.id, { birthday: '2004-02-29' });
    const feb28 = await insertCustomer(api.deps, team.rep.id, { birthday: '2001-02-28' });
    // 2027 is not a leap year: both on 28 February.
    await queueBirthdayMessages(at('2027-02-28T00:00:00Z'), new Date('2027-02-28T00:00:00Z'));
    expect((await messagesOf([leapling.id], 'BIRTHDAY')).map((m) => m.idempotencyKey)).toEqual([
      `birthday:${leapling.id}:2027`,
    ]);
    expect(await messagesOf([feb28.id], 'BIRTHDAY')).toHaveLength(1);
    // 2028 is: the leapling waits for the 29th.
    await queueBirthdayMessages(at('2028-02-28T00:00:00Z'), new Date('2028-02-28T00:00:00Z'));
    expect(await messagesOf([leapling.id], 'BIRTHDAY')).toHaveLength(1);
    await queueBirthdayMessages(at('2028-02-29T00:00:00Z'), new Date('2028-02-29T00:00:00Z'));
    expect((await messagesOf([leapling.id], 'BIRTHDAY')).map((m) => m.idempotencyKey).sort()).toEqual([
      `birthday:${leapling.id}:2027`,
      `birthday:${leapling.id}:2028`,
    ]);
  });

  it('writes opted-out customers SKIPPED with the reason and no job; deleted customers get nothing', async () => {
    const optedOut = await insertCustomer(api.deps, team.rep.id, { birthday: '1970-09-09', smsOptIn: false });
    const deleted = await insertCustomer(api.deps, team.rep.id, { birthday: '1970-09-09', deletedAt: new Date() });
    const result = await queueBirthdayMessages(at('2026-09-09T00:00:00Z'), new Date('2026-09-09T00:00:00Z'));
    expect(result).toMatchObject({ queued: 0, skipped: 1 });
    const [skipped] = await messagesOf([optedOut.id], 'BIRTHDAY');
    expect(skipped).toMatchObject({ status: 'SKIPPED', lastError: 'customer opted out of marketing SMS' });
    expect(await deliveryJobsFor(skipped?.id as string)).toBe(0);
    expect(await messagesOf([deleted.id], 'BIRTHDAY')).toHaveLength(0);
  });
});

describe('inactivity messages (Mondays 10:00)', () => {
  const now = '2026-06-01T01:00:00Z'; // Monday 10:00 Tokyo
  const daysAgo = (days: number) => new Date(new Date(now).getTime() - days * 86_400_000);

  it('queues for CUSTOMERs without an order for INACTIVITY_DAYS (90), once per cooldown (30 days)', async () => {
    const lapsed = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', lastOrderAt: daysAgo(100) });
    const recent = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', lastOrderAt: daysAgo(80) });
    const lead = await insertCustomer(api.deps, team.rep.id, { status: 'LEAD', lastOrderAt: daysAgo(200) });
    const neverOrderedOld = await insertCustomer(api.deps, team.rep.id, {
      status: 'CUSTOMER',
      createdAt: daysAgo(120),
    });
    const neverOrderedNew = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', createdAt: daysAgo(10) });
    const ids = [lapsed.id, recent.id, lead.id, neverOrderedOld.id, neverOrderedNew.id];

    const runs = await Promise.all([
      queueInactivityMessages(at(now), new Date(now)),
      queueInactivityMessages(at(now), new Date(now)),
    ]);
    expect(runs[0].date).toBe('2026-06-01');
    let rows = await messagesOf(ids, 'INACTIVITY');
    expect(rows.map((row) => row.customerId).sort()).toEqual([lapsed.id, neverOrderedOld.id].sort());
    expect(rows[0]?.body).toMatch(/^We miss you, /);

    // A week later: still in the cooldown.
    await queueInactivityMessages(at(now), daysAgo(-7));
    expect(await messagesOf(ids, 'INACTIVITY')).toHaveLength(2);
    // 31 days later: the cooldown has passed, and the customer who ordered 80 days ago is now lapsed too.
    await queueInactivityMessages(at(now), daysAgo(-31));
    rows = await messagesOf(ids, 'INACTIVITY');
    expect(rows.map((row) => row.customerId).sort()).toEqual(
      [lapsed.id, lapsed.id, neverOrderedOld.id, neverOrderedOld.id, recent.id].sort(),
    );
    expect(new Set(rows.map((row) => row.idempotencyKey)).size).toBe(5);
  });
});

describe('RFM scoring and levels (daily 02:00)', () => {
  const now = new Date('2026-05-01T17:00:00Z'); // 02:00 Tokyo
  const days = (n: number) => new Date(now.getTime() - n * 86_400_000);
  const ids: string[] = [];
  let levels: Record<string, string>;

  async function placeOrders(customerId: string, count: number, total: number, lastDaysAgo: number) {
    await api.deps.db.insert(orders).values(
      Array.from({ length: count }, (_, k) => ({
        customerId,
        status: 'PAID' as const,
        currency: 'USD',
        subtotal: total,
        total,
        createdAt: days(lastDaysAgo + k * 3),
      })),
    );
  }

  beforeAll(async () => {
    levels = Object.fromEntries(
      (await api.deps.db.select().from(customerLevels)).map((level) => [level.name, level.id]),
    );
    // Ten customers: the i-th has i orders of i × 10.00, the last i days less ago than the first's.
    for (let i = 1; i <= 10; i++) {
      const customer = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', firstName: `R${i}` });
      ids.push(customer.id);
      await placeOrders(customer.id, i, i * 1000, 30 - 2 * i);
    }
    // A cancelled order counts for nothing; an order of a deleted customer is ignored.
    await api.deps.db.insert(orders).values({
      customerId: ids[0] as string,
      status: 'CANCELLED',
      currency: 'USD',
      subtotal: 1_000_000,
      total: 1_000_000,
      createdAt: days(1),
    });
  });

  it('scores quintiles, names segments, sets levels, writes level timeline entries and assigns level promotions', async () => {
    const platinumGift = await insertPromotion(api.deps, {
      conditionType: 'CUSTOMER_LEVEL',
      customerLevelId: levels.Platinum,
      validityDays: 30,
    });
    const result = await scoreRfm(at(now.toISOString()), now);
    expect(result.scored).toBeGreaterThanOrEqual(10);
    const scored = await Promise.all(ids.map((id) => customerWithRfm(api.deps, id)));
    const byName = Object.fromEntries(scored.map((c) => [c.firstName, c]));
    // Customers 1–2 are the bottom quintile on every measure, 9–10 the top.
    expect(byName.R1).toMatchObject({
      rfmRecency: 1,
      rfmFrequency: 1,
      rfmMonetary: 1,
      rfmScore: 3,
      rfmSegment: 'Lost',
    });
    expect(byName.R1?.levelId).toBe(levels.Bronze);
    expect(byName.R5).toMatchObject({ rfmRecency: 3, rfmFrequency: 3, rfmMonetary: 3, rfmScore: 9 });
    expect(byName.R5?.rfmSegment).toBe(RFM_SEGMENT_GRID[3]?.[2]);
    expect(byName.R5?.levelId).toBe(levels.Silver);
    expect(byName.R10).toMatchObject({ rfmScore: 15, rfmSegment: 'Champions', levelId: levels.Platinum });
    expect(byName.R10?.rfmScoredAt?.toISOString()).toBe(now.toISOString());

    // First levels are one summarised event for the run, audited, with no per-customer timeline entry.
    expect(result.firstLevels).toBe(result.levelChanges);
    const entries = await api.deps.db
      .select()
      .from(workLogs)
      .where(and(inArray(workLogs.customerId, ids), eq(workLogs.eventType, 'customer.level_changed')));
    expect(entries).toEqual([]);
    const summaries = await api.deps.db
      .select()
      .from(domainEvents)
      .where(eq(domainEvents.type, 'customer.levels_assigned'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ actorJob: 'rfm.score', entityType: 'rfm_run', customerId: null });
    const data = summaries[0]?.data as { count: number; levels: { levelId: string; name: string; count: number }[] };
    expect(data.count).toBe(result.firstLevels);
    expect(data.levels.map((level) => level.name)).toEqual(
      ['Bronze', 'Silver', 'Gold', 'Platinum'].filter((name) => scored.some((c) => c.levelId === levels[name])),
    );
    for (const level of data.levels) expect(level.count).toBe(scored.filter((c) => c.levelId === level.levelId).length);
    const audited = await api.deps.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.eventId, summaries[0]?.id as string));
    expect(audited).toMatchObject([{ action: 'levels_assigned', actorJob: 'rfm.score' }]);

    // Platinum's CUSTOMER_LEVEL promotion went to the two Platinum customers, through the commerce verb.
    const gifts = await api.deps.db
      .select()
      .from(customerPromotions)
      .where(eq(customerPromotions.promotionId, platinumGift.id));
    expect(gifts.map((g) => g.customerId).sort()).toEqual([byName.R9?.id, byName.R10?.id].sort());
    expect(gifts[0]).toMatchObject({ source: 'CUSTOMER_LEVEL', status: 'ACTIVE' });
    expect(gifts[0]?.expiresAt?.toISOString()).toBe(new Date(now.getTime() + 30 * 86_400_000).toISOString());
    expect(result.promotionsAssigned).toBe(2);
  });

  it('is idempotent: a second run, and two at once, change nothing and write no events', async () => {
    const before = await api.deps.db.select({ n: sql<number>`count(*)::int` }).from(domainEvents);
    const again = await Promise.all([scoreRfm(at(now.toISOString()), now), scoreRfm(at(now.toISOString()), now)]);
    expect(again.map((run) => run.changed)).toEqual([0, 0]);
    expect(again.map((run) => run.promotionsAssigned)).toEqual([0, 0]);
    const after = await api.deps.db.select({ n: sql<number>`count(*)::int` }).from(domainEvents);
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('moves customers as their behaviour changes, and clears scores when no orders remain', async () => {
    // R1 suddenly buys a lot, recently: to the top on every measure.
    await placeOrders(ids[0] as string, 12, 50_000, 0);
    // R2's orders are all cancelled.
    await api.deps.db
      .update(orders)
      .set({ status: 'CANCELLED' })
      .where(eq(orders.customerId, ids[1] as string));
    const result = await scoreRfm(at(now.toISOString()), now);
    expect(result.cleared).toBe(1);
    const r1 = await customerWithRfm(api.deps, ids[0] as string);
    expect(r1).toMatchObject({ rfmScore: 15, rfmSegment: 'Champions', levelId: levels.Platinum });
    const r2 = await customerWithRfm(api.deps, ids[1] as string);
    expect(r2).toMatchObject({ rfmScore: null, rfmSegment: null, rfmRecency: null });
    const timeline = await api.deps.db
      .select({ subject: workLogs.subject })
      .from(workLogs)
      .where(and(eq(workLogs.customerId, ids[0] as string), eq(workLogs.eventType, 'customer.level_changed')))
      .orderBy(workLogs.occurredAt);
    // A later change is one event per customer, on its timeline.
    expect(timeline.map((t) => t.subject)).toEqual(['Level changed from Bronze to Platinum']);
    const [event] = await api.deps.db
      .select()
      .from(domainEvents)
      .where(and(eq(domainEvents.type, 'customer.level_changed'), eq(domainEvents.customerId, ids[0] as string)));
    expect(event).toMatchObject({ actorJob: 'rfm.score', entityType: 'customer', entityId: ids[0] });
    expect(
      await api.deps.db.select().from(domainEvents).where(eq(domainEvents.type, 'customer.levels_assigned')),
    ).toHaveLength(1);
  });

  it('follows the thresholds admins set in customer_levels', async () => {
    const bronze = async () =>
      (await Promise.all(ids.map((id) => customerWithRfm(api.deps, id)))).filter(
        (c) => c.rfmScore !== null && c.levelId === levels.Bronze,
      ).length;
    expect(await bronze()).toBeGreaterThan(0);
    await api.deps.db.update(customerLevels).set({ minRfmScore: 3 }).where(eq(customerLevels.name, 'Silver'));
    try {
      await scoreRfm(at(now.toISOString()), now);
      expect(await bronze()).toBe(0);
    } finally {
      await api.deps.db.update(customerLevels).set({ minRfmScore: 7 }).where(eq(customerLevels.name, 'Silver'));
    }
    await scoreRfm(at(now.toISOString()), now);
    expect(await bronze()).toBeGreaterThan(0);
  });
});
