import type { Config } from '@touch-crm/config';
import {
  connectDatabase,
  type ResolvedDatabase,
  resolveDatabase,
  runMigrations,
  runSeed,
  type SeedResult,
} from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';
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
    return { database, seed: await runSeed(seeding.db, { hashPassword, adminPassword: config.ADMIN_PASSWORD }) };
  } finally {
    await seeding.close();
  }
}
