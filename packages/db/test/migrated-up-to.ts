import { readdir, readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, inject } from 'vitest';
import { migrationsFolder } from '../src/migrate.ts';

/**
 * A database of its own, migrated up to the one before `migration` (registered with beforeAll and
 * dropped in afterAll): `apply(migration)` then runs it the way the migrator would, statement by
 * statement, on data the test put there first.
 */
export function migratedUpTo(migration: string) {
  const serverUrl = () => inject('databaseServerUrl');
  const name = `touch_crm_migration_${migration.slice(0, 4)}_${Date.now()}`;
  const url = () => serverUrl().replace(/\/[^/]*$/, `/${name}`);
  let client: postgres.Sql | undefined;
  const sql = () => client as postgres.Sql;

  async function apply(file: string) {
    const text = await readFile(`${migrationsFolder}/${file}`, 'utf8');
    for (const statement of text.split('--> statement-breakpoint')) if (statement.trim()) await sql().unsafe(statement);
  }

  beforeAll(async () => {
    const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name} template template0`);
    await admin.end();
    client = postgres(url(), { max: 1, onnotice: () => {} });
    const files = (await readdir(migrationsFolder)).filter((file) => file.endsWith('.sql')).sort();
    for (const file of files.slice(0, files.indexOf(migration))) await apply(file);
  });
  afterAll(async () => {
    await client?.end();
    const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  return { url, sql, apply: () => apply(migration) };
}
