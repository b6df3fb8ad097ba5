import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDatabase, runMigrations, runSeed, startEmbeddedPostgres } from '@touch-crm/db';
import { createBoss, ensureQueues } from '@touch-crm/jobs';
import { hashPassword } from '@touch-crm/services';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { TEMPLATE_DATABASE, withDatabase } from './database.ts';
import { freePort } from './ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseServerUrl: string;
  }
}

/**
 * One real PostgreSQL for the run (embedded, or TEST_DATABASE_URL's server), with a
 * template database that has the real migrations and seed applied; each test file clones it.
 */
export default async function setup(project: TestProject) {
  let serverUrl = process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-test-'));
    const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), ephemeral: true });
    serverUrl = server.url;
    stop = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
  await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();

  const templateUrl = withDatabase(serverUrl, TEMPLATE_DATABASE);
  await runMigrations(templateUrl);
  const template = connectDatabase(templateUrl, { max: 1 });
  await runSeed(template.db, { hashPassword });
  await template.close();
  // pg-boss's schema and queues, so each cloned database starts with them installed.
  const boss = createBoss(templateUrl, { max: 1, schedule: false, supervise: false, listen: false });
  await boss.start();
  await ensureQueues(boss);
  await boss.stop({ graceful: false, timeout: 5_000 });

  project.provide('databaseServerUrl', serverUrl);
  return stop;
}
