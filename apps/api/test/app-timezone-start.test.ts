import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApi } from './support/second-api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

describe('APP_TIMEZONE at start', () => {
  it('refuses to start on a zone Node knows and PostgreSQL does not, saying why', async () => {
    const { child, output } = await spawnApi(api.databaseUrl, { APP_TIMEZONE: 'SystemV/AST4' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output()).toContain('APP_TIMEZONE is not a time zone this PostgreSQL knows');
    expect(output()).not.toContain('API listening');
  }, 60_000);
});
