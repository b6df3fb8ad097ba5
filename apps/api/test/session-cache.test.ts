import { createServer, type Server, Socket } from 'node:net';
import { connectListener, schema } from '@touch-crm/db';
import { authenticate, jobCaller, SessionCache, updateUser } from '@touch-crm/services';
import { createUser, startTestApi, type TestApi, waitFor } from '@touch-crm/test-utils';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The session cache's listener reaches PostgreSQL through a TCP relay this test can stall, as a
// network partition would: the connection stays open but nothing comes back.

/** A relay to `port` whose server-to-client direction can be held back or slowed down. */
async function startRelay(port: number) {
  let stalled = false;
  let delayMs = 0;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(port, '127.0.0.1');
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (stalled) held.push(() => client.write(chunk));
      else if (delayMs > 0) setTimeout(() => client.write(chunk), delayMs);
      else client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    stall: () => {
      stalled = true;
    },
    delay: (ms: number) => {
      delayMs = ms;
    },
    resume: () => {
      stalled = false;
      for (const write of held.splice(0)) write();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let api: TestApi;
let relay: Awaited<ReturnType<typeof startRelay>>;
let cache: SessionCache;

beforeAll(async () => {
  api = await startTestApi();
  const url = new URL(api.databaseUrl);
  relay = await startRelay(Number(url.port));
  url.hostname = '127.0.0.1';
  url.port = String(relay.port);
  cache = new SessionCache({
    connectListener: (handlers) => connectListener(url.toString(), handlers, 'session-cache-test'),
    sender: api.deps.db.$client,
  });
  await cache.start();
}, 60_000);

afterAll(async () => {
  relay?.resume();
  await cache?.close();
  await relay?.close();
  await api?.close();
});

describe('the session cache when its listener goes quiet', () => {
  it('stops trusting its entries and reads the user from the database', async () => {
    const deps = { ...api.deps, sessionCache: cache };
    const user = await createUser(api.deps, { fullName: 'Before Stall' });
    await waitFor(() => cache.trusted(), { what: 'the first heartbeat back' });
    expect((await authenticate(deps, user.token)).fullName).toBe('Before Stall');
    expect(cache.get(user.id)?.row.full_name).toBe('Before Stall');

    relay.stall();
    await api.deps.db.update(schema.users).set({ fullName: 'During Stall' }).where(eq(schema.users.id, user.id));
    await waitFor(() => !cache.trusted(), { what: 'the cache to stop trusting itself', timeoutMs: 5_000 });
    expect(cache.get(user.id)).toBeUndefined();
    expect((await authenticate(deps, user.token)).fullName).toBe('During Stall');

    relay.resume();
    await waitFor(() => cache.trusted(), { what: 'heartbeats back' });
    expect((await authenticate(deps, user.token)).fullName).toBe('During Stall');
  });

  it('distrusts at once when its LISTEN connection is closed, and listens again', async () => {
    const deps = { ...api.deps, sessionCache: cache };
    const user = await createUser(api.deps, { fullName: 'Before Loss' });
    await waitFor(() => cache.trusted(), { what: 'heartbeats' });
    await authenticate(deps, user.token);
    expect(cache.get(user.id)).toBeDefined();
    await api.deps.db.execute(sql`
      select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'session-cache-test'`);
    await waitFor(() => !cache.trusted(), { what: 'the loss noticed', timeoutMs: 1_000 });
    expect(cache.get(user.id)).toBeUndefined();
    await waitFor(() => cache.trusted(), { what: 'LISTEN again and a heartbeat back' });
    await api.deps.db.update(schema.users).set({ fullName: 'After Loss' }).where(eq(schema.users.id, user.id));
    await cache.fence();
    expect((await authenticate(deps, user.token)).fullName).toBe('After Loss');
  });

  it('fences a change: resolves once this listener has read it', async () => {
    const deps = { ...api.deps, sessionCache: cache };
    const user = await createUser(api.deps, { fullName: 'Fenced' });
    await waitFor(() => cache.trusted(), { what: 'heartbeats' });
    await authenticate(deps, user.token);
    await api.deps.db.update(schema.users).set({ isActive: false }).where(eq(schema.users.id, user.id));
    await cache.fence();
    expect(cache.get(user.id)).toBeUndefined();
    await expect(authenticate(deps, user.token)).rejects.toThrow(/deactivated|Invalid/);
  });
});

describe('a change made through a service verb', () => {
  it('returns only once a slow listener has dropped the entry (the fence)', async () => {
    const deps = { ...api.deps, sessionCache: cache };
    const user = await createUser(api.deps, { fullName: 'Slow Listener' });
    await waitFor(() => cache.trusted(), { what: 'heartbeats' });
    await authenticate(deps, user.token);
    expect(cache.get(user.id)).toBeDefined();
    // Notifications reach this listener 300 ms late: still trusted (heartbeats come back within
    // 1.5 s), so without the fence its next request would use the old row.
    relay.delay(300);
    try {
      await waitFor(() => cache.trusted(), { what: 'heartbeats through the slow relay' });
      await updateUser(api.deps, jobCaller('test'), { id: user.id, isActive: false });
      expect(cache.trusted()).toBe(true);
      expect(cache.get(user.id)).toBeUndefined();
      await expect(authenticate(deps, user.token)).rejects.toThrow(/deactivated|Invalid/);
    } finally {
      relay.delay(0);
    }
  });
});
