import type { LoginResult } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { eq, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { UnauthorizedError } from '../errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { authenticate, toCurrentUser } from './session.ts';
import { clearPasswordFailures, reservePasswordAttempt, throttleUsername } from './throttle.ts';
import { issueToken } from './tokens.ts';

const INVALID_CREDENTIALS = 'Invalid username or password';

/**
 * Username and password to a token. Throttled per username (consecutive failures) and
 * per client IP, counted in Postgres so the limit holds across API processes (see
 * reservePasswordAttempt: each attempt counts as a failure until the password proves right).
 */
export async function login(
  deps: ServiceDeps,
  input: { username: string; password: string; ip: string },
): Promise<LoginResult> {
  const username = throttleUsername(input.username);
  await reservePasswordAttempt(deps, { username, ip: input.ip });

  const [user] = await deps.db
    .select({
      id: schema.users.id,
      passwordHash: schema.users.passwordHash,
      isActive: schema.users.isActive,
      tokenVersion: schema.users.tokenVersion,
    })
    .from(schema.users)
    .where(sql`lower(${schema.users.username}) = ${username}`)
    .limit(1);
  if (!user) {
    // As costly as verifying a password, so an unknown username takes as long as a wrong password.
    await hashPassword(input.password);
    throw new UnauthorizedError(INVALID_CREDENTIALS);
  }
  const valid = await verifyPassword(user.passwordHash, input.password);
  if (!valid || !user.isActive) throw new UnauthorizedError(INVALID_CREDENTIALS);
  await deps.db.transaction(async (tx) => {
    await clearPasswordFailures(tx, username);
    await tx.update(schema.users).set({ lastLoginAt: deps.now() }).where(eq(schema.users.id, user.id));
  });

  const signedIn = { userId: user.id, tokenVersion: user.tokenVersion };
  const { token, expiresAt } = await issueToken(deps.jwtKey, deps.config, signedIn, deps.now());
  const current = await authenticate(deps, token);
  return { token, expiresAt: expiresAt.toISOString(), user: toCurrentUser(current) };
}
