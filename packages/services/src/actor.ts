import type { PermissionKey } from '@touch-crm/contract';
import type { Scope } from './scope.ts';

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

/** The user and role columns a session query selects. */
export interface SessionUserColumns extends Record<string, unknown> {
  id: string;
  username: string;
  full_name: string;
  email: string | null;
  is_active: boolean;
  must_change_password: boolean;
  role_id: string;
  role_name: string;
}

/** A session row with the role's permission keys (the request's share of them for an API key). */
export interface SessionUserRow extends SessionUserColumns {
  permissions: readonly PermissionKey[];
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
    permissions: new Set(row.permissions),
    mustChangePassword: row.must_change_password,
    ...(apiKeyId ? { apiKeyId } : {}),
  };
}

/** Who caused a change: a user, or a background job by name. */
export type Actor = { kind: 'user'; userId: string } | { kind: 'job'; name: string };

export const userActor = (user: { id: string }): Actor => ({ kind: 'user', userId: user.id });
export const jobActor = (name: string): Actor => ({ kind: 'job', name });

/**
 * Who calls a service verb; every verb takes it second, `(deps, caller, input)`. A request's
 * caller is its user with the scope of the permission its procedure checked; a job or an
 * operator's CLI calls as `jobCaller(name)`, reaching every record.
 */
export type Caller = UserCaller | JobCaller;

/** A signed-in user, and how far the permission the procedure checked reaches (`all` for a plain one). */
export interface UserCaller {
  user: AuthUser;
  scope: Scope;
}

/** A background job or an operator's CLI, by name: recorded as such in the audit trail. */
export interface JobCaller {
  job: string;
  scope: { kind: 'all' };
}

export const jobCaller = (name: string): JobCaller => ({ job: name, scope: { kind: 'all' } });

/** Who a change is recorded as. */
export const actorOf = (caller: Caller): Actor => ('user' in caller ? userActor(caller.user) : jobActor(caller.job));
