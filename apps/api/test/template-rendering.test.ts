import { schema } from '@touch-crm/db';
import { queueBirthdayMessages } from '@touch-crm/services';
import { createTeam, insertCustomer, startTestApi, type TestApi, uniquePhone } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { messageQueue } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi({ env: { SMS_QUIET_HOURS: 'off' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

// The reproduction: a name made of placeholders used to be expanded by the next variable's pass.
const FIRST = '{{fullName}}'.repeat(8);
const LAST = '{{level}}{{firstName}}';

async function setTemplate(type: string, body: string) {
  const res = await api.rest('PUT', `/message-templates/${type}`, { token: team.admin.token, body: { body } });
  expect(res.status).toBe(200);
}
const bodyFor = async (customerId: string) =>
  (await api.deps.db.select().from(messageQueue).where(eq(messageQueue.customerId, customerId)))[0]?.body;

describe('templates render in one pass: values are never scanned for placeholders', () => {
  it('a birthday message (template known to the server) prints the name as written', async () => {
    await setTemplate('BIRTHDAY', 'Happy birthday {{firstName}}, dear {{fullName}}!');
    const customer = await insertCustomer(api.deps, team.rep.id, {
      firstName: FIRST,
      lastName: LAST,
      birthday: '1990-03-14',
    });
    const now = new Date('2026-03-14T10:00:00Z');
    await queueBirthdayMessages({ ...api.deps, now: () => now }, now);
    expect(await bodyFor(customer.id)).toBe(`Happy birthday ${FIRST}, dear ${FIRST} ${LAST}!`);
  });

  it('a welcome message (template read by the same statement) prints the name as written', async () => {
    await setTemplate('WELCOME', 'Welcome {{firstName}} {{ lastName }}, {{fullName}} ({{level}}) {x}');
    const created = await api.rest('POST', '/customers', {
      token: team.rep.token,
      body: { firstName: FIRST, lastName: LAST, phone: uniquePhone(), status: 'CUSTOMER' },
    });
    expect(created.status).toBe(201);
    expect(await bodyFor(created.body.id)).toBe(`Welcome ${FIRST} ${LAST}, ${FIRST} ${LAST} () {x}`);
  });
});
