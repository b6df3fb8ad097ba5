import { type AuthUser, authUserOf, type SessionUserColumns, type SessionUserRow, type UserCaller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError, PasswordChangeRequiredError, UnauthorizedError } from '../errors.ts';
import type { Scope } from '../scope.ts';
import { authenticateApiKey, isApiKey } from './api-keys.ts';
import { rolePermissionsAt } from './role-permissions.ts';
import type { CachedSession } from './session-cache.ts';
import { verifyToken, verifyTokenCached } from './tokens.ts';

export interface SessionRow extends SessionUserRow {
  token_version: number;
}

/**
 * Resolves a bearer token to the user behind it: the user and role rows (permissions by the role's
 * version) from the process's session cache while it is trusted, else from the database. A
 * deactivation, role change or permission edit made through the API applies to the very next
 * request on every API process (the verb fences the caches); one made in SQL within 1.5 s.
 */
export async function authenticate(deps: ServiceDeps, token: string): Promise<AuthUser> {
  const claims = deps.verifiedTokens
    ? await verifyTokenCached(deps.verifiedTokens, deps.jwtKey, deps.config, token, deps.now())
    : await verifyToken(deps.jwtKey, deps.config, token, deps.now());
  const session = await cachedSession(deps, claims.userId);
  if (!session || session.row.token_version !== claims.tokenVersion) throw new UnauthorizedError('Invalid token');
  if (!session.row.is_active) throw new UnauthorizedError('Account is deactivated');
  return session.user;
}

/** The user's session row and signed-in user: from the process's cache while it is trusted, else read. */
async function cachedSession(deps: ServiceDeps, userId: string): Promise<CachedSession | undefined> {
  const cache = deps.sessionCache;
  const known = cache?.get(userId);
  if (known) return known;
  const generation = cache?.generation ?? 0;
  const row = await loadSessionUser(deps, userId);
  if (!row) return undefined;
  // Built once per entry, not per request (the permission set); nothing downstream mutates it.
  const session = { row, user: authUserOf(row) };
  cache?.set(userId, session, generation);
  return session;
}

/** A user as they are now, with their role's permission keys: read fresh wherever permissions decide. */
export async function loadSessionUser(deps: ServiceDeps, userId: string): Promise<SessionRow | undefined> {
  // Runs on every request: a postgres.js tagged query is prepared once per connection and skips the
  // query builder. Two primary-key lookups; the role's keys come from the per-(role, version) cache.
  const rows = await deps.db.$client<(SessionUserColumns & { token_version: number; permissions_version: number })[]>`
    select u.id, u.username, u.full_name, u.email, u.is_active, u.must_change_password, u.token_version,
           r.id as role_id, r.name as role_name, r.permissions_version
      from users u
      join roles r on r.id = u.role_id
     where u.id = ${userId}`;
  const row = rows[0];
  if (!row) return undefined;
  return { ...row, permissions: await rolePermissionsAt(deps, row.role_id, row.permissions_version) };
}

/** A user as the caller of a request would carry them, for the operator CLIs and tests. */
export async function loadUserCaller(
  deps: ServiceDeps,
  userId: string,
  scope: Scope = { kind: 'all' },
): Promise<UserCaller> {
  const row = await loadSessionUser(deps, userId);
  if (!row) throw new NotFoundError('User');
  return { user: authUserOf(row), scope };
}

/** What a request presents: the `Authorization` and `X-Api-Key` header values, and where it came from. */
export interface RequestCredentials {
  authorization: string | undefined;
  apiKey: string | undefined;
  ip: string;
}

/**
 * The one credential of a request: a JWT or an API key as `Authorization: Bearer …`, or an API
 * key as `X-Api-Key`. Both headers at once are refused, so it is never ambiguous who acts.
 */
export async function authenticateRequest(deps: ServiceDeps, request: RequestCredentials): Promise<AuthUser> {
  const bearer = request.authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(request.authorization)?.[1];
  if (request.authorization !== undefined && !bearer) throw new UnauthorizedError();
  if (bearer && request.apiKey !== undefined)
    throw new UnauthorizedError('Send one credential: Authorization or X-Api-Key, not both');
  if (request.apiKey !== undefined) return authenticateApiKey(deps, request.apiKey.trim(), request.ip);
  if (!bearer) throw new UnauthorizedError();
  return isApiKey(bearer) ? authenticateApiKey(deps, bearer, request.ip) : authenticate(deps, bearer);
}

/**
 * In production, a user still on a password they were told to change (the seeded default)
 * may only read /auth/me and change it: everything else is 403 PASSWORD_CHANGE_REQUIRED.
 */
export function assertPasswordChanged(deps: ServiceDeps, user: AuthUser): void {
  if (user.mustChangePassword && deps.config.NODE_ENV === 'production') throw new PasswordChangeRequiredError();
}

export function toCurrentUser(user: AuthUser) {
  return {
    id: user.id,
    username: user.username,
    fullName: user.fullName,
    email: user.email,
    role: { id: user.roleId, name: user.roleName },
    permissions: [...user.permissions].sort(),
    mustChangePassword: user.mustChangePassword,
  };
}
