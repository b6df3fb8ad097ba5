import { spawn } from 'node:child_process';
import { freePort, programFile, TEST_JWT_SECRET, waitFor } from '@touch-crm/test-utils';

export interface SecondApi {
  /** The REST prefix of the second process, `http://127.0.0.1:<port>/api/v1`. */
  url: string;
  stop: () => Promise<void>;
}

/** An API process (apps/api/src/main.ts) on `databaseUrl`, started with `env` on top of the test settings. */
export async function spawnApi(databaseUrl: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [programFile('api')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, port, output: () => output };
}

/** Another API process on the same database, as a second replica would run. */
export async function startSecondApi(databaseUrl: string, env: Record<string, string> = {}): Promise<SecondApi> {
  const { child, port, output } = await spawnApi(databaseUrl, env);
  await waitFor(() => output().includes('API listening') || child.exitCode !== null, {
    what: 'the second API process',
    timeoutMs: 60_000,
  });
  if (child.exitCode !== null) throw new Error(`the second API exited:\n${output()}`);
  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
