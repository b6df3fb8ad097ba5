import { encodeCursor } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { scoreRfm } from '@touch-crm/services';
import {
  createTeam,
  createUser,
  insertCustomer,
  insertProduct,
  startTestApi,
  type TestApi,
  type TestUser,
  uniquePhone,
} from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

interface Synced {
  id: string;
  updatedAt: string;
  owner?: { id: string };
}
interface SyncAnswer {
  items: Synced[];
  total: number;
  pageSize: number;
  nextCursor: string | null;
}

async function syncPage(path: string, token: string, query: Record<string, string | undefined>) {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => !!entry[1]));
  const res = await api.rest<SyncAnswer>('GET', `${path}?${params}`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** A customer's `updated_at` moves past `instant`: waits for the clock rather than sleeping. */
const clockPast = (instant: string) =>
  vi.waitFor(() => expect(Date.now()).toBeGreaterThan(Date.parse(instant)), { interval: 2 });

describe('cursor sync of GET /customers while customers are created and edited', () => {
  it('misses no change and serves no version twice', async () => {
    const owner = await createUser(api.deps);
    const seeded = await Promise.all(Array.from({ length: 25 }, () => insertCustomer(api.deps, owner.id)));
    const served: Synced[] = [];
    let cursor: string | undefined;
    const page = async () => {
      const answer = await syncPage('/customers', team.admin.token, { ownerId: owner.id, limit: '7', cursor });
      served.push(...answer.items);
      cursor = answer.nextCursor ?? cursor;
      return answer.items.length;
    };

    let writing = true;
    const writer = (async () => {
      for (let index = 0; index < 15; index++) {
        const created = await api.rest('POST', '/customers', {
          token: owner.token,
          body: { firstName: 'New', lastName: `Sync ${index}`, phone: uniquePhone() },
        });
        expect(created.status).toBe(201);
        const edited = seeded[index % seeded.length];
        const update = await api.rest('PUT', `/customers/${edited?.id}`, {
          token: team.admin.token,
          body: { notes: `edit ${index}` },
        });
        expect(update.status).toBe(200);
      }
      writing = false;
    })();
    // Page while the writer runs, then until a page after it finished comes back empty.
    while (writing) await page();
    await writer;
    while ((await page()) > 0);

    const rows = await api.deps.db
      .select({ id: schema.customers.id, updatedAt: schema.customers.updatedAt })
      .from(schema.customers)
      .where(eq(schema.customers.ownerId, owner.id));
    expect(rows).toHaveLength(40);
    const versions = served.map((item) => `${item.id}@${item.updatedAt}`);
    expect(new Set(versions).size).toBe(versions.length);
    for (const row of rows) expect(versions).toContain(`${row.id}@${row.updatedAt.toISOString()}`);
    // In (updatedAt, id) order: a version served later is never older than one served before it.
    const keys = served.map((item) => [item.updatedAt, item.id].join(' '));
    expect(keys).toEqual([...keys].sort());
  });
});

describe('updatedAfter on the lists', () => {
  it('keeps only customers changed after the instant, in page and cursor mode', async () => {
    const owner = await createUser(api.deps);
    const before = await insertCustomer(api.deps, owner.id);
    await clockPast(before.updatedAt.toISOString());
    const after = await insertCustomer(api.deps, owner.id);
    const query = { ownerId: owner.id, updatedAfter: before.updatedAt.toISOString() };
    const paged = await syncPage('/customers', owner.token, query);
    expect(paged.items.map((item) => item.id)).toEqual([after.id]);
    expect(paged.nextCursor).toBeNull();
    const synced = await syncPage('/customers', owner.token, { ...query, limit: '10' });
    expect(synced.items.map((item) => item.id)).toEqual([after.id]);
    expect(synced.nextCursor).toEqual(expect.any(String));
  });

  it('sees an edit as a change: the edited product comes back', async () => {
    const created = await api.rest('POST', '/products', {
      token: team.admin.token,
      body: { sku: `SYNC-${Date.now()}`, name: 'Sync', unitPrice: 100 },
    });
    const since = created.body.updatedAt as string;
    await clockPast(since);
    const edited = await api.rest('PUT', `/products/${created.body.id}`, {
      token: team.admin.token,
      body: { name: 'Sync edited' },
    });
    expect(edited.status).toBe(200);
    const answer = await syncPage('/products', team.admin.token, { updatedAfter: since, limit: '100' });
    expect(answer.items.map((item) => item.id)).toContain(created.body.id);
    const none = await syncPage('/products', team.admin.token, { updatedAfter: edited.body.updatedAt, limit: '100' });
    expect(none.items.map((item) => item.id)).not.toContain(created.body.id);
  });
});

describe('an RFM rescoring reaches the customer sync (customer_rfm is its own row)', () => {
  it('serves each rescored customer once, at the later of its two rows’ times, merged in keyset order', async () => {
    const owner = await createUser(api.deps);
    const customers = await Promise.all(Array.from({ length: 6 }, () => insertCustomer(api.deps, owner.id)));
    const sync = async (cursor: string | undefined) => {
      const items: (Synced & { level: { name: string } | null })[] = [];
      for (;;) {
        const answer = await syncPage('/customers', owner.token, { ownerId: owner.id, limit: '2', cursor });
        items.push(...(answer.items as typeof items));
        if (answer.items.length === 0) return { items, cursor };
        cursor = answer.nextCursor ?? cursor;
      }
    };
    const first = await sync(undefined);
    expect(first.items.map((item) => item.id).sort()).toEqual(customers.map((c) => c.id).sort());

    // Three of them order; the job scores them (writing customer_rfm only), then one is edited.
    const buyers = customers.slice(0, 3);
    await api.deps.db.insert(schema.orders).values(
      buyers.map((customer, index) => ({
        customerId: customer.id,
        status: 'PAID' as const,
        currency: 'USD',
        subtotal: 1000 * (index + 1),
        total: 1000 * (index + 1),
      })),
    );
    await clockPast(first.items.at(-1)?.updatedAt as string);
    await scoreRfm(api.deps, new Date());
    const [rescored] = await api.deps.db
      .select({ updatedAt: schema.customerRfm.updatedAt })
      .from(schema.customerRfm)
      .where(eq(schema.customerRfm.customerId, buyers[0]?.id as string));
    await clockPast(rescored?.updatedAt.toISOString() as string);
    const edited = await api.rest('PUT', `/customers/${buyers[1]?.id}`, { token: owner.token, body: { notes: 'x' } });
    expect(edited.status).toBe(200);

    const second = await sync(first.cursor);
    expect(second.items.map((item) => item.id).sort()).toEqual(buyers.map((c) => c.id).sort());
    // Keyset order across the two streams, the edited customer last, every one with its level.
    const keys = second.items.map((item) => `${item.updatedAt} ${item.id}`);
    expect(keys).toEqual([...keys].sort());
    expect(second.items.at(-1)?.id).toBe(buyers[1]?.id);
    expect(second.items.at(-1)?.updatedAt).toBe(edited.body.updatedAt);
    expect(second.items.every((item) => item.level !== null)).toBe(true);
    expect(second.items.find((item) => item.id === buyers[0]?.id)?.updatedAt).toBe(rescored?.updatedAt.toISOString());
    // The detail shows the same time, and page mode's updatedAfter finds the same customers.
    const detail = await api.rest('GET', `/customers/${buyers[0]?.id}`, { token: owner.token });
    expect(detail.body.updatedAt).toBe(rescored?.updatedAt.toISOString());
    const since = first.items.at(-1)?.updatedAt;
    const paged = await syncPage('/customers', owner.token, { ownerId: owner.id, updatedAfter: since });
    expect(paged.items.map((item) => item.id).sort()).toEqual(buyers.map((c) => c.id).sort());
    expect(paged.total).toBe(3);
    expect((await sync(second.cursor)).items).toEqual([]);
  });
});

describe('cursor mode keeps the caller’s scope', () => {
  it('serves a sales rep only their own customers, page after page', async () => {
    const rep: TestUser = await createUser(api.deps);
    const other: TestUser = await createUser(api.deps);
    const own = await Promise.all(Array.from({ length: 5 }, () => insertCustomer(api.deps, rep.id)));
    const others = await Promise.all(Array.from({ length: 5 }, () => insertCustomer(api.deps, other.id)));
    // A row written in the millisecond a page is read lies at the watermark and waits for the next
    // page: the last one written must be behind the clock, or the loop below stops short.
    const latest = [...own, ...others].map((customer) => customer.updatedAt.getTime());
    await clockPast(new Date(Math.max(...latest)).toISOString());
    const seen: Synced[] = [];
    let cursor: string | undefined;
    for (;;) {
      const answer = await syncPage('/customers', rep.token, { limit: '2', cursor });
      if (answer.items.length === 0) break;
      seen.push(...answer.items);
      cursor = answer.nextCursor ?? undefined;
    }
    expect(seen.every((item) => item.owner?.id === rep.id)).toBe(true);
    expect(seen.map((item) => item.id).sort()).toEqual(own.map((customer) => customer.id).sort());
  });
});

describe('an invalid cursor', () => {
  const foreign = encodeCursor({ updatedAt: '2026-01-01T00:00:00.000Z', id: 'not-a-uuid' });
  it.each(['/customers', '/orders', '/products', '/promotions', '/tasks', '/messages'])(
    'is a 400 naming cursor on %s',
    async (path) => {
      for (const cursor of ['garbage!', foreign, btoa('{"a":1}')]) {
        const res = await api.rest('GET', `${path}?cursor=${encodeURIComponent(cursor)}`, { token: team.admin.token });
        expect(res.status).toBe(400);
        expect(res.body.errors.map((issue: { path: string[] }) => issue.path[0])).toContain('cursor');
      }
    },
  );
});

/** base64url of the JSON, as the cursor is spelled. */
const base64url = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const decoded = (cursor: string): string[] => JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));

