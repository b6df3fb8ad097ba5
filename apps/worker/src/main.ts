import { loadConfigOrExit } from '@touch-crm/config';
import { resolveDatabase } from '@touch-crm/db';
import pino from 'pino';
import { startWorker } from './worker.ts';

const config = loadConfigOrExit();
const log = pino({ level: config.LOG_LEVEL, name: 'worker' });
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
  await worker.stop();
  await database.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
