import type { PermissionKey } from '@touch-crm/contract';
import { LRUCache } from 'lru-cache';
import type { ServiceDeps } from '../deps.ts';

/**
 * A role's permission keys by `roleId:permissionsVersion`; one per API process. The version is
 * bumped by a trigger in the transaction that edits the role's permissions and is read with the
 * user row whenever a session row is read from the database, so an entry is never used once its
 * role has changed (the session cache above it is dropped by NOTIFY: docs/permissions.md).
 */
export type RolePermissionCache = LRUCache<string, readonly PermissionKey[]>;

export const createRolePermissionCache = (max = 1_000): RolePermissionCache => new LRUCache({ max });

/** The role's permission keys at `version` (or later): from the process's cache, else from the database. */
export async function rolePermissionsAt(
  deps: ServiceDeps,
  roleId: string,
  version: number,
): Promise<readonly PermissionKey[]> {
  const cache = deps.rolePermissions;
  const known = cache?.get(`${roleId}:${version}`);
  if (known) return known;
  // The version is read in the same statement as the keys, so an entry always holds the set its
  // version stands for; a concurrent edit only makes this answer newer than the user row read.
  const rows = await deps.db.$client<{ permissions_version: number; permissions: PermissionKey[] }[]>`
    select r.permissions_version,
           coalesce(array_agg(p.key) filter (where p.key is not null), '{}') as permissions
      from roles r
      left join role_permissions rp on rp.role_id = r.id
      left join permissions p on p.id = rp.permission_id
     where r.id = ${roleId}
     group by r.id`;
  const row = rows[0];
  if (!row) return [];
  const keys = Object.freeze(row.permissions);
  cache?.set(`${roleId}:${row.permissions_version}`, keys);
  return keys;
}
