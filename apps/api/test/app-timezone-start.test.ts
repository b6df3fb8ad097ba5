import { spawn } from 'node:child_process';
import { freePort, programFile, startTestApi, TEST_JWT_SECRET, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

describe('APP_TIMEZONE at start', () => {
  it('refuses to start on a zone Node knows and PostgreSQL does not, saying why', async () => {
    const child = spawn(process.execPath, [programFile('api')], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        JWT_SECRET: TEST_JWT_SECRET,
        DATABASE_URL: api.databaseUrl,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        APP_TIMEZONE: 'SystemV/AST4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('APP_TIMEZONE is not a time zone this PostgreSQL knows');
    expect(output).not.toContain('API listening');
  }, 60_000);
});
