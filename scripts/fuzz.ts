import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApi } from '@touch-crm/api-server';
import { loadConfig } from '@touch-crm/config';
import { connectDatabase, runMigrations, runSeed, startEmbeddedPostgres } from '@touch-crm/db';
import { createLogger } from '@touch-crm/logger';
import { hashPassword } from '@touch-crm/services';
import { FUZZ_WEBHOOK_HOST, formatReport, prepareFuzzTarget, runFuzz } from '@touch-crm/test-utils/fuzz';

/**
 * `pnpm fuzz [--requests 10000] [--seed N] [--concurrency 4]`: a real API on a throwaway
 * embedded PostgreSQL, fuzzed from its own /openapi.json. Exits 1 on any 5xx or leak; the
 * printed seed reproduces the run.
 */
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    concurrency: { type: 'string', default: '4' },
    show: { type: 'string', default: '25' },
  },
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

const dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-fuzz-'));
const database = await startEmbeddedPostgres({ dataDir, port: await freePort(), ephemeral: true });
let exitCode = 1;
try {
  await runMigrations(database.url);
  const seeding = connectDatabase(database.url, { max: 1 });
  await runSeed(seeding.db, { hashPassword });
  await seeding.close();
  const jwtSecret = `fuzz-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    JWT_SECRET: jwtSecret,
    DATABASE_POOL_SIZE: '10',
    WEBHOOK_ALLOWED_HOSTS: FUZZ_WEBHOOK_HOST,
  });
  const api = await startApi({ config, databaseUrl: database.url, log: createLogger('silent', 'fuzz') });
  try {
    const target = await prepareFuzzTarget({
      url: api.url,
      deps: api.deps,
      secrets: [new URL(database.url).password],
    });
    const report = await runFuzz({
      ...target,
      seed: Number(values.seed),
      requests: Number(values.requests),
      concurrency: Number(values.concurrency),
    });
    console.log(formatReport(report, { limit: Number(values.show) }));
    exitCode = report.serverErrors.length || report.leaks.length ? 1 : 0;
  } finally {
    await api.close();
  }
} finally {
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