async function expectCursorRefused(path: string, cursor: string) {
  const res = await api.rest('GET', `${path}?limit=2&cursor=${encodeURIComponent(cursor)}`, {
    token: team.admin.token,
  });
  expect(res.status, `${path} ${cursor}: ${res.text}`).toBe(400);
  expect(res.body.errors.map((issue: { path: string[] }) => issue.path[0])).toEqual(['cursor']);
  return res.body.errors[0].message as string;
}

describe('a cursor is signed and bound to its list', () => {
  it('refuses a customers cursor on /orders and /products', async () => {
    await Promise.all(Array.from({ length: 3 }, () => insertCustomer(api.deps, team.admin.id)));
    const { nextCursor } = await syncPage('/customers', team.admin.token, { limit: '2' });
    expect(nextCursor).toEqual(expect.any(String));
    for (const path of ['/orders', '/products']) await expectCursorRefused(path, nextCursor as string);
  });

  it('refuses a hand-made cursor, unsigned or with a made-up tag', async () => {
    const position = ['2999-01-01T00:00:00.000Z', crypto.randomUUID()];
    await expectCursorRefused('/customers', base64url(JSON.stringify(position)));
    await expectCursorRefused('/customers', base64url(JSON.stringify([...position, 'A'.repeat(22)])));
  });

  it('refuses a genuine cursor with one byte changed', async () => {
    await Promise.all(Array.from({ length: 3 }, () => insertCustomer(api.deps, team.admin.id)));
    const { nextCursor } = await syncPage('/customers', team.admin.token, { limit: '2' });
    const parts = decoded(nextCursor as string);
    const flip = (text = '', at = 0) => text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1);
    const changed = (index: number, at: number) => base64url(JSON.stringify(parts.with(index, flip(parts[index], at))));
    // Another row's position under the same tag, the same position under another tag, and the text itself.
    await expectCursorRefused('/customers', changed(1, 35));
    await expectCursorRefused('/customers', changed(2, 5));
    await expectCursorRefused('/customers', flip(nextCursor as string, 10));
  });

  it('tells a client holding a cursor from before signing to restart from `updatedAfter`', async () => {
    const legacy = encodeCursor({ updatedAt: '2026-01-01T00:00:00.000Z', id: crypto.randomUUID() });
    expect(await expectCursorRefused('/products', legacy)).toContain('updatedAfter');
  });

  it('pages a genuine cursor through /products with nothing missed or repeated', async () => {
    const since = new Date().toISOString();
    await clockPast(since);
    const created = await Promise.all(Array.from({ length: 7 }, () => insertProduct(api.deps)));
    await clockPast(new Date(Math.max(...created.map((product) => product.updatedAt.getTime()))).toISOString());
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const answer = await syncPage('/products', team.admin.token, { updatedAfter: since, limit: '2', cursor });
      if (answer.items.length === 0) break;
      seen.push(...answer.items.map((item) => item.id));
      cursor = answer.nextCursor ?? undefined;
    }
    expect(seen.sort()).toEqual(created.map((product) => product.id).sort());
    // Caught up: the last cursor comes back.
    expect((await syncPage('/products', team.admin.token, { limit: '2', cursor })).nextCursor).toBe(cursor);
  });
});
