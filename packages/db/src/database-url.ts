import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from './embedded.ts';

export const EMBEDDED_DATABASE_NAME = 'touch_crm';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  stop: () => Promise<void>;
}

async function canConnect(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 });
  }
}

async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as found from pg_database where datname = ${name}`;
    if (!row) await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * `DATABASE_URL` when set; otherwise the embedded PostgreSQL under `dataDir`, started
 * here, or reused when one from an earlier start is still running on that port.
 */
export async function resolveDatabase(options: {
  databaseUrl?: string;
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}): Promise<ResolvedDatabase> {
  if (options.databaseUrl) return { url: options.databaseUrl, embedded: false, stop: async () => {} };

  const root = resolve(options.dataDir);
  const password = await readFile(join(root, 'postgres-password'), 'utf8').catch(() => undefined);
  if (password) {
    const running = `postgres://postgres:${encodeURIComponent(password.trim())}@127.0.0.1:${options.port}/postgres`;
    if (await canConnect(running)) {
      await ensureDatabase(running, EMBEDDED_DATABASE_NAME);
      return { url: withDatabase(running, EMBEDDED_DATABASE_NAME), embedded: true, stop: async () => {} };
    }
  }
  const server = await startEmbeddedPostgres({ dataDir: root, port: options.port, log: options.log });
  await ensureDatabase(server.url, EMBEDDED_DATABASE_NAME);
  return { url: withDatabase(server.url, EMBEDDED_DATABASE_NAME), embedded: true, stop: server.stop };
}
