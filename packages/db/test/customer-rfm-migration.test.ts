import { connectDatabase, runSeed } from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';
import { describe, expect, it } from 'vitest';
import { migratedUpTo } from './migrated-up-to.ts';

// The migration that moves the RFM state from customers to customer_rfm, run on a database
// migrated up to the one before it and holding scored customers.
const MIGRATION = '0017_customer-rfm.sql';

const { url, sql, apply } = migratedUpTo(MIGRATION);

describe(MIGRATION, () => {
  it('moves every level and score to customer_rfm, keeps updated_at, and drops the columns', async () => {
    const handle = connectDatabase(url(), { max: 1 });
    try {
      await runSeed(handle.db, { hashPassword });
    } finally {
      await handle.close();
    }
    const [owner] = await sql()`select id from users limit 1`;
    const levels = Object.fromEntries((await sql()`select name, id from customer_levels`).map((l) => [l.name, l.id]));
    const scoredAt = new Date('2026-11-30T02:00:00.000Z');
    const customer = (phone: string, rfm: Record<string, unknown>) =>
      sql()`insert into customers ${sql()({
        first_name: 'Ada',
        last_name: phone,
        phone,
        owner_id: owner?.id,
        ...rfm,
      })} returning id`.then(([row]) => row?.id as string);
    const gold = await customer('+15550000001', {
      level_id: levels.Gold,
      rfm_recency: 4,
      rfm_frequency: 3,
      rfm_monetary: 5,
      rfm_score: 12,
      rfm_segment: 'Loyal',
      rfm_scored_at: scoredAt,
    });
    const pinned = await customer('+15550000002', { level_id: levels.Silver, manual_level_id: levels.Silver });
    const never = await customer('+15550000003', {});

    // The sync trigger set each row's updated_at; the move keeps it.
    const times = await sql()`select id, updated_at from customers`;
    const updatedAt = (id: string) => times.find((row) => row.id === id)?.updated_at;

    await apply();

    const moved = await sql()`select * from customer_rfm order by score nulls last`;
    expect(moved).toEqual([
      {
        customer_id: gold,
        recency: 4,
        frequency: 3,
        monetary: 5,
        score: 12,
        segment: 'Loyal',
        level_id: levels.Gold,
        scored_at: scoredAt,
        updated_at: updatedAt(gold),
      },
      {
        customer_id: pinned,
        recency: null,
        frequency: null,
        monetary: null,
        score: null,
        segment: null,
        level_id: levels.Silver,
        scored_at: null,
        updated_at: updatedAt(pinned),
      },
    ]);
    expect(moved.map((row) => row.customer_id)).not.toContain(never);
    const columns = await sql()`select column_name from information_schema.columns where table_name = 'customers'`;
    expect(columns.map((c) => c.column_name)).not.toEqual(expect.arrayContaining(['level_id']));
    expect(columns.map((c) => c.column_name).filter((c) => c.startsWith('rfm_'))).toEqual([]);
    const [kept] = await sql()`select manual_level_id, updated_at from customers where id = ${pinned}`;
    expect(kept).toEqual({ manual_level_id: levels.Silver, updated_at: updatedAt(pinned) });
  });
});
