import { createTeam, startTestApi, type TestApi, waitFor } from '@touch-crm/test-utils';
import { afterAll, beforeAll, expect } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { startTestWorker } from './support.ts';

export interface ImportEnvironment {
  api: TestApi;
  team: Awaited<ReturnType<typeof createTeam>>;
  worker: RunningWorker;
}

/** The file's API, team and worker, started before its tests and stopped after them. */
export function useImportEnvironment(): ImportEnvironment {
  const env = {} as ImportEnvironment;
  beforeAll(async () => {
    env.api = await startTestApi();
    env.team = await createTeam(env.api.deps);
    env.worker = await startTestWorker(env.api);
  });
  afterAll(async () => {
    await env.worker?.stop();
    await env.api?.close();
  });
  return env;
}

export interface Upload {
  token?: string;
  query?: string;
  contentType?: string;
}

/** The import tests' helpers, bound to the file's API and team (set in its beforeAll). */
export function importHelpers(env: () => Pick<ImportEnvironment, 'api' | 'team'>) {
  const sql = () => env().api.deps.db.$client;

  /** Phones no other test file uses: +1 303 2xx xxxx, valid for libphonenumber, unique per call. */
  let phoneSequence = 0;
  const phone = () => `+1303${String(2_000_000 + (process.pid % 500) * 10_000 + ++phoneSequence).padStart(7, '0')}`;
  /** The same number written the way people type it. */
  const national = (e164: string) => `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;

  async function upload(body: string | Uint8Array | FormData, options: Upload = {}) {
    const headers: Record<string, string> = {};
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? env().team.manager.token}`;
    if (!(body instanceof FormData)) headers['content-type'] = options.contentType ?? 'text/csv';
    const response = await fetch(`${env().api.url}/api/v1/customers/import${options.query ?? ''}`, {
      method: 'POST',
      headers,
      body,
    });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, headers: response.headers };
  }

  const getImport = (id: string, token = env().team.manager.token, query = '') =>
    env().api.rest('GET', `/imports/${id}${query}`, { token });

  /** Uploads, then waits for the worker to finish the import. */
  async function importCsv(csv: string | Uint8Array, options: Upload & { timeoutMs?: number } = {}) {
    const accepted = await upload(csv, options);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const id = accepted.body.id as string;
    const done = await waitFor(
      async () => {
        const res = await getImport(id, options.token ?? env().team.manager.token, '?pageSize=1000');
        return ['COMPLETED', 'FAILED'].includes(res.body.status) ? res.body : null;
      },
      { timeoutMs: options.timeoutMs ?? 15_000, intervalMs: 25, what: `import ${id}` },
    );
    return { accepted: accepted.body, done };
  }

  const customerByPhone = async (e164: string) =>
    (await sql()`select c.*, u.username as owner_username from customers c join users u on u.id = c.owner_id
                 where c.phone = ${e164} and c.deleted_at is null`) as any[];

  const counts = async () =>
    (
      await sql()`select (select count(*)::int from customers) as customers, (select count(*)::int from imports) as imports,
                         (select count(*)::int from domain_events where entity_type = 'customer') as events`
    )[0] as { customers: number; imports: number; events: number };
  return { sql, phone, national, upload, getImport, importCsv, customerByPhone, counts };
}
