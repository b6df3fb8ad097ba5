import type { PermissionKey } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import { ForbiddenError } from '../../errors.ts';
import { resolveScope } from '../../scope.ts';
import type { Importer } from './classify.ts';

/** Who an import runs as: the user who uploaded it, or the operator CLI (every customer in reach). */
export interface ImportAs {
  userId: string;
  actor: Actor;
  operator: boolean;
}

/** The only permissions an import's rows depend on. */
const IMPORT_PERMISSIONS: PermissionKey[] = [
  'customers:import',
  'customers:create_all',
  'customers:create_own',
  'customers:update_all',
  'customers:update_own',
];

/**
 * The importer as they are now, read in the batch's own transaction (one statement): a user
 * deactivated or stripped of customers:import meanwhile stops the import, and narrower scopes
 * apply from this batch on.
 */
export async function currentImporter(tx: Executor, as: ImportAs): Promise<Importer> {
  if (as.operator) return { id: as.userId, actor: as.actor, create: { kind: 'all' }, update: { kind: 'all' } };
  const [row] = await tx.execute<{ is_active: boolean; permissions: PermissionKey[] }>(sql`
    select u.is_active,
           array(select p.key from role_permissions rp join permissions p on p.id = rp.permission_id
                  where rp.role_id = u.role_id and p.key = any(${`{${IMPORT_PERMISSIONS.join(',')}}`}::text[])) as permissions
      from users u
     where u.id = ${as.userId}::uuid`);
  const permissions = new Set(row?.permissions ?? []);
  if (!row?.is_active || !permissions.has('customers:import'))
    throw new ForbiddenError('the importing user is deactivated or may no longer import customers');
  return {
    id: as.userId,
    actor: as.actor,
    create: resolveScope(permissions, 'customers:create', as.userId),
    update: resolveScope(permissions, 'customers:update', as.userId),
  };
}
