import { schema } from '@touch-crm/db';
import {
  createTeam,
  createUser,
  LOCAL_WEBHOOK_RECEIVERS,
  type RoleName,
  startTestApi,
  type TestApi,
  type TestUser,
  unique,
  uniquePhone,
  waitFor,
} from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type FeedItem = { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
type FeedPage = { items: FeedItem[]; nextCursor: string | null };

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
/** A user whose role holds `events:read_own` and `customers:create_own` only. */
let ownReader: TestUser;
beforeAll(async () => {
  api = await startTestApi({ env: LOCAL_WEBHOOK_RECEIVERS });
  team = await createTeam(api.deps);
  const roleName = unique('Feed reader');
  const [role] = await api.deps.db
    .insert(schema.roles)
    .values({ name: roleName, description: 'own events' })
    .returning({ id: schema.roles.id });
  await api.deps.db.execute(sql`
    insert into role_permissions (role_id, permission_id)
    select ${role?.id}, id from permissions where key in ('events:read_own', 'customers:create_own')`);
  ownReader = await createUser(api.deps, { role: roleName as RoleName });
});
afterAll(() => api?.close());

const feed = async (token: string, query = '') => {
  const res = await api.rest<FeedPage>('GET', `/events${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
};
/** Every event after `after` (all pages), once the feed shows one that `until` accepts. */
const readUntil = (token: string, until: (items: FeedItem[]) => boolean, after?: string) =>
  waitFor(
    async () => {
      const items: FeedItem[] = [];
      let cursor = after;
      for (;;) {
        const page = await feed(token, `?limit=1000${cursor ? `&after=${cursor}` : ''}`);
        items.push(...page.items);
        if (page.items.length === 0) return until(items) ? { items, cursor } : undefined;
        cursor = page.nextCursor ?? undefined;
      }
    },
    { what: 'the event feed to show the expected events' },
  );
const createCustomer = async (token: string) => {
  const res = await api.rest('POST', '/customers', {
    token,
    body: { firstName: 'Feed', lastName: unique('C'), phone: uniquePhone() },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string };
};

describe('GET /events: who may read it', () => {
  it('401 without a token, 403 for a sales rep (no events:read); managers and admins read it', async () => {
    expect((await api.rest('GET', '/events')).status).toBe(401);
    expect((await api.rest('GET', '/events', { token: team.rep.token })).status).toBe(403);
    expect((await api.rest('GET', '/events', { token: team.manager.token })).status).toBe(200);
    expect((await api.rest('GET', '/events', { token: team.admin.token })).status).toBe(200);
  });

  it("with events:read_own, only the events of one's own customers", async () => {
    const own = await createCustomer(ownReader.token);
    const others = await createCustomer(team.rep.token);
    const { items } = await readUntil(ownReader.token, (found) => found.some((item) => item.data.id === own.id));
    expect(items.some((item) => item.data.id === others.id)).toBe(false);
    expect(items.every((item) => item.type.startsWith('customer.'))).toBe(true);
    const all = await readUntil(team.manager.token, (found) => found.some((item) => item.data.id === others.id));
    expect(all.items.some((item) => item.data.id === own.id)).toBe(true);
  });
});

describe('GET /events: what it shows', () => {
  it('the very body a webhook subscribed to the event is delivered', async () => {
    const hook = await api.rest('POST', '/webhooks', {
      token: team.admin.token,
      body: { url: 'http://127.0.0.1:9/feed', events: '*' },
    });
    expect(hook.status, hook.text).toBe(201);
    const customer = await createCustomer(team.manager.token);
    const { items } = await readUntil(team.admin.token, (found) => found.some((item) => item.data.id === customer.id));
    const created = items.find((item) => item.type === 'customer.created' && item.data.id === customer.id);
    const [delivery] = await api.deps.db.execute<{ payload: unknown }>(
      sql`select payload from webhook_deliveries where event_id = ${created?.id}`,
    );
    expect(created).toEqual(delivery?.payload);
    // Subscriptions are never in the feed, as they are never delivered.
    expect(items.some((item) => item.type.startsWith('webhook.'))).toBe(false);
  });

  it('filters by type and by resource; an unknown type is a 400 naming `types`', async () => {
    const customer = await createCustomer(team.manager.token);
    const product = await api.rest<{ id: string }>('POST', '/products', {
      token: team.admin.token,
      body: { sku: unique('SKU'), name: 'Feed product', unitPrice: 100 },
    });
    // Both events shown: the feed may hold back the later one while an earlier transaction is in flight.
    const customers = await readUntil(
      team.admin.token,
      (found) =>
        found.some((item) => item.data.id === customer.id) && found.some((item) => item.data.id === product.body.id),
    );
    const filtered = await feed(team.admin.token, '?limit=1000&types=customer.*,product.created');
    expect(new Set(filtered.items.map((item) => item.type.split('.')[0]))).toEqual(new Set(['customer', 'product']));
    expect(
      filtered.items.filter((item) => item.type.startsWith('product.')).every((i) => i.type === 'product.created'),
    ).toBe(true);
    expect(customers.items.length).toBeGreaterThan(0);
    const bad = await api.rest('GET', '/events?types=customer.*,nothing.*', { token: team.admin.token });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path[0]).toBe('types');
    for (const after of ['abc', '99999999999999999999.1', '1.9999999999999999999']) {
      const cursor = await api.rest('GET', `/events?after=${after}`, { token: team.admin.token });
      expect(cursor.status, after).toBe(400);
      expect(cursor.body.errors[0].path).toEqual(['after']);
    }
  });

  it('pages with `after` and `limit` without repeating or skipping; at the end, the same cursor back', async () => {
    const created = await Promise.all([createCustomer(team.manager.token), createCustomer(team.manager.token)]);
    // Until both are shown: an event held back meanwhile would otherwise turn up past the end below.
    const whole = await readUntil(team.admin.token, (found) =>
      created.every((customer) => found.some((item) => item.data.id === customer.id)),
    );
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < whole.items.length; page++) {
      const next = await feed(team.admin.token, `?limit=1${cursor ? `&after=${cursor}` : ''}`);
      paged.push(...next.items.map((item) => item.id));
      cursor = next.nextCursor ?? undefined;
    }
    expect(paged).toEqual(whole.items.slice(0, paged.length).map((item) => item.id));
    const end = await feed(team.admin.token, `?after=${whole.cursor}`);
    expect(end).toEqual({ items: [], nextCursor: whole.cursor });
  });
});

describe('GET /events: a position the feed never gave', () => {
  it('is a 400 on `after` past the newest event; a genuine position still reads on', async () => {
    const customer = await createCustomer(team.manager.token);
    const end = await readUntil(team.admin.token, (found) => found.some((item) => item.data.id === customer.id));
    const [txId = '', seq = ''] = (end.cursor ?? '').split('.');
    // Made up, kept from before a database restore, or a sequence past the newest transaction's last event.
    for (const after of ['99999999999.1', '18446744073709551615.1', `${txId}.${BigInt(seq) + 1_000_000n}`]) {
      const res = await api.rest('GET', `/events?after=${after}`, { token: team.admin.token });
      expect(res.status, `${after}: ${res.text}`).toBe(400);
      expect(res.body.errors.map((issue: { path: string[] }) => issue.path)).toEqual([['after']]);
    }
    expect(await feed(team.admin.token, `?after=${end.cursor}`)).toEqual({ items: [], nextCursor: end.cursor });
    const next = await createCustomer(team.manager.token);
    const after = await readUntil(
      team.admin.token,
      (found) => found.some((item) => item.data.id === next.id),
      end.cursor,
    );
    expect(after.items.some((item) => item.data.id === customer.id)).toBe(false);
  });
});

describe('GET /events: commit order under concurrency', () => {
  it('holds back a committed event while an older transaction is still open, so no cursor passes the older one', async () => {
    const customer = await createCustomer(team.manager.token);
    const { cursor } = await readUntil(team.admin.token, (found) => found.some((item) => item.data.id === customer.id));
    const insert = (type: string) =>
      sql`insert into domain_events (type, entity_type, entity_id, customer_id, data)
          values (${type}, 'customer', ${customer.id}, ${customer.id}, ${JSON.stringify({ id: customer.id, type })}::jsonb)`;

    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserted: () => void = () => {};
    const olderInserted = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    // The older transaction: takes its id and writes first, commits last.
    const older = api.deps.db.transaction(async (tx) => {
      await tx.execute(insert('customer.updated'));
      inserted();
      await released;
    });
    await olderInserted;
    await api.deps.db.execute(insert('customer.status_changed'));

    // The younger event is committed, but the older transaction is open: neither is shown yet.
    // (Only this customer's: another file's transaction may hold back events of this one's too.)
    const ofCustomer = (items: FeedItem[]) => items.filter((item) => item.data.id === customer.id);
    const meanwhile = await feed(team.admin.token, `?after=${cursor}`);
    expect(ofCustomer(meanwhile.items)).toEqual([]);

    release();
    await older;
    const { items } = await readUntil(team.admin.token, (found) => ofCustomer(found).length >= 2, cursor);
    expect(ofCustomer(items).map((item) => item.type)).toEqual(['customer.updated', 'customer.status_changed']);
  });
});
