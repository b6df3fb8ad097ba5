import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName } from '@touch-crm/db';
import { createTeam, insertCustomer, insertProduct, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi();
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

/** A small RFC 4180 reader for the assertions: quoted fields, doubled quotes, CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  return rows;
}

const exportAs = (path: string, token: string) => api.rest('GET', path, { token });

describe('GET /customers/export', () => {
  it('streams every customer in scope as CSV with a header row, quoting and defusing formulas', async () => {
    const tricky = await insertCustomer(api.deps, team.manager.id, {
      firstName: 'Quote "Q" Comma, Inc',
      notes: 'line one\nline two',
      address: '=HYPERLINK("http://evil.example")',
    });
    const res = await exportAs('/customers/export', team.manager.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    expect(res.headers.get('content-disposition')).toContain('customers.csv');
    const [header, ...rows] = parseCsv(res.text);
    expect(header?.slice(0, 4)).toEqual(['id', 'firstName', 'lastName', 'phone']);
    const row = rows.find((r) => r[0] === tricky.id) as string[];
    const cell = (name: string) => row[header?.indexOf(name) ?? -1];
    expect(cell('firstName')).toBe('Quote "Q" Comma, Inc');
    expect(cell('notes')).toBe('line one\nline two');
    expect(cell('address')).toBe(`'=HYPERLINK("http://evil.example")`);
    expect(cell('phone')).toBe(tricky.phone);
    expect(cell('ownerUsername')).toBe(team.manager.username);
  });

  it('applies the list filters and answers NDJSON with format=json', async () => {
    await insertCustomer(api.deps, team.manager.id, { status: 'INACTIVE' });
    const res = await exportAs('/customers/export?status=INACTIVE&format=json', team.manager.token);
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = res.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.status === 'INACTIVE')).toBe(true);
    expect(typeof lines[0].smsOptIn).toBe('boolean');
  });

  it("stays in the caller's scope: a rep given the export permission gets only their own customers", async () => {
    const roles = await roleIdsByName(api.deps.db);
    const repRole = roles[ROLE_NAMES.salesRep] as string;
    expect((await exportAs('/customers/export', team.rep.token)).status).toBe(403);
    const current = (await api.rest('GET', '/roles', { token: team.admin.token })).body.find(
      (role: { id: string }) => role.id === repRole,
    ).permissions;
    await api.rest('PUT', `/roles/${repRole}/permissions`, {
      token: team.admin.token,
      body: { permissions: [...current, 'customers:export'] },
    });
    const own = await insertCustomer(api.deps, team.rep.id);
    const others = await insertCustomer(api.deps, team.otherRep.id);
    const res = await exportAs('/customers/export?format=json', team.rep.token);
    const ids = res.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);
    expect(ids).toContain(own.id);
    expect(ids).not.toContain(others.id);
    await api.rest('PUT', `/roles/${repRole}/permissions`, { token: team.admin.token, body: { permissions: current } });
  });

  it('refuses without a token (401) and names a bad filter (400)', async () => {
    expect((await api.rest('GET', '/customers/export')).status).toBe(401);
    const bad = await exportAs('/customers/export?status=NOPE', team.manager.token);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toEqual(['status']);
  });
});

describe('GET /orders/export', () => {
  it('streams orders with money in minor units', async () => {
    const customer = await api.rest('POST', '/customers', {
      token: team.manager.token,
      body: { firstName: 'Ola', lastName: 'Export', phone: '+12025559876' },
    });
    const product = await insertProduct(api.deps, { unitPrice: 1999 });
    const order = await api.rest('POST', '/orders', {
      token: team.manager.token,
      body: { customerId: customer.body.id, items: [{ productId: product.id, quantity: 3 }] },
    });
    const res = await exportAs(`/orders/export?customerId=${customer.body.id}`, team.manager.token);
    const [header, row] = parseCsv(res.text);
    expect(row?.[header?.indexOf('id') ?? -1]).toBe(order.body.id);
    expect(row?.[header?.indexOf('total') ?? -1]).toBe('5997');
    expect(row?.[header?.indexOf('customerPhone') ?? -1]).toBe('+12025559876');

    // NDJSON carries money and the order number as JSON integers, as the API does.
    const json = await exportAs(`/orders/export?customerId=${customer.body.id}&format=json`, team.manager.token);
    expect(JSON.parse(json.text.trim())).toMatchObject({
      id: order.body.id,
      number: order.body.number,
      subtotal: 5997,
      discount: 0,
      total: 5997,
    });
    const customers = await exportAs(`/customers/export?search=${customer.body.phone}&format=json`, team.manager.token);
    expect(JSON.parse(customers.text.trim())).toMatchObject({ id: customer.body.id, totalSpent: 5997, orderCount: 1 });
  });
});
