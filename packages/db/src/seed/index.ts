import { DEFAULT_ROLE_PERMISSIONS, PERMISSIONS, ROLE_DESCRIPTIONS, ROLE_NAMES } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';
import type { Database } from '../client.ts';
import { DEFAULT_ADMIN_PASSWORD, DEFAULT_ADMIN_USERNAME } from '../default-admin.ts';
import { customerLevels, messageTemplates, permissions, rolePermissions, roles, users } from '../schema/index.ts';
import { DEFAULT_LEVELS, DEFAULT_MESSAGE_TEMPLATES } from './defaults.ts';

export interface SeedResult {
  adminCreated: boolean;
  newPermissions: string[];
  newRoles: string[];
}

/**
 * Idempotent: inserts only what is missing. A role gets its default permissions when
 * the role is new, and existing roles get a permission's default grant only when that
 * permission is new, so an admin's edits are never undone by a later start.
 */
export async function runSeed(
  db: Database,
  options: {
    /** The services' password hashing (argon2id), handed in because db stays below the services. */
    hashPassword: (password: string) => Promise<string>;
    adminPassword?: string;
  },
): Promise<SeedResult> {
  return db.transaction(async (tx) => {
    const insertedPermissions = await tx
      .insert(permissions)
      .values(
        Object.entries(PERMISSIONS).map(([key, description]) => {
          const [resource, action] = key.split(':') as [string, string];
          return { key, resource, action, description };
        }),
      )
      .onConflictDoNothing({ target: permissions.key })
      .returning({ id: permissions.id, key: permissions.key });

    const insertedRoles = await tx
      .insert(roles)
      .values(Object.values(ROLE_NAMES).map((name) => ({ name, description: ROLE_DESCRIPTIONS[name] })))
      .onConflictDoNothing({ target: roles.name })
      .returning({ id: roles.id, name: roles.name });

    const newPermissionKeys = new Set(insertedPermissions.map((p) => p.key));
    const newRoleNames = new Set(insertedRoles.map((r) => r.name));
    const allRoles = await tx.select({ id: roles.id, name: roles.name }).from(roles);
    const allPermissions = await tx.select({ id: permissions.id, key: permissions.key }).from(permissions);
    const permissionIdByKey = new Map(allPermissions.map((p) => [p.key, p.id]));

    const grants: { roleId: string; permissionId: string }[] = [];
    for (const role of allRoles) {
      const defaults = DEFAULT_ROLE_PERMISSIONS[role.name] ?? [];
      for (const key of defaults) {
        if (!newRoleNames.has(role.name) && !newPermissionKeys.has(key)) continue;
        const permissionId = permissionIdByKey.get(key);
        if (permissionId) grants.push({ roleId: role.id, permissionId });
      }
    }
    if (grants.length > 0) await tx.insert(rolePermissions).values(grants).onConflictDoNothing();

    await tx
      .insert(customerLevels)
      .values([...DEFAULT_LEVELS])
      .onConflictDoNothing({ target: customerLevels.name });

    await tx
      .insert(messageTemplates)
      .values(Object.entries(DEFAULT_MESSAGE_TEMPLATES).map(([type, body]) => ({ type: type as 'WELCOME', body })))
      .onConflictDoNothing();

    const adminRole = allRoles.find((r) => r.name === ROLE_NAMES.admin);
    let adminCreated = false;
    if (adminRole) {
      const [existing] = await tx
        .select({ id: users.id })
        .from(users)
        .where(
          sql`${users.roleId} = ${adminRole.id} or lower(${users.username}) = ${DEFAULT_ADMIN_USERNAME.toLowerCase()}`,
        )
        .limit(1);
      if (!existing) {
        await tx.insert(users).values({
          username: DEFAULT_ADMIN_USERNAME,
          fullName: 'Administrator',
          // Hashed only when the admin is created: argon2id is the slowest step of a start otherwise.
          passwordHash: await options.hashPassword(options.adminPassword ?? DEFAULT_ADMIN_PASSWORD),
          roleId: adminRole.id,
          mustChangePassword: !options.adminPassword || options.adminPassword === DEFAULT_ADMIN_PASSWORD,
        });
        adminCreated = true;
      }
    }

    return { adminCreated, newPermissions: [...newPermissionKeys], newRoles: [...newRoleNames] };
  });
}

/** Role ids by name, for code that needs a seeded role (tests, demo data). */
export async function roleIdsByName(db: Database): Promise<Record<string, string>> {
  const rows = await db.select({ id: roles.id, name: roles.name }).from(roles);
  return Object.fromEntries(rows.map((r) => [r.name, r.id]));
}
