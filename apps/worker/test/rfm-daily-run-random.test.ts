import { schema } from '@touch-crm/db';
import { type RfmResult, type ServiceDeps, scoreRfm } from '@touch-crm/services';
import { createTeam, insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { customers, customerLevels, customerRfm, orders } = schema;

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;

beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const DAY = 86_400_000;

/** A small seeded generator (mulberry32): the same sequence of writes on every run of the test. */
function random(seed: number) {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: T[]) => items[Math.floor(next() * items.length)],
  };
}

/** Everything the job keeps per customer (updated_at aside: its own rule). */
async function kept(db: ServiceDeps['db']) {
  const rows = await db.select().from(customerRfm).orderBy(customerRfm.customerId);
  return rows.map(({ updatedAt: _, ...rest }) => rest);
}

/**
 * What measuring everyone from every order gives at `now`, against what the kept measures gave:
 * a from-scratch run in a transaction rolled back, so the kept chain goes on undisturbed.
 */
async function fromScratch(now: Date) {
  let outcome: { run: RfmResult; rows: Awaited<ReturnType<typeof kept>> } | undefined;
  await api.deps.db
    .transaction(async (tx) => {
      const db = tx as unknown as ServiceDeps['db'];
      await db.execute(sql`delete from rfm_state`);
      const run = await scoreRfm({ ...api.deps, db, now: () => now }, now);
      outcome = { run, rows: await kept(db) };
      tx.rollback();
    })
    .catch((error: unknown) => {
      if (!outcome) throw error;
    });
  if (!outcome) throw new Error('no from-scratch run');
  return outcome;
}

describe('RFM daily run: kept measures give what measuring everyone gives', () => {
  it('after a seeded random sequence of order and customer writes, across runs days and windows apart', async () => {
    const rng = random(20261203);
    const window = api.deps.config.RFM_WINDOW_DAYS;
    let now = new Date('2026-01-10T02:00:00Z');
    const ids: string[] = [];
    for (let i = 0; i < 24; i++)
      ids.push((await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', firstName: `Random${i}` })).id);
    const levels = (await api.deps.db.select().from(customerLevels)).map((level) => level.id);
    const orderIds = async () => (await api.deps.db.select({ id: orders.id }).from(orders)).map((row) => row.id);
    const placeOrder = (customerId: string, createdAt: Date, total: number) =>
      api.deps.db
        .insert(orders)
        .values({ customerId, status: 'PAID', currency: 'USD', subtotal: total, total, createdAt });

    const writes: (() => Promise<unknown>)[] = [
      // An order, dated up to past the window ago.
      () =>
        placeOrder(
          rng.pick(ids) as string,
          new Date(now.getTime() - rng.int(window + 20) * DAY),
          (1 + rng.int(200)) * 100,
        ),
      // An order dated ahead, which a later run finds dated before it.
      () =>
        placeOrder(
          rng.pick(ids) as string,
          new Date(now.getTime() + (1 + rng.int(60)) * DAY),
          (1 + rng.int(200)) * 100,
        ),
      async () => {
        const id = rng.pick(await orderIds());
        if (id) await api.deps.db.update(orders).set({ status: 'CANCELLED' }).where(eq(orders.id, id));
      },
      async () => {
        const id = rng.pick(await orderIds());
        if (id) await api.deps.db.update(orders).set({ status: 'PAID' }).where(eq(orders.id, id));
      },
      async () => {
        const id = rng.pick(await orderIds());
        if (id) await api.deps.db.delete(orders).where(eq(orders.id, id));
      },
      async () => {
        const id = rng.pick(await orderIds());
        if (id)
          await api.deps.db
            .update(orders)
            .set({ customerId: rng.pick(ids) as string })
            .where(eq(orders.id, id));
      },
      async () => {
        const id = rng.pick(await orderIds());
        const total = (1 + rng.int(500)) * 100;
        if (id) await api.deps.db.update(orders).set({ subtotal: total, total }).where(eq(orders.id, id));
      },
      async () => {
        const id = rng.pick(await orderIds());
        if (id)
          await api.deps.db
            .update(orders)
            .set({ createdAt: new Date(now.getTime() - rng.int(window + 30) * DAY) })
            .where(eq(orders.id, id));
      },
      () =>
        api.deps.db
          .update(customers)
          .set({ deletedAt: rng.int(2) === 0 ? now : null })
          .where(eq(customers.id, rng.pick(ids) as string)),
      () =>
        api.deps.db
          .update(customers)
          .set({ manualLevelId: rng.int(2) === 0 ? (rng.pick(levels) as string) : null })
          .where(eq(customers.id, rng.pick(ids) as string)),
    ];

    for (let i = 0; i < 30; i++) await (rng.pick(writes) as () => Promise<unknown>)();
    await scoreRfm({ ...api.deps, now: () => now }, now);
    for (let run = 0; run < 12; run++) {
      for (let i = 0; i < 8 + rng.int(12); i++) await (rng.pick(writes) as () => Promise<unknown>)();
      // Hours to past a whole window between runs.
      now = new Date(
        now.getTime() + (rng.int(5) === 0 ? window + rng.int(30) : rng.int(40)) * DAY + rng.int(24) * 3_600_000,
      );
      await scoreRfm({ ...api.deps, now: () => now }, now);
      const daily = await kept(api.deps.db);
      const scratch = await fromScratch(now);
      expect(scratch.run, `run ${run}`).toMatchObject({ changed: 0, levelChanges: 0, cleared: 0 });
      expect(scratch.rows, `run ${run}`).toEqual(daily);
    }
    expect((await kept(api.deps.db)).filter((row) => row.score !== null).length).toBeGreaterThan(5);
  });

  it('leaves an order still being written to the next run, which picks it up', async () => {
    const now = new Date('2028-01-01T02:00:00Z');
    const customer = await insertCustomer(api.deps, team.rep.id, { status: 'CUSTOMER', firstName: 'Late' });
    await scoreRfm({ ...api.deps, now: () => now }, now);
    const other = postgres(api.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const writer = await other.reserve();
      // The order and its log row are written, not yet committed, while the run goes by.
      await writer`begin`;
      await writer`insert into orders (customer_id, status, currency, subtotal, total, created_at)
                   values (${customer.id}, 'PAID', 'USD', 5000, 5000, ${new Date(now.getTime() - DAY)})`;
      await scoreRfm({ ...api.deps, now: () => now }, now);
      await writer`commit`;
      writer.release();
      const [before] = await api.deps.db.select().from(customerRfm).where(eq(customerRfm.customerId, customer.id));
      expect(before).toBeUndefined();
      await scoreRfm({ ...api.deps, now: () => now }, now);
      const [row] = await api.deps.db.select().from(customerRfm).where(eq(customerRfm.customerId, customer.id));
      expect(row).toMatchObject({ windowOrders: 1, windowTotal: 5000 });
      expect(row?.score).not.toBeNull();
    } finally {
      await other.end();
    }
  });
});
