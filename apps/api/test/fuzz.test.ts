import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { FUZZ_WEBHOOK_HOST, formatReport, prepareFuzzTarget, runFuzz } from '@touch-crm/test-utils/fuzz';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { WEBHOOK_ALLOWED_HOSTS: FUZZ_WEBHOOK_HOST } });
});
afterAll(() => api?.close());

describe('a fixed-seed sample of the OpenAPI fuzz suite (`pnpm fuzz` runs the full one)', () => {
  it('answers 1,000 generated requests across every operation and role without a 5xx or a leak', async () => {
    const target = await prepareFuzzTarget({
      url: api.url,
      deps: api.deps,
      secrets: [new URL(api.databaseUrl).password],
    });
    const report = await runFuzz({ ...target, seed: 20261202, requests: 1_000 });
    const operations = Object.values(target.document.paths).flatMap((item) => Object.keys(item)).length;
    expect(Object.keys(report.byOperation).length, formatReport(report)).toBeGreaterThanOrEqual(operations);
    expect(report.serverErrors, formatReport(report)).toEqual([]);
    expect(report.leaks, formatReport(report)).toEqual([]);
  }, 90_000); // 7–15 s for the requests alone here; the margin is for a loaded machine
});
