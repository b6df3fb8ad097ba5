import type { PermissionKey } from '@touch-crm/contract';

/** A signed-in user as every procedure sees it: loaded fresh on each request. */
export interface AuthUser {
  id: string;
  username: string;
  fullName: string;
  email: string | null;
  roleId: string;
  roleName: string;
  permissions: ReadonlySet<PermissionKey>;
  mustChangePassword: boolean;
  /** Set when the request came with an API key: the user is its creator, `permissions` the key's share. */
  apiKeyId?: string;
}

/** The user columns a session query selects, with the role's permission keys aggregated. */
export interface SessionUserRow extends Record<string, unknown> {
  id: string;
  username: string;
  full_name: string;
  email: string | null;
  is_active: boolean;
  must_change_password: boolean;
  role_id: string;
  role_name: string;
  permissions: string[];
}

/** The signed-in user of a session row; `apiKeyId` when an API key authenticated the request. */
export function authUserOf(row: SessionUserRow, apiKeyId?: string): AuthUser {
  return {
    id: row.id,
    username: row.username,
    fullName: row.full_name,
    email: row.email,
    roleId: row.role_id,
    roleName: row.role_name,
    permissions: new Set(row.permissions as PermissionKey[]),
    mustChangePassword: row.must_change_password,
    ...(apiKeyId ? { apiKeyId } : {}),
  };
}

/** Who caused a change: a user, or a background job by name. */
export type Actor = { kind: 'user'; userId: string } | { kind: 'job'; name: string };

export const userActor = (user: { id: string }): Actor => ({ kind: 'user', userId: user.id });
export const jobActor = (name: string): Actor => ({ kind: 'job', name });
