import { readdir, readFile } from 'node:fs/promises';
import { connectDatabase, runSeed } from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrationsFolder } from '../src/migrate.ts';

// The migration that records the server's time zone names, run on a database migrated up to the
// one before it and holding customers with zones PostgreSQL cannot read.
const MIGRATION = '0019_time-zone-names.sql';

const serverUrl = () => inject('databaseServerUrl');
const name = `touch_crm_tz_migration_${Date.now()}`;
const url = () => serverUrl().replace(/\/[^/]*$/, `/${name}`);
let client: postgres.Sql;

async function apply(file: string) {
  const text = await readFile(`${migrationsFolder}/${file}`, 'utf8');
  for (const statement of text.split('--> statement-breakpoint')) if (statement.trim()) await client.unsafe(statement);
}

beforeAll(async () => {
  const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template template0`);
  await admin.end();
  client = postgres(url(), { max: 1, onnotice: () => {} });
  const files = (await readdir(migrationsFolder)).filter((file) => file.endsWith('.sql')).sort();
  for (const file of files.slice(0, files.indexOf(MIGRATION))) await apply(file);
});
afterAll(async () => {
  await client?.end();
  const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe(MIGRATION, () => {
  it('lists the server’s zones and clears the stored zones it cannot read, keeping the others as they are', async () => {
    const handle = connectDatabase(url(), { max: 1 });
    try {
      await runSeed(handle.db, { hashPassword });
    } finally {
      await handle.close();
    }
    const [owner] = await client`select id from users limit 1`;
    const zones = ['Canada/East-Saskatchewan', '+06:30', 'America/Chicago', 'america/chicago', 'US/Eastern', null];
    for (const [i, zone] of zones.entries())
      await client`insert into customers (first_name, last_name, phone, owner_id, time_zone)
                   values ('Ada', 'Zone', ${`+1555000010${i}`}, ${owner?.id}, ${zone})`;

    await apply(MIGRATION);

    const [counts] = await client`select (select count(*)::int from time_zone_names) as known,
                                         (select count(*)::int from pg_timezone_names) as listed`;
    expect(counts?.known).toBe(counts?.listed);
    const after = await client`select time_zone from customers order by phone`;
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
