import type { PermissionKey } from '@touch-crm/contract';
import { type Actor, authUserOf } from '../../actor.ts';
import { loadSessionUser } from '../../auth/session.ts';
import type { ServiceDeps } from '../../deps.ts';
import { ForbiddenError } from '../../errors.ts';
import { resolveScope } from '../../scope.ts';
import type { Importer } from './classify.ts';

/** Who an import runs as: the user who uploaded it, or the operator CLI (every customer in reach). */
export interface ImportAs {
  userId: string;
  actor: Actor;
  operator: boolean;
}

/**
 * The importer as they are now, read again for each batch: a user deactivated or stripped of
 * customers:import meanwhile stops the import, and narrower scopes apply from this batch on.
 */
export async function currentImporter(deps: ServiceDeps, as: ImportAs): Promise<Importer> {
  if (as.operator) return { id: as.userId, actor: as.actor, create: { kind: 'all' }, update: { kind: 'all' } };
  const row = await loadSessionUser(deps, as.userId);
  const permissions = row ? authUserOf(row).permissions : new Set<PermissionKey>();
  if (!row?.is_active || !permissions.has('customers:import'))
    throw new ForbiddenError('the importing user is deactivated or may no longer import customers');
  return {
    id: as.userId,
    actor: as.actor,
    create: resolveScope(permissions, 'customers:create', as.userId),
    update: resolveScope(permissions, 'customers:update', as.userId),
  };
}
