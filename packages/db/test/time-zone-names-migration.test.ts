import { connectDatabase, runSeed } from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';
import { describe, expect, it } from 'vitest';
import { migratedUpTo } from './migrated-up-to.ts';

// The migration that records the server's time zone names, run on a database migrated up to the
// one before it and holding customers with zones PostgreSQL cannot read.
const MIGRATION = '0019_time-zone-names.sql';

const { url, sql, apply } = migratedUpTo(MIGRATION);

describe(MIGRATION, () => {
  it('lists the server’s zones and clears the stored zones it cannot read, keeping the others as they are', async () => {
    const handle = connectDatabase(url(), { max: 1 });
    try {
      await runSeed(handle.db, { hashPassword });
    } finally {
      await handle.close();
    }
    const [owner] = await sql()`select id from users limit 1`;
    const zones = ['Canada/East-Saskatchewan', '+06:30', 'America/Chicago', 'america/chicago', 'US/Eastern', null];
    for (const [i, zone] of zones.entries())
      await sql()`insert into customers (first_name, last_name, phone, owner_id, time_zone)
                   values ('Ada', 'Zone', ${`+1555000010${i}`}, ${owner?.id}, ${zone})`;

    await apply();

    const [counts] = await sql()`select (select count(*)::int from time_zone_names) as known,
                                         (select count(*)::int from pg_timezone_names) as listed`;
    expect(counts?.known).toBe(counts?.listed);
    const after = await sql()`select time_zone from customers order by phone`;
    expect(after.map((row) => row.time_zone)).toEqual([
      null,
      null,
      'America/Chicago',
      'america/chicago',
      'US/Eastern',
      null,
    ]);
  });
});
