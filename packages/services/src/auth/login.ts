import type { LoginResult } from '@touch-crm/contract';
import { type Executor, hashPassword, schema, verifyPassword } from '@touch-crm/db';
import { eq, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { TooManyRequestsError, UnauthorizedError } from '../errors.ts';
import { authenticate, toCurrentUser } from './session.ts';
import { issueToken } from './tokens.ts';

const INVALID_CREDENTIALS = 'Invalid username or password';

/** Verified when the username is unknown, so both failures take the same time. */
let dummyHash: Promise<string> | undefined;
const getDummyHash = () => {
  dummyHash ??= hashPassword('not-a-real-password-but-costs-the-same');
  return dummyHash;
};

/** Seconds until the count of failures for `column = value` in the window falls below `max`. */
async function blockedFor(
  deps: ServiceDeps,
  tx: Executor,
  column: 'username' | 'ip',
  value: string,
  max: number,
): Promise<number> {
  const windowSeconds = deps.config.LOGIN_FAILURE_WINDOW;
  const now = deps.now();
  const rows = await tx.execute<{ failed_at: string }>(sql`
    select failed_at from login_failures
     where ${sql.identifier(column)} = ${value}
       and failed_at > ${now.toISOString()}::timestamptz - make_interval(secs => ${windowSeconds})
     order by failed_at desc
     offset ${max - 1} limit 1`);
  const oldestBlocking = rows[0];
  if (!oldestBlocking) return 0;
  const unblockAt = new Date(oldestBlocking.failed_at).getTime() + windowSeconds * 1000;
  return Math.max(1, Math.ceil((unblockAt - now.getTime()) / 1000));
}

/**
 * Username and password to a token. Throttled per username (consecutive failures) and
 * per client IP, counted in Postgres so the limit holds across API processes; attempts for
 * one username are serialised so a burst cannot slip past the limit.
 */
export async function login(
  deps: ServiceDeps,
  input: { username: string; password: string; ip: string },
): Promise<LoginResult> {
  const username = input.username.trim().toLowerCase();
  const { config } = deps;

  const signedIn = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`login:${username}`}, 0))`);
    const waitUser = await blockedFor(deps, tx, 'username', username, config.LOGIN_MAX_FAILURES_PER_USER);
    const waitIp = await blockedFor(deps, tx, 'ip', input.ip, config.LOGIN_MAX_FAILURES_PER_IP);
    const wait = Math.max(waitUser, waitIp);
    if (wait > 0) throw new TooManyRequestsError('Too many failed login attempts; try again later', wait);

    const [user] = await tx
      .select({
        id: schema.users.id,
        passwordHash: schema.users.passwordHash,
        isActive: schema.users.isActive,
        tokenVersion: schema.users.tokenVersion,
      })
      .from(schema.users)
      .where(sql`lower(${schema.users.username}) = ${username}`)
      .limit(1);
    const valid = await verifyPassword(user?.passwordHash ?? (await getDummyHash()), input.password);
    if (!user || !valid || !user.isActive) {
      await tx.insert(schema.loginFailures).values({ username, ip: input.ip, failedAt: deps.now() });
      return null;
    }
    await tx.execute(sql`delete from login_failures where username = ${username}`);
    await tx.update(schema.users).set({ lastLoginAt: deps.now() }).where(eq(schema.users.id, user.id));
    return { userId: user.id, tokenVersion: user.tokenVersion };
  });
  if (!signedIn) throw new UnauthorizedError(INVALID_CREDENTIALS);

  const { token, expiresAt } = await issueToken(deps.jwtKey, config, signedIn, deps.now());
  const user = await authenticate(deps, token);
  return { token, expiresAt: expiresAt.toISOString(), user: toCurrentUser(user) };
}

/** Drops failures older than the window; called from time to time, not per request. */
export async function pruneLoginFailures(deps: ServiceDeps): Promise<void> {
  await deps.db.execute(sql`
    delete from login_failures
     where failed_at < ${deps.now().toISOString()}::timestamptz - make_interval(secs => ${deps.config.LOGIN_FAILURE_WINDOW})`);
}
