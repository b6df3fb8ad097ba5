import { isPermissionKey, type RequiredPermission } from '@touch-crm/contract';
import {
  type AuthUser,
  assertPasswordChanged,
  authenticateRequest,
  ForbiddenError,
  type RequestCredentials,
  resolveScope,
  type Scope,
  type ServiceDeps,
  UnauthorizedError,
  type UserCaller,
} from '@touch-crm/services';

/** What a request presents to say who is calling: `Authorization` (a JWT or an API key) or `X-Api-Key`. */
export type Credentials = RequestCredentials;

/** The one place that reads credentials from a request; `ip` is recorded as an API key's last use. */
export function credentialsOf(headers: Headers, ip: string): Credentials | undefined {
  const authorization = headers.get('authorization') ?? undefined;
  const apiKey = headers.get('x-api-key') ?? undefined;
  return authorization === undefined && apiKey === undefined ? undefined : { authorization, apiKey, ip };
}

export interface Access {
  /** Every one must be held; an owned resource's action (`customers:read`) by its `_all` or `_own` variant. */
  permissions?: readonly RequiredPermission[];
  /** Lets in a user who must still change the password they were given (auth.me, auth.changePassword). */
  beforePasswordChange?: boolean;
}

/** How far a permission reaches: `all` for a plain key, else the scope of its `_all` or `_own` variant. */
function scopeOf(user: AuthUser, permission: RequiredPermission): Scope | null {
  if (isPermissionKey(permission)) return user.permissions.has(permission) ? { kind: 'all' } : null;
  return resolveScope(user.permissions, permission, user.id);
}

/**
 * Credentials → user → the password gate → permissions → scope, for procedures and plain
 * routes alike. The scope is the narrowest of the permissions' (`own` if any reaches only that far).
 */
export async function authorize(
  deps: ServiceDeps,
  credentials: Credentials | undefined,
  access: Access = {},
): Promise<UserCaller> {
  if (!credentials) throw new UnauthorizedError();
  const user = await authenticateRequest(deps, credentials);
  if (!access.beforePasswordChange) assertPasswordChanged(deps, user);
  let scope: Scope = { kind: 'all' };
  for (const permission of access.permissions ?? []) {
    const reach = scopeOf(user, permission);
    if (!reach) throw new ForbiddenError();
    if (reach.kind === 'own') scope = reach;
  }
  return { user, scope };
}
