import { createTeam, insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Level = { id: string; name: string; rank: number; minRfmScore: number; description: string | null };

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const levels = async () => (await api.rest<Level[]>('GET', '/customer-levels', { token: team.admin.token })).body;
const levelNamed = async (name: string) => (await levels()).find((level) => level.name === name) as Level;

describe('GET /customer-levels', () => {
  it('lists the seeded levels, lowest rank first, to every role holding customer_levels:read', async () => {
    for (const user of [team.rep, team.manager, team.admin]) {
      const res = await api.rest<Level[]>('GET', '/customer-levels', { token: user.token });
      expect(res.status).toBe(200);
      expect(res.body.map((level) => [level.name, level.minRfmScore])).toEqual([
        ['Bronze', 0],
        ['Silver', 7],
        ['Gold', 10],
        ['Platinum', 13],
      ]);
    }
    expect((await api.rest('GET', '/customer-levels')).status).toBe(401);
  });

  it("gives the ids the customer list's levelId filter takes", async () => {
    const gold = await levelNamed('Gold');
    const customer = await insertCustomer(api.deps, team.rep.id, { levelId: gold.id });
    const res = await api.rest('GET', `/customers?levelId=${gold.id}`, { token: team.rep.token });
    expect(res.status).toBe(200);
    expect(res.body.items.map((item: { id: string }) => item.id)).toEqual([customer.id]);
  });
});

describe('PUT /customer-levels/{id}', () => {
  it('is for administrators: reps and managers get 403 and nothing changes', async () => {
    const silver = await levelNamed('Silver');
    for (const user of [team.rep, team.manager]) {
      const res = await api.rest('PUT', `/customer-levels/${silver.id}`, {
        token: user.token,
        body: { minRfmScore: 8 },
      });
      expect(res.status).toBe(403);
    }
    expect((await levelNamed('Silver')).minRfmScore).toBe(7);
  });

  it('renames a level and moves its threshold, audited as customer_level.updated', async () => {
    const gold = await levelNamed('Gold');
    const res = await api.rest<Level>('PUT', `/customer-levels/${gold.id}`, {
      token: team.admin.token,
      body: { name: 'Golden', minRfmScore: 11, description: 'Our best regulars' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: gold.id, name: 'Golden', rank: gold.rank, minRfmScore: 11 });
    const [audit] = await api.deps.db.execute<{ changes: Record<string, unknown> }>(
      sql`select changes from audit_log where entity_id = ${gold.id} and action = 'updated'`,
    );
    expect(audit?.changes).toMatchObject({
      name: { before: 'Gold', after: 'Golden' },
      minRfmScore: { before: 10, after: 11 },
    });
  });

  it('keeps thresholds rising with rank: 400 on minRfmScore; a taken name is 409; an unknown id 404', async () => {
    const silver = await levelNamed('Silver');
    for (const minRfmScore of [0, 11, 16, -1]) {
      const res = await api.rest('PUT', `/customer-levels/${silver.id}`, {
        token: team.admin.token,
        body: { minRfmScore },
      });
      expect(res.status, `${minRfmScore}`).toBe(400);
      expect(res.body.errors[0].path).toEqual(['minRfmScore']);
    }
    const taken = await api.rest('PUT', `/customer-levels/${silver.id}`, {
      token: team.admin.token,
      body: { name: 'Bronze' },
    });
    expect(taken.status).toBe(409);
    const unknown = await api.rest('PUT', '/customer-levels/00000000-0000-4000-8000-000000000000', {
      token: team.admin.token,
      body: { name: 'Nobody' },
    });
    expect(unknown.status).toBe(404);
    expect((await levelNamed('Silver')).minRfmScore).toBe(7);
  });
});

describe('customer_rfm.level_id without a foreign key', () => {
  const attempt = (statement: ReturnType<typeof sql>) =>
    api.deps.db.execute(statement).then(
      () => 'ok',
      (error: { cause?: { code?: string } }) => error.cause?.code,
    );

  it('refuses deleting a level a customer holds, or changing a level’s id; an unused level may go', async () => {
    const bronze = await levelNamed('Bronze');
    await insertCustomer(api.deps, team.rep.id, { levelId: bronze.id });
    expect(await attempt(sql`delete from customer_levels where id = ${bronze.id}`)).toBe('23503');
    expect(await attempt(sql`update customer_levels set id = gen_random_uuid() where id = ${bronze.id}`)).toBe('23503');
    expect(await attempt(sql`update customer_levels set description = description where id = ${bronze.id}`)).toBe('ok');
    expect((await levelNamed('Bronze')).id).toBe(bronze.id);
    const [spare] = await api.deps.db.execute<{ id: string }>(
      sql`insert into customer_levels (name, rank, min_rfm_score) values ('Spare', 99, 15) returning id`,
    );
    expect(await attempt(sql`delete from customer_levels where id = ${spare?.id}`)).toBe('ok');
  });

  it('deletes a customer’s RFM row with the customer (the customers trigger in place of a cascade)', async () => {
    const customer = await insertCustomer(api.deps, team.rep.id, { rfmScore: 9 });
    const rows = () => api.deps.db.execute(sql`select 1 from customer_rfm where customer_id = ${customer.id}`);
    expect(await rows()).toHaveLength(1);
    await api.deps.db.execute(sql`delete from customers where id = ${customer.id}`);
    expect(await rows()).toHaveLength(0);
  });
});
