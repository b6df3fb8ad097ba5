import { connectDatabase, type DatabaseHandle, parseTimestamptz } from '@touch-crm/db';
import { createTestDatabase } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { pgTable, serial } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { timestamptz } from '../src/schema/columns.ts';

// A table of this test's own, with the column helper every schema table uses.
const stamps = pgTable('timestamptz_stamps', { id: serial().primaryKey(), at: timestamptz().notNull() });

let database: { url: string; drop: () => Promise<void> };
let handle: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase(inject('databaseServerUrl'));
  // One connection, so the session's time zone set below holds for every statement.
  handle = connectDatabase(database.url, { max: 1 });
  await handle.db.execute(sql`create table timestamptz_stamps (id serial primary key, at timestamptz not null)`);
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

const INSTANTS = [
  '0001-01-01T00:00:00.000Z',
  '0099-06-01T12:00:00.000Z',
  '0100-02-28T23:59:59.001Z',
  '1969-12-31T23:59:59.999Z',
  '2026-12-03T14:29:23.120Z',
  '9999-12-31T23:59:59.999Z',
];

describe('the timestamptz column', () => {
  it.each(['UTC', 'Asia/Kolkata', 'America/New_York', 'Europe/Amsterdam'])(
    'reads back every instant it wrote, years 0001–9999, in a session in %s',
    async (zone) => {
      await handle.db.execute(sql.raw(`set time zone '${zone}'`));
      await handle.db.delete(stamps);
      await handle.db.insert(stamps).values(INSTANTS.map((iso) => ({ at: new Date(iso) })));
      const rows = await handle.db.select({ at: stamps.at }).from(stamps).orderBy(stamps.at);
      expect(rows.map((row) => row.at.toISOString())).toEqual(INSTANTS);
    },
  );
});

describe('parseTimestamptz', () => {
  // PostgreSQL's own epoch milliseconds are the oracle, for its text and its JSON, in zones whose
  // offsets for old dates carry seconds (local mean time), and for years past the API's range.
  it.each(['UTC', 'Asia/Kolkata', 'America/New_York', 'Europe/Amsterdam'])(
    'reads what PostgreSQL writes in %s as the instant PostgreSQL means',
    async (zone) => {
      await handle.db.execute(sql.raw(`set time zone '${zone}'`));
      const rows = await handle.db.execute<{ text: string; json: string; ms: string }>(sql`
        select at::text as text, to_json(at) #>> '{}' as json,
               (extract(epoch from date_trunc('milliseconds', at)) * 1000)::bigint::text as ms
          from unnest(array['0001-01-01 00:00:00.123456Z', '0099-06-01 12:00:00Z', '1900-01-01 00:00:00Z',
                            '2026-07-01 08:30:00.5Z', '9999-12-31 23:59:59.999Z', '10000-01-01 00:00:00Z',
                            '0044-03-15 12:00:00Z BC']::timestamptz[]) as at`);
      for (const row of rows) {
        expect(parseTimestamptz(row.text).getTime(), row.text).toBe(Number(row.ms));
        expect(parseTimestamptz(row.json).getTime(), row.json).toBe(Number(row.ms));
      }
    },
  );

  it('reads infinity as an invalid Date', () => {
    expect(parseTimestamptz('infinity').getTime()).toBeNaN();
    expect(parseTimestamptz('-infinity').getTime()).toBeNaN();
  });
});
