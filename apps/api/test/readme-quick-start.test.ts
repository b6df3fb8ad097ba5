import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

describe("the README's quick start", () => {
  it('signs in, sets $TOKEN and reads /auth/me as the default admin', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const block = /<!-- quick-start-login -->\n```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toContain('TOKEN=');
    const script = (block as string).replaceAll('localhost:3000', new URL(api.url).host);
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toMatchObject({ username: 'admin', mustChangePassword: true });
  });
});
