import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { programFile, startTestApi, type TestApi, withDatabase } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_WORKER_ENV } from './support.ts';

let api: TestApi;
const empty = `touch_crm_empty_${randomBytes(6).toString('hex')}`;
beforeAll(async () => {
  api = await startTestApi();
  await api.deps.db.execute(sql.raw(`create database ${empty}`));
});
afterAll(async () => {
  await api?.deps.db.execute(sql.raw(`drop database if exists ${empty} with (force)`));
  await api?.close();
});

describe('a worker started on a database without the migrations', () => {
  it('exits 1 with a clear message, its error logged without the statement or its parameters', async () => {
    const run = promisify(execFile)(process.execPath, [programFile('worker')], {
      env: {
        ...process.env,
        ...FAST_WORKER_ENV,
        LOG_LEVEL: 'info',
        DATABASE_URL: withDatabase(api.databaseUrl, empty),
      },
      timeout: 60_000,
    });
    const failure = await run.then(
      () => undefined,
      (error: { code?: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    const output = `${failure?.stdout}\n${failure?.stderr}`;
    const fatal = output
      .split('\n')
      .flatMap((line) => (line.startsWith('{') ? [JSON.parse(line)] : []))
      .find((line) => line.level === 60);
    expect(fatal).toMatchObject({
      msg: 'the database has no migrations applied: run the API or pnpm db:migrate first',
      err: { type: 'DatabaseError', sqlstate: '42P01' },
    });
    for (const leak of ['insert into', 'params', 'worker_heartbeats (']) expect(output).not.toContain(leak);
  });
});
