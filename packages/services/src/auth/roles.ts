import type { Permission, Role, SetRolePermissionsInput } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { recordEvent } from '../events/record.ts';
import { assertUserAdministratorRemains, lockUserAdministration } from './administrators.ts';

const { roles, permissions, rolePermissions } = schema;

export async function listPermissions(deps: ServiceDeps): Promise<Permission[]> {
  return deps.db
    .select({
      key: permissions.key,
      resource: permissions.resource,
      action: permissions.action,
      description: permissions.description,
    })
    .from(permissions)
    .orderBy(asc(permissions.key));
}

async function queryRoles(executor: Executor, roleId?: string): Promise<Role[]> {
  const rows = await executor
    .select({
      id: roles.id,
      name: roles.name,
      description: roles.description,
      permissions: sql<
        string[]
      >`coalesce(array_agg(${permissions.key} order by ${permissions.key}) filter (where ${permissions.key} is not null), '{}')`,
    })
    .from(roles)
    .leftJoin(rolePermissions, eq(rolePermissions.roleId, roles.id))
    .leftJoin(permissions, eq(permissions.id, rolePermissions.permissionId))
    .where(roleId ? eq(roles.id, roleId) : undefined)
    .groupBy(roles.id)
    .orderBy(asc(roles.name));
  return rows;
}

export const listRoles = (deps: ServiceDeps) => queryRoles(deps.db);

/**
 * Replaces a role's permission set; applies to its users' next request. Refused (409) when
 * afterwards no active user could manage users and roles.
 */
export async function setRolePermissions(
  deps: ServiceDeps,
  caller: Caller,
  input: SetRolePermissionsInput,
): Promise<Role> {
  const actor = actorOf(caller);
  const wanted = [...new Set(input.permissions)];
  await deps.db.transaction(async (tx) => {
    await lockUserAdministration(tx);
    const [role] = await tx.select({ id: roles.id }).from(roles).where(eq(roles.id, input.id)).for('update');
    if (!role) throw new NotFoundError('Role');
    const found = wanted.length
      ? await tx
          .select({ id: permissions.id, key: permissions.key })
          .from(permissions)
          .where(inArray(permissions.key, wanted))
      : [];
    const unknown = wanted.filter((key) => !found.some((p) => p.key === key));
    if (unknown.length) throw ValidationError.field('permissions', `unknown permissions: ${unknown.join(', ')}`);
    const [before] = await queryRoles(tx, input.id);
    await tx.delete(rolePermissions).where(eq(rolePermissions.roleId, input.id));
    if (found.length)
      await tx.insert(rolePermissions).values(found.map((p) => ({ roleId: input.id, permissionId: p.id })));
    await assertUserAdministratorRemains(tx);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'role.permissions_changed',
        entityType: 'role',
        entityId: input.id,
        actor,
        data: { id: input.id, permissions: wanted.sort() },
        changes: { permissions: { before: before?.permissions ?? [], after: wanted.sort() } },
      },
    );
  });
  await deps.sessionCache?.fence();
  const [role] = await queryRoles(deps.db, input.id);
  if (!role) throw new NotFoundError('Role');
  return role;
}
