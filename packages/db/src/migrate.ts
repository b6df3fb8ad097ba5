import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));

/** Serialises migrate and seed across processes starting at once against one database. */
const SETUP_LOCK = 7_340_123;

/** Runs `work` on a single connection that holds the setup lock. */
export async function withSetupLock<T>(url: string, work: (connection: postgres.Sql) => Promise<T>): Promise<T> {
  const connection = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await connection`select pg_advisory_lock(${SETUP_LOCK})`;
    try {
      return await work(connection);
    } finally {
      await connection`select pg_advisory_unlock(${SETUP_LOCK})`;
    }
  } finally {
    await connection.end({ timeout: 5 });
  }
}

/** Applies the committed drizzle-kit migrations. */
export async function runMigrations(url: string): Promise<void> {
  await withSetupLock(url, async (connection) => {
    await migrate(drizzle({ client: connection }), { migrationsFolder });
    // A PostgreSQL update may bring new zone names; customers' zones must be among them (migration 0019).
    await connection`insert into time_zone_names (name) select name from pg_timezone_names on conflict do nothing`;
  });
}

async function journalSize(): Promise<number> {
  const journal = JSON.parse(await readFile(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/** True when every committed migration has been applied to this database. */
export async function migrationsApplied(client: postgres.Sql): Promise<boolean> {
  const db = drizzle({ client });
  const expected = await journalSize();
  try {
    const rows = await db.execute<{ applied: number }>(
      sql`select count(*)::int as applied from drizzle.__drizzle_migrations`,
    );
    return (rows[0]?.applied ?? 0) >= expected;
  } catch {
    return false;
  }
}
