import { type PermissionKey, REASON } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import { ConflictError } from '../errors.ts';

const USER_ADMINISTRATION_LOCK = 0x5a5_0010;

/** What it takes to manage users and roles, and so to repair any other permission mistake. */
export const USER_ADMINISTRATION: readonly PermissionKey[] = ['users:update', 'roles:update'];

/**
 * Taken first by every change that can take user administration away from someone (role change,
 * deactivation, editing a role's permissions), so two administrators demoting each other at the
 * same moment run one after the other and the second sees the first's result.
 */
export async function lockUserAdministration(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${USER_ADMINISTRATION_LOCK})`);
}

/** Called after such a change, inside its transaction: refuses it (409) when nobody could undo it. */
export async function assertUserAdministratorRemains(tx: Executor): Promise<void> {
  const keys = sql`array[${sql.join(
    USER_ADMINISTRATION.map((key) => sql`${key}`),
    sql`, `,
  )}]::text[]`;
  const [row] = await tx.execute<{ remains: boolean }>(sql`
    select exists (
      select 1 from users u
       where u.is_active
         and (select count(distinct p.key) from role_permissions rp
                join permissions p on p.id = rp.permission_id
               where rp.role_id = u.role_id and p.key = any(${keys})) = ${USER_ADMINISTRATION.length}
    ) as remains`);
  if (!row?.remains)
    throw new ConflictError(
      REASON.LAST_ADMIN,
      `Refused: afterwards no active user could manage users and roles (${USER_ADMINISTRATION.join(' and ')}). ` +
        'Give another active user a role with both permissions first.',
      { required: [...USER_ADMINISTRATION] },
    );
}
