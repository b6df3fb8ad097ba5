import { schema } from '@touch-crm/db';
import { createTeam, insertCustomer, insertProduct, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describe('POST /products', () => {
  it('lets a manager add a product, answering 201 with the stored product', async () => {
    const res = await api.rest('POST', '/products', {
      token: team.manager.token,
      body: { sku: 'COFFEE-250G', name: 'Coffee 250 g', description: 'Whole beans', unitPrice: 1299 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      sku: 'COFFEE-250G',
      name: 'Coffee 250 g',
      description: 'Whole beans',
      unitPrice: 1299,
      isActive: true,
    });
    expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
  });

  it('refuses a second product with the same SKU with 409', async () => {
    const body = { sku: 'TEA-100G', name: 'Tea', unitPrice: 500 };
    expect((await api.rest('POST', '/products', { token: team.admin.token, body })).status).toBe(201);
    const again = await api.rest('POST', '/products', { token: team.manager.token, body });
    expect(again.status).toBe(409);
  });

  it.each([
    ['a negative price', { unitPrice: -1 }, 'unitPrice'],
    ['a fractional price', { unitPrice: 12.5 }, 'unitPrice'],
    ['an empty SKU', { sku: '' }, 'sku'],
    ['a missing name', { name: undefined }, 'name'],
  ])('answers %s with 400 naming the field', async (_, change, field) => {
    const res = await api.rest('POST', '/products', {
      token: team.manager.token,
      body: { sku: 'BAD-1', name: 'Bad', unitPrice: 100, ...change },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((issue: { path: string[] }) => issue.path[0])).toContain(field);
  });

  it('is forbidden to sales reps', async () => {
    const res = await api.rest('POST', '/products', {
      token: team.rep.token,
      body: { sku: 'REP-1', name: 'Nope', unitPrice: 100 },
    });
    expect(res.status).toBe(403);
  });
});

describe('GET /products', () => {
  it('lets every role read the catalogue, paginated with a total', async () => {
    for (let i = 0; i < 3; i++) await insertProduct(api.deps, { name: `Paged ${i}`, unitPrice: 100 + i });
    for (const user of [team.rep, team.otherRep, team.manager, team.admin]) {
      const res = await api.rest('GET', '/products?pageSize=2&search=paged&sort=-unitPrice', { token: user.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: 3, page: 1, pageSize: 2 });
      expect(res.body.items.map((p: { unitPrice: number }) => p.unitPrice)).toEqual([102, 101]);
    }
  });

  it('filters by isActive and searches SKU and name case-insensitively', async () => {
    const inactive = await insertProduct(api.deps, { sku: 'RETIRED-MUG', name: 'Old mug', isActive: false });
    const res = await api.rest('GET', '/products?isActive=false&search=retired', { token: team.rep.token });
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual([inactive.id]);
    const active = await api.rest('GET', '/products?isActive=true&search=retired', { token: team.rep.token });
    expect(active.body.total).toBe(0);
  });

  it('rejects a page size over 100 and an unknown sort', async () => {
    expect((await api.rest('GET', '/products?pageSize=101', { token: team.rep.token })).status).toBe(400);
    expect((await api.rest('GET', '/products?sort=password', { token: team.rep.token })).status).toBe(400);
  });
});

describe('GET /products/{id}', () => {
  it('returns the product, 404 for an unknown id and 400 for a malformed one', async () => {
    const product = await insertProduct(api.deps);
    const res = await api.rest('GET', `/products/${product.id}`, { token: team.rep.token });
    expect(res.status).toBe(200);
    expect(res.body.sku).toBe(product.sku);
    expect((await api.rest('GET', `/products/${MISSING_ID}`, { token: team.rep.token })).status).toBe(404);
    expect((await api.rest('GET', '/products/not-an-id', { token: team.rep.token })).status).toBe(400);
  });
});

describe('PUT /products/{id}', () => {
  it('changes only the given fields', async () => {
    const product = await insertProduct(api.deps, { name: 'Before', unitPrice: 700 });
    const res = await api.rest('PUT', `/products/${product.id}`, {
      token: team.manager.token,
      body: { unitPrice: 750 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Before', unitPrice: 750, sku: product.sku });
  });

  it('answers a taken SKU with 409, a rep with 403 and an unknown product with 404', async () => {
    const [a, b] = [await insertProduct(api.deps), await insertProduct(api.deps)];
    expect(
      (await api.rest('PUT', `/products/${a.id}`, { token: team.manager.token, body: { sku: b.sku } })).status,
    ).toBe(409);
    expect((await api.rest('PUT', `/products/${a.id}`, { token: team.rep.token, body: { name: 'X' } })).status).toBe(
      403,
    );
    expect(
      (await api.rest('PUT', `/products/${MISSING_ID}`, { token: team.manager.token, body: { name: 'X' } })).status,
    ).toBe(404);
  });
});

describe('DELETE /products/{id}', () => {
  it('removes a product no order references', async () => {
    const product = await insertProduct(api.deps);
    const res = await api.rest('DELETE', `/products/${product.id}`, { token: team.manager.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: product.id, outcome: 'DELETED' });
    expect((await api.rest('GET', `/products/${product.id}`, { token: team.manager.token })).status).toBe(404);
  });

  it('deactivates a product that orders reference, keeping it readable', async () => {
    const product = await insertProduct(api.deps, { unitPrice: 300 });
    const customer = await insertCustomer(api.deps, team.rep.id);
    const order = await api.rest('POST', '/orders', {
      token: team.rep.token,
      body: { customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] },
    });
    expect(order.status).toBe(201);

    const res = await api.rest('DELETE', `/products/${product.id}`, { token: team.admin.token });
    expect(res.body).toEqual({ id: product.id, outcome: 'DEACTIVATED' });
    const [row] = await api.deps.db.select().from(schema.products).where(eq(schema.products.id, product.id));
    expect(row?.isActive).toBe(false);
    const reorder = await api.rest('POST', '/orders', {
      token: team.rep.token,
      body: { customerId: customer.id, items: [{ productId: product.id, quantity: 1 }] },
    });
    expect(reorder.status).toBe(400);
    expect(reorder.body.errors[0].path).toEqual(['items', 0, 'productId']);
  });

  it('is forbidden to sales reps', async () => {
    const product = await insertProduct(api.deps);
    expect((await api.rest('DELETE', `/products/${product.id}`, { token: team.rep.token })).status).toBe(403);
  });
});
