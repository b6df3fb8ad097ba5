import { schema } from '@touch-crm/db';
import { previewCampaign, queueBirthdayMessages } from '@touch-crm/services';
import { createTeam, insertCustomer, startTestApi, type TestApi, unique } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { messageQueue, campaigns } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  // The default quiet hours, 21:00–08:00, in each recipient's zone; the server's is UTC.
  api = await startTestApi({ env: { SMS_QUIET_HOURS: '21:00-08:00', APP_TIMEZONE: 'UTC' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const scheduledFor = async (customerId: string) =>
  (await api.deps.db.select().from(messageQueue).where(eq(messageQueue.customerId, customerId)))[0]?.scheduledFor;

describe("quiet hours in each recipient's time zone", () => {
  it('holds each marketing message until 08:00 where its recipient lives, in one run', async () => {
    const birthday = { birthday: '1990-03-10' };
    const newYork = await insertCustomer(api.deps, team.rep.id, { ...birthday, timeZone: 'America/New_York' });
    const berlin = await insertCustomer(api.deps, team.rep.id, { ...birthday, timeZone: 'Europe/Berlin' });
    const tokyo = await insertCustomer(api.deps, team.rep.id, { ...birthday, timeZone: 'Asia/Tokyo' });
    const unknown = await insertCustomer(api.deps, team.rep.id, birthday);
    // 10:30 UTC on 10 March: 05:30 in New York (EST, DST starts 8 March: EDT, 06:30), 11:30 in
    // Berlin, 19:30 in Tokyo, 10:30 UTC for the customer without a zone.
    const now = new Date('2026-03-10T10:30:00Z');
    await queueBirthdayMessages({ ...api.deps, now: () => now }, now);
    expect(await scheduledFor(newYork.id)).toEqual(new Date('2026-03-10T12:00:00Z'));
    expect(await scheduledFor(berlin.id)).toEqual(now);
    expect(await scheduledFor(tokyo.id)).toEqual(now);
    expect(await scheduledFor(unknown.id)).toEqual(now);

    // 13:30 UTC: 22:30 in Tokyo, held until 08:00 there the next morning (23:00 UTC).
    const later = await insertCustomer(api.deps, team.rep.id, { birthday: '1990-03-11', timeZone: 'Asia/Tokyo' });
    const evening = new Date('2026-03-11T13:30:00Z');
    await queueBirthdayMessages({ ...api.deps, now: () => evening }, evening);
    expect(await scheduledFor(later.id)).toEqual(new Date('2026-03-11T23:00:00Z'));
  });
});

describe('the customer time zone', () => {
  it('is derived from a single-zone country’s phone, kept as given, and refused when not a zone', async () => {
    const german = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Gerd', lastName: 'Zone', phone: '+49 30 901820' },
    });
    expect(german.status, german.text).toBe(201);
    expect(german.body.timeZone).toBe('Europe/Berlin');
    const american = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: 'Ann', lastName: 'Zone', phone: '+1 202 555 0142' },
    });
    expect(american.body.timeZone).toBeNull();
    const set = await api.rest('PUT', `/customers/${american.body.id}`, {
      token: team.rep.token,
      body: { timeZone: 'America/Chicago' },
    });
    expect(set.body.timeZone).toBe('America/Chicago');
    const bad = await api.rest('PUT', `/customers/${american.body.id}`, {
      token: team.rep.token,
      body: { timeZone: 'Mars/Olympus' },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('timeZone');
  });
});

describe('a customer time zone is one PostgreSQL knows', () => {
  // Intl takes all of these; PostgreSQL does not know the first three and reads the last as UTC−06:30.
  const unknown = ['Canada/East-Saskatchewan', 'US/Pacific-New', 'SystemV/AST4', '+06:30'];

  it('refuses a zone the server cannot read, on create and on edit, naming the field', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    for (const timeZone of unknown) {
      const created = await api.rest('POST', '/customers', {
        token: team.rep.token,
        body: { firstName: 'Una', lastName: 'Known', phone: '+1 202 555 0177', timeZone },
      });
      expect(created.status, timeZone).toBe(400);
      expect(created.body.errors, timeZone).toEqual([expect.objectContaining({ path: ['timeZone'] })]);
      const edited = await api.rest('PUT', `/customers/${customer.id}`, {
        token: team.rep.token,
        body: { timeZone },
      });
      expect(edited.status, timeZone).toBe(400);
      expect(edited.text, timeZone).toContain('timeZone');
    }
    const [row] = await api.deps.db.select().from(schema.customers).where(eq(schema.customers.id, customer.id));
    expect(row?.timeZone).toBe(customer.timeZone);
  });

  it('keeps a known zone in the server’s spelling, aliases included', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id);
    for (const [given, kept] of [
      ['america/new_york', 'America/New_York'],
      ['US/Eastern', 'US/Eastern'],
      ['Asia/Kolkata', 'Asia/Kolkata'],
    ]) {
      const edited = await api.rest('PUT', `/customers/${customer.id}`, {
        token: team.rep.token,
        body: { timeZone: given },
      });
      expect(edited.status, edited.text).toBe(200);
      expect(edited.body.timeZone).toBe(kept);
    }
  });

  it('leaves campaigns and messages working for everyone (no unreadable zone is stored)', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER' });
    await api.rest('PUT', `/customers/${customer.id}`, {
      token: team.rep.token,
      body: { timeZone: 'Canada/East-Saskatchewan' },
    });
    const message = await api.rest('POST', '/messages', {
      token: team.rep.token,
      body: { customerId: customer.id, body: 'Hello', kind: 'marketing' },
    });
    expect(message.status, message.text).toBe(201);
  });
});

describe('the campaign preview shows who quiet hours hold', () => {
  it('counts the recipients still in their night and says until when', async () => {
    const lastName = unique('Held');
    for (const timeZone of ['America/Los_Angeles', 'Europe/London', 'Asia/Tokyo'])
      await insertCustomer(api.deps, team.rep.id, {
        lastName,
        timeZone,
        status: 'PROSPECT',
        ownerId: team.otherRep.id,
      });
    const [campaign] = await api.deps.db
      .insert(campaigns)
      .values({ name: unique('Zones '), message: 'Hi', audience: { ownerIds: [team.otherRep.id] } })
      .returning();
    // 12:00 UTC: 05:00 in Los Angeles (held until 08:00 PDT, 15:00 UTC), 13:00 in London, 21:00 in Tokyo
    // (held until 08:00 JST, 23:00 UTC).
    const now = new Date('2026-06-01T12:00:00Z');
    const preview = await previewCampaign({ ...api.deps, now: () => now }, campaign?.id as string);
    expect(preview).toMatchObject({ audienceSize: 3, held: 2, heldUntil: '2026-06-01T23:00:00.000Z' });
  });
});
