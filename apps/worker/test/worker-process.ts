import { type ChildProcess, spawn } from 'node:child_process';
import { programFile } from '@touch-crm/test-utils';

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote so far (pino JSON lines). */
  output: () => string;
  /** The first log line with this message. */
  logged: (msg: string) => LogLine | undefined;
}

/** The real worker process (`programFile('worker')`), resolved once it logs "worker ready". */
export async function spawnWorker(env: Record<string, string>, children: Set<ChildProcess>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [programFile('worker')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
    const ready = () => {
      if (!output.includes('"msg":"worker ready"')) return;
      clearTimeout(timer);
      child.stdout?.off('data', ready);
      resolve();
    };
    child.stdout?.on('data', ready);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready:\n${output}`));
    });
  });
  return { child, exited, output: () => output, logged: (msg) => logLines(output).find((line) => line.msg === msg) };
}

type LogLine = { msg: string; time: number; level: number } & Record<string, unknown>;

const logLines = (output: string): LogLine[] =>
  output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });

/** Kills every child still running (SIGKILL), for afterEach. */
export function killAll(children: Set<ChildProcess>): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}
