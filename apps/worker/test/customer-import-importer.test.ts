import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName } from '@touch-crm/db';
import { IMPORT_BATCH } from '@touch-crm/services';
import { createUser, insertCustomer, type TestUser, waitFor } from '@touch-crm/test-utils';
import { describe, expect, it } from 'vitest';
import { importHelpers, useImportEnvironment } from './support-import.ts';

const env = useImportEnvironment();

const { sql, upload, getImport } = importHelpers(() => env);

const ROWS = IMPORT_BATCH * 6;
let fileSequence = 0;

/**
 * Imports a file of ROWS new customers as `importer` and calls `change` between batches: the
 * second batch's lookup waits on a customer row this test holds locked, and `change` runs while it
 * waits. The first batch has committed by then; the second (and perhaps the third, already under
 * way) read the importer before the change.
 */
async function importAcrossChange(importer: TestUser, change: () => Promise<void>, ownerUsername = '') {
  // +1 720 3xx xxxx: valid, and used by no other test of this file.
  const base = 3_000_000 + ++fileSequence * 10_000;
  const phones = Array.from({ length: ROWS }, (_, i) => `+1720${base + i}`);
  const blocked = IMPORT_BATCH + IMPORT_BATCH / 2;
  const blocker = await insertCustomer(env.api.deps, importer.id, {
    firstName: 'Held',
    lastName: 'Row',
    phone: phones[blocked],
  });
  const rows = phones.map((p, i) => (i === blocked ? `Held,Row,${p},` : `First${i},Last${i},${p},${ownerUsername}`));
  const held = await sql().reserve();
  try {
    await held`begin`;
    await held`select 1 from customers where id = ${blocker.id} for update`;
    const accepted = await upload(['firstName,lastName,phone,ownerUsername', ...rows].join('\n'), {
      token: importer.token,
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    await waitFor(
      async () =>
        (
          await sql()`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'
                         and query ilike '%for no key update%'`
        ).length > 0,
      { timeoutMs: 20_000, what: 'the second batch to wait on the held customer' },
    );
    await change();
    await held`commit`;
    const done = await waitFor(
      async () => {
        const res = await getImport(accepted.body.id, env.team.admin.token, '?pageSize=1000');
        return ['COMPLETED', 'FAILED'].includes(res.body.status) ? res.body : null;
      },
      { timeoutMs: 30_000, intervalMs: 25, what: 'the import to stop' },
    );
    const [{ n }] = (await sql()`select count(*)::int as n from customers where phone = any(${phones})`) as [
      { n: number },
    ];
    return { done, customers: n };
  } finally {
    await held`rollback`.catch(() => {});
    held.release();
  }
}

const managerRole = async () => (await roleIdsByName(env.api.deps.db))[ROLE_NAMES.salesManager] as string;

async function withRolePermissions(
  roleId: string,
  edit: (current: string[]) => string[],
  run: (apply: () => Promise<void>) => Promise<void>,
) {
  const roles = (await env.api.rest('GET', '/roles', { token: env.team.admin.token })).body;
  const current = roles.find((role: { id: string }) => role.id === roleId).permissions as string[];
  const apply = async () => {
    const res = await env.api.rest('PUT', `/roles/${roleId}/permissions`, {
      token: env.team.admin.token,
      body: { permissions: edit(current) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  try {
    await run(apply);
  } finally {
    await env.api.rest('PUT', `/roles/${roleId}/permissions`, {
      token: env.team.admin.token,
      body: { permissions: current },
    });
  }
}

/** The rows of the batches that committed before the change went in; none after. */
function expectStoppedAfterChange(done: any, customers: number) {
  expect(done.status).toBe('FAILED');
  expect(done.error).toBe('the importing user is deactivated or may no longer import customers');
  expect(done.rowsRead % IMPORT_BATCH).toBe(0);
  expect(done.rowsRead).toBeGreaterThanOrEqual(2 * IMPORT_BATCH);
  expect(done.rowsRead).toBeLessThanOrEqual(3 * IMPORT_BATCH);
  // The held row was already there (unchanged); every other row read was created.
  expect(done.created).toBe(done.rowsRead - 1);
  expect(customers).toBe(done.rowsRead);
}

describe('an importer who may no longer import, mid-run', { timeout: 90_000 }, () => {
  it('deactivated between batches: the import stops FAILED, the committed batches stay', async () => {
    const manager = await createUser(env.api.deps, { role: ROLE_NAMES.salesManager });
    const { done, customers } = await importAcrossChange(manager, async () => {
      const res = await env.api.rest('PUT', `/users/${manager.id}`, {
        token: env.team.admin.token,
        body: { isActive: false },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    });
    expectStoppedAfterChange(done, customers);
  });

  it('customers:import taken from their role between batches: the import stops FAILED', async () => {
    const manager = await createUser(env.api.deps, { role: ROLE_NAMES.salesManager });
    await withRolePermissions(
      await managerRole(),
      (current) => current.filter((key) => key !== 'customers:import'),
      async (apply) => {
        const { done, customers } = await importAcrossChange(manager, apply);
        expectStoppedAfterChange(done, customers);
      },
    );
  });
});

describe('an importer whose scope narrows mid-run', { timeout: 90_000 }, () => {
  it('customers:create_all taken away: from the next batch on, rows for another owner are row errors', async () => {
    const manager = await createUser(env.api.deps, { role: ROLE_NAMES.salesManager });
    await withRolePermissions(
      await managerRole(),
      (current) => [...new Set([...current.filter((key) => key !== 'customers:create_all'), 'customers:create_own'])],
      async (apply) => {
        const { done, customers } = await importAcrossChange(manager, apply, env.team.rep.username);
        expect(done).toMatchObject({ status: 'COMPLETED', rowsRead: ROWS, unchanged: 1 });
        expect(done.created).toBeGreaterThanOrEqual(2 * IMPORT_BATCH - 1);
        expect(done.created).toBeLessThanOrEqual(3 * IMPORT_BATCH - 1);
        expect(done.failed).toBe(ROWS - 1 - done.created);
        expect(done.errors.items[0]).toEqual({
          rowNumber: done.created + 2,
          field: 'ownerUsername',
          message: 'only holders of customers:create_all may import customers for another owner',
        });
        expect(customers).toBe(done.created + 1);
      },
    );
  });
});
