import type { Config } from '@touch-crm/config';
import {
  connectDatabase,
  type ResolvedDatabase,
  resolveDatabase,
  runMigrations,
  runSeed,
  type SeedResult,
} from '@touch-crm/db';
import { hashPassword, knownTimeZones } from '@touch-crm/services';
import type { Logger } from 'pino';

/** The database the API runs on (external, or the embedded one started here), migrated and seeded. */
export async function prepareDatabase(
  config: Config,
  log: Logger,
): Promise<{ database: ResolvedDatabase; seed: SeedResult }> {
  const database = await resolveDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    port: config.EMBEDDED_PG_PORT,
    log: (line) => log.debug({ postgres: line.trim() }),
  });
  await runMigrations(database.url);
  const seeding = connectDatabase(database.url, { max: 1 });
  try {
    // Every quiet-hours and birthday statement reads it: a zone Node knows and PostgreSQL does not
    // would fail them all, so the API refuses to start instead.
    const zone = config.APP_TIMEZONE;
    if (!(await knownTimeZones(seeding.db, [zone])).has(zone.toLowerCase())) {
      log.error({ APP_TIMEZONE: zone }, 'APP_TIMEZONE is not a time zone this PostgreSQL knows (pg_timezone_names)');
      await seeding.close();
      await database.stop();
      process.exit(1);
    }
    return { database, seed: await runSeed(seeding.db, { hashPassword, adminPassword: config.ADMIN_PASSWORD }) };
  } finally {
    await seeding.close();
  }
}
