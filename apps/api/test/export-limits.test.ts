import { connect, type Socket } from 'node:net';
import { EXPORT_APPLICATION_NAME } from '@touch-crm/api-server';
import { ROLE_NAMES } from '@touch-crm/contract';
import { createUser, startTestApi, type TestApi, type TestUser } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** Enough rows (about 30 MB of CSV) that no socket buffer can take a whole export. */
const BULK_CUSTOMERS = 30_000;

async function insertBulkCustomers(api: TestApi, ownerId: string) {
  await api.deps.db.$client`
    insert into customers (first_name, last_name, phone, notes, owner_id, status)
    select 'Bulk', 'Customer ' || g, '+1202' || lpad(g::text, 7, '0'), repeat('n', 1000), ${ownerId}, 'CUSTOMER'
      from generate_series(1, ${BULK_CUSTOMERS}) g`;
}

/** The export pool's connections in this test's database, and what each is doing. */
async function exportConnections(api: TestApi) {
  return api.deps.db.$client<{ pid: number; state: string }[]>`
    select pid, state from pg_stat_activity
     where application_name = ${EXPORT_APPLICATION_NAME} and datname = current_database()`;
}
const busy = async (api: TestApi) => (await exportConnections(api)).filter((row) => row.state !== 'idle').length;

/** Opens a customer export on a raw socket and stops reading as soon as the response has begun. */
function stalledExport(api: TestApi, token: string): Promise<Socket> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(`GET /api/v1/customers/export HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${token}\r\n\r\n`),
    );
    socket.once('error', reject);
    // Cut off before the response began (a wrong idle timeout): fail now, not at the test's timeout.
    socket.once('close', () => reject(new Error('the export closed before its response began')));
    socket.once('data', (chunk) => {
      socket.pause();
      const head = chunk.toString('latin1', 0, 200);
      if (head.startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(head));
    });
  });
}

const closed = (socket: Socket) =>
  new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('stalled exports', () => {
  let api: TestApi;
  let managers: TestUser[];
  let sockets: Socket[] = [];
  beforeAll(async () => {
    api = await startTestApi({
      env: {
        EXPORT_POOL_SIZE: '10',
        EXPORT_MAX_CONCURRENT: '10',
        EXPORT_MAX_PER_USER: '2',
        EXPORT_IDLE_TIMEOUT: '10m',
      },
    });
    managers = await Promise.all(
      Array.from({ length: 6 }, () => createUser(api.deps, { role: ROLE_NAMES.salesManager })),
    );
    await insertBulkCustomers(api, managers[0]?.id as string);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await api?.close();
  });

  // Ten exports fill the socket buffers (megabytes of CSV each) before they stall: seconds of CPU,
  // many more on a loaded machine, so a timeout well above its usual 5 s.
  it('ten exports whose clients stopped reading leave /readyz and other requests answering', {
    timeout: 90_000,
  }, async () => {
    sockets = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stalledExport(api, (managers[i % 5] as TestUser).token)),
    );
    // A response may begin a moment before its query shows as running.
    await vi.waitFor(async () => expect(await busy(api)).toBe(10), { timeout: 30_000, interval: 50 });
    const token = (managers[5] as TestUser).token;
    const answers = await Promise.all([
      api.rest('GET', '//readyz'),
      ...Array.from({ length: 10 }, () => api.rest('GET', '/customers?pageSize=1', { token })),
    ]);
    expect(answers.map((res) => res.status)).toEqual(Array.from({ length: 11 }, () => 200));
  });

  it('refuses an export over the per-user or per-process cap with 429, Retry-After and the error body', async () => {
    const perUser = await api.rest('GET', '/customers/export', { token: (managers[0] as TestUser).token });
    expect(perUser.status).toBe(429);
    expect(Number(perUser.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(perUser.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', status: 429, requestId: expect.any(String) });
    const perProcess = await api.rest('GET', '/customers/export', { token: (managers[5] as TestUser).token });
    expect(perProcess.status).toBe(429);
    expect(perProcess.headers.get('retry-after')).toBeTruthy();
    expect(perProcess.body.code).toBe('TOO_MANY_REQUESTS');
  });

  it('gives the slots and connections back when the clients go away', async () => {
    for (const socket of sockets) socket.destroy();
    await vi.waitFor(async () => expect(await busy(api)).toBe(0), { timeout: 30_000, interval: 50 });
    const res = await api.rest('GET', '/customers/export?status=LEAD', { token: (managers[5] as TestUser).token });
    expect(res.status).toBe(200);
  });

  it('cuts the body off visibly when the query fails mid-stream', async () => {
    const response = await fetch(`${api.url}/api/v1/customers/export`, {
      headers: { authorization: `Bearer ${(managers[5] as TestUser).token}` },
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await api.deps.db.$client`
      select pg_terminate_backend(pid) from pg_stat_activity
       where application_name = ${EXPORT_APPLICATION_NAME} and datname = current_database() and state <> 'idle'`;
    const drain = async () => {
      for (;;) if ((await reader.read()).done) return;
    };
    await expect(drain()).rejects.toThrow();
  });
});

describe('idle exports and early failures', () => {
  let api: TestApi;
  let manager: TestUser;
  beforeAll(async () => {
    api = await startTestApi({
      env: {
        EXPORT_POOL_SIZE: '1',
        EXPORT_MAX_CONCURRENT: '1',
        EXPORT_MAX_PER_USER: '1',
        // Long enough that a loaded machine's pause between two chunks of a reading client is not taken
        // for a client that stopped; the test waits for the cut-off, not for this time.
        EXPORT_IDLE_TIMEOUT: '1s',
      },
    });
    manager = await createUser(api.deps, { role: ROLE_NAMES.salesManager });
    await insertBulkCustomers(api, manager.id);
  });
  afterAll(() => api?.close());

  it('ends an export whose client stopped reading, and releases its connection and slot', async () => {
    const socket = await stalledExport(api, manager.token);
    await vi.waitFor(async () => expect(await busy(api)).toBe(0), { timeout: 30_000, interval: 50 });
    // What the client still gets is what the buffers held: a chunked body without its last chunk.
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received = (received + chunk.toString('latin1')).slice(-100);
    });
    socket.resume();
    await closed(socket);
    expect(received).not.toMatch(/\r\n0\r\n\r\n$/);
    const next = await api.rest('GET', '/customers/export?status=LEAD', { token: manager.token });
    expect(next.status).toBe(200);
  });

  it('answers a JSON error, not a 200 with a cut body, when the query fails before its first row', async () => {
    await api.deps.exportDb?.$client.end();
    const res = await api.rest('GET', '/customers/export', { token: manager.token });
    // The export pool is gone (CONNECTION_ENDED): the database is away for this request, 503 as everywhere.
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      requestId: expect.any(String),
      reason: 'DATABASE_UNAVAILABLE',
    });
    expect(res.text).not.toContain('firstName');
  });
});
