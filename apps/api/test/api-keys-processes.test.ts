import { type ChildProcess, spawn } from 'node:child_process';
import {
  createTeam,
  freePort,
  programFile,
  startTestApi,
  TEST_JWT_SECRET,
  type TestApi,
  waitFor,
} from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Two API servers on one database: this file's, and a separate process started from main.ts.
let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let child: ChildProcess;
let childOutput = '';
let childUrl: string;

beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
  const port = await freePort();
  child = spawn(process.execPath, [programFile('api')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: api.databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    childOutput += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  await waitFor(() => childOutput.includes('API listening') || child.exitCode !== null, {
    what: 'the second API process',
    timeoutMs: 30_000,
  });
  if (child.exitCode !== null) throw new Error(`the second API exited:\n${childOutput}`);
  childUrl = `http://127.0.0.1:${port}/api/v1`;
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await api?.close();
});

const onChild = async (path: string, key: string) => {
  const response = await fetch(`${childUrl}${path}`, { headers: { 'x-api-key': key } });
  return { status: response.status, body: (await response.json()) as any };
};

describe('revoking a key on one API process', () => {
  it('refuses it on the other process from the very next request', async () => {
    const created = await api.rest('POST', '/api-keys', { token: team.rep.token, body: { name: 'Two processes' } });
    const { id, key } = created.body;
    expect((await onChild('/customers', key)).status).toBe(200);
    expect((await api.rest('GET', '/customers', { token: key })).status).toBe(200);

    expect((await api.rest('DELETE', `/api-keys/${id}`, { token: team.admin.token })).status).toBe(200);
    const refused = await onChild('/customers', key);
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toBe('Invalid API key');
    expect(childOutput).not.toContain(key.slice(5));
  });
});
