import { hashApiKey, isApiKey } from '../auth/api-keys.ts';
import type { RequestCredentials } from '../auth/session.ts';
import { verifyToken, verifyTokenCached } from '../auth/tokens.ts';
import type { ServiceDeps } from '../deps.ts';

/**
 * Who a request's rate limits and idempotency keys belong to, without a database read:
 * `user:<id>` for a valid JWT, `key:<hash>` for an API key (its SHA-256, the same hash its row
 * is found by), or null (anonymous: no credentials, both headers, a bad or expired token).
 * An unknown API key still gets a bucket of its own: it is refused with 401 a moment later.
 */
export async function requestPrincipal(
  deps: ServiceDeps,
  credentials: RequestCredentials | undefined,
): Promise<string | null> {
  if (!credentials) return null;
  const bearer =
    credentials.authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(credentials.authorization)?.[1];
  if (credentials.apiKey !== undefined)
    return credentials.authorization === undefined ? `key:${hashApiKey(credentials.apiKey.trim())}` : null;
  if (!bearer) return null;
  if (isApiKey(bearer)) return `key:${hashApiKey(bearer)}`;
  try {
    // The process's verified-token cache: the same token is verified once, not once here and once
    // again in authenticate().
    const claims = deps.verifiedTokens
      ? await verifyTokenCached(deps.verifiedTokens, deps.jwtKey, deps.config, bearer, deps.now())
      : await verifyToken(deps.jwtKey, deps.config, bearer, deps.now());
    return `user:${claims.userId}`;
  } catch {
    return null;
  }
}
