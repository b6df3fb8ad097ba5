import { PERMISSIONS, ROLE_NAMES } from '@touch-crm/contract';
import { connectDatabase, runSeed, schema } from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';
import { createTestDatabase } from '@touch-crm/test-utils';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let handle: ReturnType<typeof connectDatabase>;
beforeAll(async () => {
  database = await createTestDatabase(inject('databaseServerUrl'));
  handle = connectDatabase(database.url, { max: 2 });
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

const counts = async () => {
  const db = handle.db;
  const [[users], [roles], [permissions], [grants], [levels]] = await Promise.all([
    db.select({ n: count() }).from(schema.users),
    db.select({ n: count() }).from(schema.roles),
    db.select({ n: count() }).from(schema.permissions),
    db.select({ n: count() }).from(schema.rolePermissions),
    db.select({ n: count() }).from(schema.customerLevels),
  ]);
  return { users: users?.n, roles: roles?.n, permissions: permissions?.n, grants: grants?.n, levels: levels?.n };
};

describe('seed', () => {
  it('holds the three roles, every permission, four levels and the admin', async () => {
    expect(await counts()).toMatchObject({
      users: 1,
      roles: 3,
      permissions: Object.keys(PERMISSIONS).length,
      levels: 4,
    });
  });

  it('is idempotent and never undoes an admin edit', async () => {
    const [rep] = await handle.db.select().from(schema.roles).where(eq(schema.roles.name, ROLE_NAMES.salesRep));
    if (!rep) throw new Error('rep role missing');
    await handle.db.execute(sql`delete from role_permissions where role_id = ${rep.id}`);
    await handle.db
      .update(schema.customerLevels)
      .set({ minRfmScore: 9 })
      .where(eq(schema.customerLevels.name, 'Silver'));
    const before = await counts();
    const result = await runSeed(handle.db, { hashPassword });
    expect(result).toEqual({ adminCreated: false, newPermissions: [], newRoles: [] });
    expect(await counts()).toEqual(before);
    const [silver] = await handle.db
      .select()
      .from(schema.customerLevels)
      .where(eq(schema.customerLevels.name, 'Silver'));
    expect(silver?.minRfmScore).toBe(9);
  });
});

describe('a start on a seeded database', () => {
  it('hashes no admin password: argon2id would be the slowest step of the start', async () => {
    const hashed: string[] = [];
    const result = await runSeed(handle.db, {
      hashPassword: (password) => {
        hashed.push(password);
        return hashPassword(password);
      },
    });
    expect(result.adminCreated).toBe(false);
    expect(hashed).toEqual([]);
  });
});

describe('an existing install upgraded to a release with new permissions', () => {
  it('grants each new permission to the seeded roles by the default matrix, and only those', async () => {
    const added = ['promotions:assign_manual', 'promotions:assign_any', 'customers:set_level'];
    // As before the release: the permissions do not exist yet (their grants go with them).
    await handle.db.execute(sql`delete from permissions where key = any(${`{${added.join(',')}}`}::text[])`);
    const result = await runSeed(handle.db, { hashPassword });
    expect(result.newPermissions.sort()).toEqual([...added].sort());
    const grants = await handle.db.execute<{ role: string; key: string }>(sql`
      select r.name as role, p.key from role_permissions rp
        join roles r on r.id = rp.role_id join permissions p on p.id = rp.permission_id
       where p.key = any(${`{${added.join(',')}}`}::text[])
       order by r.name, p.key`);
    expect(grants.map((g) => `${g.role}: ${g.key}`)).toEqual([
      `${ROLE_NAMES.admin}: customers:set_level`,
      `${ROLE_NAMES.admin}: promotions:assign_any`,
      `${ROLE_NAMES.admin}: promotions:assign_manual`,
      `${ROLE_NAMES.salesManager}: customers:set_level`,
      `${ROLE_NAMES.salesManager}: promotions:assign_any`,
      `${ROLE_NAMES.salesRep}: promotions:assign_manual`,
    ]);
  });
});

describe('the permission matrix in docs/permissions.md', () => {
  it('matches the default matrix in code', async () => {
    const { readFile } = await import('node:fs/promises');
    const { DEFAULT_ROLE_PERMISSIONS } = await import('@touch-crm/contract');
    const page = await readFile(new URL('../../../docs/permissions.md', import.meta.url), 'utf8');
    const roles = [ROLE_NAMES.salesRep, ROLE_NAMES.salesManager, ROLE_NAMES.admin];
    const expected = Object.keys(PERMISSIONS).map((key) => [
      `\`${key}\``,
      ...roles.map((role) => (DEFAULT_ROLE_PERMISSIONS[role]?.includes(key as never) ? '✓' : '')),
    ]);
    const section = page.split('<!-- permission-matrix:start -->')[1]?.split('<!-- permission-matrix:end -->')[0];
    // Cells are compared trimmed, so a Markdown formatter may pad the table as it likes.
    const rows = (section ?? '')
      .trim()
      .split('\n')
      .slice(2)
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    expect(rows).toEqual(expected);
  });
});
