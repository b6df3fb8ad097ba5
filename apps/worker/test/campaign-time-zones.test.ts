import { schema } from '@touch-crm/db';
import { deliverMessages, executeCampaign, jobCaller, type ServiceDeps, type SmsProvider } from '@touch-crm/services';
import { createUser, insertCustomer, startTestApi, type TestApi, unique } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { messageQueue, campaigns } = schema;

let api: TestApi;
beforeAll(async () => {
  // The default quiet hours; the server's own zone is Tokyo, far from every recipient.
  api = await startTestApi({ env: { SMS_QUIET_HOURS: '21:00-08:00', APP_TIMEZONE: 'Asia/Tokyo' } });
});
afterAll(() => api?.close());

describe('a campaign to customers in three time zones', () => {
  it('holds each message until 08:00 where its recipient lives, and sends it then', async () => {
    const owner = await createUser(api.deps, { role: 'Sales Representative' });
    const zones = ['Europe/London', 'America/New_York', 'America/Los_Angeles'] as const;
    const byZone = new Map<string, string>();
    for (const timeZone of zones) byZone.set((await insertCustomer(api.deps, owner.id, { timeZone })).id, timeZone);
    const [campaign] = await api.deps.db
      .insert(campaigns)
      .values({ name: unique('Zones'), message: 'Morning news', audience: { ownerIds: [owner.id] } })
      .returning();
    const id = campaign?.id as string;
    // 05:00 UTC on 15 January 2027: 05:00 in London, 00:00 in New York, 21:00 in Los Angeles.
    const at = (iso: string): ServiceDeps => ({ ...api.deps, now: () => new Date(iso) });
    await executeCampaign(at('2027-01-15T05:00:00Z'), jobCaller('test'), { id });

    const messages = await api.deps.db.select().from(messageQueue).where(eq(messageQueue.campaignId, id));
    const dueAt = Object.fromEntries(
      messages.map((message) => [byZone.get(message.customerId as string), message.scheduledFor.toISOString()]),
    );
    expect(dueAt).toEqual({
      'Europe/London': '2027-01-15T08:00:00.000Z',
      'America/New_York': '2027-01-15T13:00:00.000Z',
      'America/Los_Angeles': '2027-01-15T16:00:00.000Z',
    });

    const sentTo: string[] = [];
    const provider: SmsProvider = {
      name: 'test',
      send: async (sms) => {
        const message = messages.find((row) => row.id === sms.messageId);
        sentTo.push(byZone.get(message?.customerId as string) as string);
        return { status: 'sent', providerMessageId: null };
      },
    };
    const ids = messages.map((message) => message.id);
    // The clock walks through the day: each goes at 08:00 local, none a minute before, whatever
    // the hour in the server's own zone (13:00 UTC is 22:00 in Tokyo).
    for (const [iso, expected] of [
      ['2027-01-15T07:59:00Z', []],
      ['2027-01-15T08:00:00Z', ['Europe/London']],
      ['2027-01-15T12:59:00Z', ['Europe/London']],
      ['2027-01-15T13:00:00Z', ['Europe/London', 'America/New_York']],
      ['2027-01-15T16:00:00Z', ['Europe/London', 'America/New_York', 'America/Los_Angeles']],
    ] as const) {
      await deliverMessages(at(iso), provider, { messageIds: ids });
      expect(sentTo, iso).toEqual(expected);
    }
  });
});
